"""Compact ``repr`` arguments and notebook HTML for speechkit's models (standard library only).

Models hook in through two methods: ``__repr_args__`` (pydantic builds ``repr()``, ``str()``,
rich's ``__rich_repr__`` and devtools' ``__pretty__`` from it) returns the few arguments built
here, and ``_repr_html_`` (Jupyter, VS Code, Colab) returns the HTML built here.

Rules both follow:

- Bounded size. A 3-hour transcript has ~30 000 words: a repr shows counts and a shortened
  text, never the lists; HTML tables stop after :data:`MAX_ROWS` rows with an
  "… N more words" line, and long texts stop after :data:`MAX_TEXT_CHARS` characters.
- Every value is escaped with :func:`html.escape` (transcripts are untrusted text).
- Nothing secret: extra (unknown) fields are never shown, and URLs lose their query string,
  fragment and user info, where pre-signed URLs carry their credentials.

Times are shown as ``mm:ss.mmm`` (``h:mm:ss.mmm`` from one hour on); transcript times are
integer milliseconds from the beginning of the audio.

This module imports no model at run time (the models import it), so it works on duck types.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from speechkit.group import GroupFailure, TranscriptGroup
    from speechkit.models.assemblyai import (
        ParagraphsResponse,
        SentencesResponse,
        TranscriptList,
        WordSearchResponse,
    )
    from speechkit.models.lemur import LemurBaseResponse
    from speechkit.models.transcript import Transcript

__all__ = [
    "MAX_ROWS",
    "MAX_TABLE_CHARS",
    "MAX_TEXT_CHARS",
    "REPR_TEXT_CHARS",
    "ReprValue",
    "describe_audio",
    "failure_repr",
    "format_duration",
    "format_ms",
    "group_html",
    "group_repr",
    "lemur_html",
    "paragraphs_html",
    "realtime_text_repr_args",
    "safe_url",
    "scrub_urls",
    "sentences_html",
    "shorten",
    "status_counts",
    "timed_text_repr_args",
    "transcript_html",
    "transcript_list_html",
    "transcript_repr_args",
    "word_search_html",
]

MAX_ROWS = 500
"""Rows shown per HTML table (words, utterances, sentences, ...); the rest are counted."""

MAX_TEXT_CHARS = 10_000
"""Characters of a long text shown in HTML; the rest are counted."""

MAX_TABLE_CHARS = 150_000
"""A table also stops once its HTML reaches this size (rows of very long utterances)."""

REPR_TEXT_CHARS = 40
"""Characters of a text shown in a ``repr``."""

ReprArgs = list[tuple[str | None, Any]]

_WHITESPACE = re.compile(r"\s+")
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
_DASH = "\u2013"  # en dash, between the start and end of a span

_STATUS_COLOURS = {
    "completed": "#1a7f37",
    "error": "#cf222e",
    "failed": "#cf222e",
    "processing": "#9a6700",
    "queued": "#57606a",
}

# One scoped style sheet per output keeps rows small (500 rows stay well under 100 kB).
# ``div.speechkit td`` outranks JupyterLab's ``.jp-RenderedHTMLCommon td`` (right-aligned cells).
_STYLE = (
    "<style>"
    "div.speechkit{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;line-height:1.45}"
    "div.speechkit table{border-collapse:collapse;margin:4px 0}"
    "div.speechkit th,div.speechkit td{text-align:left;vertical-align:top;padding:1px 10px 1px 0}"
    "div.speechkit .sk-mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
    "white-space:nowrap}"
    "div.speechkit .sk-muted{opacity:0.7}"
    "div.speechkit .sk-text{white-space:pre-wrap;margin:6px 0}"
    "div.speechkit .sk-error{color:#cf222e;border-left:3px solid #cf222e;padding-left:8px;"
    "margin:6px 0}"
    "div.speechkit .sk-badge{color:#fff;border-radius:4px;padding:0 6px;font-size:0.9em}"
    "</style>"
)


class ReprValue(str):
    """A string shown bare in a ``repr`` (``duration=12.3s`` rather than ``duration='12.3s'``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


class _Html(str):
    """Markup that is already escaped; every other cell value gets escaped."""

    __slots__ = ()


# --- formatting --------------------------------------------------------------------------------


def shorten(text: str | None, limit: int = REPR_TEXT_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters with a trailing ``…`` when longer.

    Looks only at the start of ``text``, so it costs the same for a 200 000-character transcript.
    """
    if not text:
        return ""
    head = text[: limit * 4]
    flat = _WHITESPACE.sub(" ", head).strip()
    if len(flat) <= limit and len(head) == len(text):
        return flat
    return flat[: max(limit - 1, 0)].rstrip() + "…"


def format_ms(ms: float | None) -> str:
    """Milliseconds as ``mm:ss.mmm``, or ``h:mm:ss.mmm`` from one hour on (``""`` for ``None``)."""
    if ms is None:
        return ""
    sign = "-" if ms < 0 else ""
    whole = abs(round(ms))
    hours, rest = divmod(whole, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    return f"{sign}{minutes:02d}:{seconds:02d}.{millis:03d}"


def format_duration(seconds: float | None, *, clock: bool = True) -> str:
    """Seconds as ``12.3s``, with ``(h:mm:ss)`` added from one minute on when ``clock``.

    ``""`` for ``None``.
    """
    if seconds is None:
        return ""
    text = f"{seconds:.1f}".removesuffix(".0") + "s"
    if clock and seconds >= 60:
        minutes, secs = divmod(round(seconds), 60)
        hours, minutes = divmod(minutes, 60)
        face = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
        text += f" ({face})"
    return text


def safe_url(url: str | None) -> str:
    """``url`` without user info, query string and fragment (where pre-signed URLs keep secrets).

    Strings that are not URLs (local paths) come back unchanged.
    """
    if not url:
        return ""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<url>"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def scrub_urls(message: str | None) -> str:
    """``message`` with every URL in it passed through :func:`safe_url` (``?…`` marks a cut).

    Server errors quote the audio URL ("Download error, unable to download https://...");
    a pre-signed URL's query string is a credential.
    """
    if not message:
        return ""
    return _URL_IN_TEXT.sub(_scrub_match, message)


def _scrub_match(match: re.Match[str]) -> str:
    url = match.group(0)
    stripped = url.rstrip(".,;:!)]}")
    tail = url[len(stripped) :]
    safe = safe_url(stripped)
    if any(mark in stripped for mark in "?#"):
        safe += "?…"
    return safe + tail


def describe_audio(audio: Any) -> str:
    """A short, secret-free description of a group input: path, URL, byte count or file name."""
    if isinstance(audio, str):
        return shorten(safe_url(audio), 120)
    if isinstance(audio, os.PathLike):
        return shorten(os.fsdecode(audio), 120)
    if isinstance(audio, bytes | bytearray | memoryview):
        return f"{len(audio):,} bytes"
    name = getattr(audio, "name", None)
    if isinstance(name, str) and name:
        return shorten(name, 120)
    return f"<{type(audio).__name__}>"


def status_counts(statuses: Iterable[Any]) -> dict[str, int]:
    """How many of each status, most common first (``None`` counted as ``"unknown"``)."""
    counts = Counter("unknown" if status is None else str(status) for status in statuses)
    return dict(counts.most_common())


def _status_text(status: Any) -> str:
    return "unknown" if status is None else str(status)


# --- repr arguments ----------------------------------------------------------------------------


def transcript_repr_args(transcript: Transcript) -> ReprArgs:
    """``id``, ``status``, ``provider``, then what is known: duration, counts, error, text."""
    args: ReprArgs = [
        ("id", transcript.id),
        ("status", _status_text(transcript.status)),
        ("provider", transcript.provider),
    ]
    if transcript.audio_duration is not None:
        args.append(
            ("duration", ReprValue(format_duration(transcript.audio_duration, clock=False)))
        )
    if transcript.words is not None:
        args.append(("words", len(transcript.words)))
    if transcript.utterances:
        args.append(("utterances", len(transcript.utterances)))
    if transcript.error:
        args.append(("error", shorten(scrub_urls(transcript.error), 80)))
    if transcript.text is not None:
        args.append(("text", shorten(transcript.text)))
    return args


def timed_text_repr_args(span: Any) -> ReprArgs:
    """For spans with words (utterances, sentences, paragraphs): times, counts, short text."""
    args: ReprArgs = [("start", span.start), ("end", span.end)]
    speaker = getattr(span, "speaker", None)
    if speaker is not None:
        args.append(("speaker", speaker))
    channel = getattr(span, "channel", None)
    if channel is not None:
        args.append(("channel", channel))
    args.append(("words", len(span.words)))
    args.append(("text", shorten(span.text)))
    return args


def realtime_text_repr_args(event: Any, text: str) -> ReprArgs:
    """For realtime transcripts and turns: order, times, word count, short text."""
    args: ReprArgs = []
    turn_order = getattr(event, "turn_order", None)
    if turn_order is not None:
        args.append(("turn_order", turn_order))
    if getattr(event, "end_of_turn", False):
        args.append(("end_of_turn", True))
    if hasattr(event, "audio_start"):
        args.append(("audio_start", event.audio_start))
        args.append(("audio_end", event.audio_end))
    args.append(("words", len(event.words)))
    args.append(("text", shorten(text, 60)))
    return args


def group_repr(group: TranscriptGroup) -> str:
    """``TranscriptGroup(items=3, completed=2, failed=1)`` (plus ``pending`` when any)."""
    completed, failed, pending = _group_counts(group)
    text = f"TranscriptGroup(items={len(group)}, completed={completed}, failed={failed}"
    if pending:
        text += f", pending={pending}"
    return text + ")"


def failure_repr(failure: GroupFailure) -> str:
    """``GroupFailure(index=1, audio='b.wav', error=TranscriptionError('...'))``, bounded."""
    error = failure.error
    message = shorten(scrub_urls(str(error)), 100)
    return (
        f"GroupFailure(index={failure.index}, audio={describe_audio(failure.audio)!r}, "
        f"error={type(error).__name__}({message!r}))"
    )


def _group_counts(group: TranscriptGroup) -> tuple[int, int, int]:
    from speechkit.group import GroupFailure  # here: group.py imports this module

    completed = failed = pending = 0
    for result in group:
        if isinstance(result, GroupFailure):
            failed += 1
            continue
        status = result.status
        if status == "completed":
            completed += 1
        elif status == "error":
            failed += 1
        else:
            pending += 1
    return completed, failed, pending


# --- HTML building blocks ----------------------------------------------------------------------


def _cell(value: Any) -> str:
    if isinstance(value, _Html):
        return value
    return escape("" if value is None else str(value))


def _badge(status: Any) -> _Html:
    text = _status_text(status)
    colour = _STATUS_COLOURS.get(text, "#57606a")
    return _Html(f'<span class="sk-badge" style="background:{colour}">{escape(text)}</span>')


def _mono(value: Any) -> _Html:
    return _Html(f'<span class="sk-mono">{_cell(value)}</span>')


def _span_times(start: float | None, end: float | None) -> _Html:
    return _mono(f"{format_ms(start)}{_DASH}{format_ms(end)}")


def _note(text: str) -> str:
    return f'<div class="sk-muted">{escape(text)}</div>'


def _more(count: int, noun: str) -> str:
    return _note(f"… {count:,} more {noun}") if count > 0 else ""


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, total: int, noun: str) -> str:
    """A table of the first :data:`MAX_ROWS` rows and a "… N more {noun}" line for the rest.

    Also stops once the table reaches :data:`MAX_TABLE_CHARS`, whatever the row count.
    """
    parts = ["<table><thead><tr>"]
    parts += [f"<th>{escape(header)}</th>" for header in headers]
    parts.append("</tr></thead><tbody>")
    shown = size = 0
    for row in rows:
        if shown >= MAX_ROWS or size >= MAX_TABLE_CHARS:
            break
        line = "<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>"
        parts.append(line)
        size += len(line)
        shown += 1
    parts.append("</tbody></table>")
    parts.append(_more(total - shown, noun))
    return "".join(parts)


def _fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column label/value table; pairs whose value is ``None`` or ``""`` are skipped."""
    rows = [
        f"<tr><th>{escape(label)}</th><td>{_cell(value)}</td></tr>"
        for label, value in pairs
        if value is not None and value != ""
    ]
    return "<table>" + "".join(rows) + "</table>" if rows else ""


def _long_text(text: str) -> str:
    shown = text[:MAX_TEXT_CHARS]
    body = f'<div class="sk-text">{escape(shown)}</div>'
    return body + _more(len(text) - len(shown), "characters")


def _title(kind: str, ident: Any = None, status: Any = None) -> str:
    parts = [f"<strong>{escape(kind)}</strong>"]
    if ident:
        parts.append(_mono(ident))
    if status is not None:
        parts.append(_badge(status))
    return "<div>" + " ".join(parts) + "</div>"


def _section(summary: str, body: str, *, open_: bool) -> str:
    opened = " open" if open_ else ""
    return f"<details{opened}><summary>{escape(summary)}</summary>{body}</details>"


def _wrap(body: str, css_class: str) -> str:
    return f'{_STYLE}<div class="speechkit {css_class}">{body}</div>'


def _confidence(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}"


# --- HTML per model ----------------------------------------------------------------------------


def transcript_html(transcript: Transcript) -> str:
    """A transcript: header, error, text, then utterances (or words), each bounded."""
    language = transcript.language_code
    if language is not None and transcript.language_confidence is not None:
        language = f"{language} ({transcript.language_confidence:.3f})"
    header = _fields(
        [
            ("Provider", transcript.provider),
            ("Audio", safe_url(transcript.audio_url)),
            ("Audio duration", format_duration(transcript.audio_duration)),
            ("Language", language),
            ("Confidence", _confidence(transcript.confidence)),
            ("Speech model", transcript.speech_model_used or transcript.speech_model),
        ]
    )
    parts = [_title("Transcript", transcript.id, transcript.status), header]

    if transcript.is_error or transcript.error:
        message = scrub_urls(transcript.error) or "The job failed; the server gave no reason."
        parts.append(f'<div class="sk-error">{escape(message)}</div>')
    if transcript.text:
        parts.append(_long_text(transcript.text))
    elif transcript.status in ("queued", "processing"):
        parts.append(_note(f"No text yet: the job is {transcript.status}."))
    elif not transcript.is_error:
        parts.append(_note("No text."))

    utterances = transcript.utterances or []
    words = transcript.words or []
    if utterances:
        rows = (
            (u.speaker if u.speaker is not None else u.channel, _span_times(u.start, u.end), u.text)
            for u in utterances
        )
        table = _table(["Speaker", "Time", "Text"], rows, total=len(utterances), noun="utterances")
        parts.append(_section(f"Utterances ({len(utterances):,})", table, open_=True))
    elif words:
        with_speaker = any(w.speaker is not None for w in words[:MAX_ROWS])
        headers = ["Time", "Word", "Confidence"] + (["Speaker"] if with_speaker else [])
        word_rows = (
            [_span_times(w.start, w.end), w.text, _confidence(w.confidence)]
            + ([w.speaker] if with_speaker else [])
            for w in words
        )
        table = _table(headers, word_rows, total=len(words), noun="words")
        parts.append(_section(f"Words ({len(words):,})", table, open_=len(words) <= 50))
    return _wrap("".join(parts), "speechkit-transcript")


def group_html(group: TranscriptGroup) -> str:
    """One row per input: index, input, status, transcript id, first words or the error."""
    completed, failed, pending = _group_counts(group)
    summary = f"{len(group):,} inputs: {completed:,} completed, {failed:,} failed"
    if pending:
        summary += f", {pending:,} pending"
    from speechkit.group import GroupFailure  # here: group.py imports this module

    rows: list[list[Any]] = []
    for index, result in enumerate(group):
        if isinstance(result, GroupFailure):
            error = result.error
            detail = f"{type(error).__name__}: {shorten(scrub_urls(str(error)), 200)}"
            ident = getattr(error, "transcript_id", None)
            audio = describe_audio(result.audio)
            rows.append([index, audio, _badge("failed"), _mono(ident), detail])
        else:
            detail = shorten(scrub_urls(result.error), 200) or shorten(result.text, 80)
            audio = describe_audio(result.audio_url) if result.audio_url else ""
            rows.append([index, audio, _badge(result.status), _mono(result.id), detail])
    table = _table(
        ["#", "Input", "Status", "Id", "Text or error"], rows, total=len(rows), noun="inputs"
    )
    body = _title("TranscriptGroup") + f"<div>{escape(summary)}</div>" + table
    return _wrap(body, "speechkit-group")


def transcript_list_html(page: TranscriptList) -> str:
    """A page of the transcript list: one row per job, and where the neighbouring pages are."""
    items = page.transcripts
    counts = ", ".join(
        f"{n:,} {status}" for status, n in status_counts(i.status for i in items).items()
    )
    summary = f"{len(items):,} transcripts" + (f" ({counts})" if counts else "")
    rows = (
        [
            _mono(item.id),
            _badge(item.status),
            item.created,
            item.completed,
            safe_url(item.audio_url),
            shorten(scrub_urls(item.error), 200),
        ]
        for item in items
    )
    table = _table(
        ["Id", "Status", "Created", "Completed", "Audio", "Error"],
        rows,
        total=len(items),
        noun="transcripts",
    )
    details = page.page_details
    paging = ""
    if details is not None:
        paging = _fields(
            [
                ("Older page", details.prev_url),
                ("Newer page", details.next_url),
            ]
        )
    body = _title("TranscriptList") + f"<div>{escape(summary)}</div>" + table + paging
    return _wrap(body, "speechkit-transcript-list")


def _spans_html(kind: str, response: Any, spans: Sequence[Any], noun: str) -> str:
    header = _fields(
        [
            ("Audio duration", format_duration(response.audio_duration)),
            ("Confidence", _confidence(response.confidence)),
        ]
    )
    with_speaker = any(getattr(s, "speaker", None) is not None for s in spans[:MAX_ROWS])
    headers = (["Speaker"] if with_speaker else []) + ["Time", "Text"]
    rows = (
        ([getattr(s, "speaker", None)] if with_speaker else [])
        + [_span_times(s.start, s.end), s.text]
        for s in spans
    )
    table = _table(headers, rows, total=len(spans), noun=noun)
    body = _title(kind, response.id) + header + f"<div>{len(spans):,} {escape(noun)}</div>" + table
    return _wrap(body, "speechkit-spans")


def sentences_html(response: SentencesResponse) -> str:
    """The sentences of a transcript, with their times (bounded)."""
    return _spans_html("Sentences", response, response.sentences, "sentences")


def paragraphs_html(response: ParagraphsResponse) -> str:
    """The paragraphs of a transcript, with their times (bounded)."""
    return _spans_html("Paragraphs", response, response.paragraphs, "paragraphs")


def word_search_html(response: WordSearchResponse) -> str:
    """Each searched word, its count and the first times it occurs."""
    first = 10
    rows = []
    for match in response.matches:
        times = ", ".join(
            f"{format_ms(pair[0])}{_DASH}{format_ms(pair[1])}"
            for pair in match.timestamps[:first]
            if len(pair) >= 2
        )
        if len(match.timestamps) > first:
            times += f" … {len(match.timestamps) - first:,} more"
        rows.append([match.text, match.count, _mono(times)])
    table = _table(["Word", "Count", "Times"], rows, total=len(rows), noun="words")
    header = _fields([("Total count", response.total_count)])
    return _wrap(_title("Word search", response.id) + header + table, "speechkit-word-search")


def lemur_html(response: LemurBaseResponse) -> str:
    """A LeMUR answer: request id, tokens used, then the text or the questions and answers."""
    usage = response.usage
    header = _fields(
        [
            ("Input tokens", usage.input_tokens if usage else None),
            ("Output tokens", usage.output_tokens if usage else None),
        ]
    )
    answer = getattr(response, "response", None)
    if isinstance(answer, str):
        body = _long_text(answer)
    elif isinstance(answer, list):
        rows = ([qa.question, qa.answer] for qa in answer)
        body = _table(["Question", "Answer"], rows, total=len(answer), noun="answers")
    else:
        body = ""
    return _wrap(_title("LeMUR response", response.request_id) + header + body, "speechkit-lemur")
