"""PII redaction on the local server: rule-based detection over the transcript's words.

The real service runs a trained model; the local server finds what fixed rules can find, so the
text, the words and the redacted audio really change (nothing is claimed that is not done):

* ``person_name``: a first name from a list of common English first names, with the surname
  that follows it (a surname from the list, or a capitalized word inside a sentence), and any
  ``person_name`` of the intelligence gazetteer.
* ``phone_number``: 7 to 11 consecutive digits (numerals, or spoken: "five five five ...";
  "oh" counts as zero inside a run), alone or grouped ``555-123-4567``.
* ``us_social_security_number``: 9 digits grouped ``123-45-6789``; ``credit_card_number``:
  13 to 16 digits; ``number_sequence``: any other run of 3 or more digits.
* ``email_address``: a word with ``@`` and a dot, or spoken "name at host dot com".
* ``url``: a word starting ``www.`` / ``http`` or ending in a common top-level domain.
* ``date``: weekdays, months (with the day number after them), ``12/05/2024``-style dates,
  "today"/"tomorrow"/"yesterday" are not dates. ``time``: ``3:30``, "3 pm", "noon".
* ``money_amount``: ``$12``, "twelve dollars", "5 euros"; ``person_age``: "N years old".
* ``location``, ``organization``, ``occupation``, ``language``, ``nationality``, ``event``:
  the phrases of the intelligence gazetteer (:mod:`._intelligence`).

Other policies of the spec are accepted and find nothing (listed in ``docs/local-server.md``).
``redact_pii_sub``: ``hash`` (the default) replaces every letter and digit of a redacted word with
``#``; ``entity_name`` replaces each redacted span with ``[POLICY_NAME]`` (one word spanning the
span's time). Redacted audio replaces the spans with a 1 kHz beep, or with silence when
``redact_pii_audio_options.override_audio_redaction_method`` is ``"silence"``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from speechkit._core import text as core_text
from speechkit.server import _intelligence, _text

__all__ = ["Span", "detect", "redact_audio", "redact_words", "redacted_audio_file"]

Span = tuple[int, int, str]  # word index begin, end (exclusive), policy


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FIRST_NAMES = _set(
    """james john robert michael william david richard joseph thomas charles christopher daniel
    matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george edward
    ronald timothy jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin
    scott brandon benjamin samuel frank gregory raymond alexander patrick jack dennis jerry
    tyler aaron jose adam henry nathan peter zachary kyle walter harold jeremy ethan carl
    keith roger gerald christian terry sean arthur austin noah lawrence jesse joe bryan billy
    mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa betty
    margaret sandra ashley kimberly emily donna michelle dorothy carol amanda melissa deborah
    stephanie rebecca sharon laura cynthia kathleen amy shirley angela helen anna brenda pamela
    nicole emma samantha katherine christine debra rachel catherine carolyn janet ruth maria
    heather diane virginia julie joyce victoria olivia kelly christina lauren joan evelyn judith
    megan cheryl andrea hannah martha jacqueline frances gloria ann teresa kathryn sara janice
    jean alice madison doris abigail julia judy grace denise amber marilyn beverly danielle
    theresa sophia marie diana brittany natalie isabella charlotte rose alexis kayla sonny"""
)
_SURNAMES = _set(
    """smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez
    gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris
    sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill
    flores green adams nelson baker hall rivera campbell mitchell carter roberts carlo"""
)
_DIGITS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_NUMBER_WORDS = _set(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred thousand million billion a"""
)
_CURRENCIES = _set("dollar dollars euro euros pound pounds cents cent bucks yen")
_MONTHS = _set(
    "january february march april may june july august september october november december"
)
_WEEKDAYS = _set("monday tuesday wednesday thursday friday saturday sunday")
_ORDINAL_RE = re.compile(r"^(\d{1,2})(st|nd|rd|th)?$")
_ORDINAL_WORDS = _set(
    """first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth
    thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth
    thirtieth"""
)
_NUMERIC_DATE_RE = re.compile(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}$")
_CLOCK_RE = re.compile(r"^\d{1,2}:\d{2}(am|pm)?$")
_MONEY_RE = re.compile(r"^[$€£]\d[\d,]*(\.\d+)?$")
_EMAIL_RE = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
_URL_RE = re.compile(r"^((https?://|www\.)\S+|[\w-]+(\.[\w-]+)*\.(com|org|net|io|edu|gov))$")
_GROUPED_DIGITS_RE = re.compile(r"^\d+([-.]\d+)+$")
_TLDS = _set("com org net io edu gov")
_GAZETTEER_POLICIES = _set(
    "location organization occupation language nationality event person_name"
)


def _bare(text: str) -> str:
    return text.strip(".,?!;:\"'()[]").lower()


def _digits_of(word: str) -> str | None:
    """The digits a word stands for ("five" -> "5", "555-1234" -> "5551234"), else None."""
    bare = _bare(word)
    if bare in _DIGITS:
        return _DIGITS[bare]
    if bare.isdigit() or _GROUPED_DIGITS_RE.match(bare):
        return re.sub(r"\D", "", bare)
    return None


def _digit_runs(words: Sequence[_text.Word]) -> list[Span]:
    spans: list[Span] = []
    i = 0
    while i < len(words):
        j = i
        digits = ""
        while j < len(words):
            found = _digits_of(words[j].text)
            # "oh" only inside a run; a lone "oh" is an interjection.
            if found is None or (j == i and _bare(words[j].text) == "oh"):
                break
            digits += found
            j += 1
        if j == i:
            i += 1
            continue
        bare = _bare(words[i].text)
        count = len(digits)
        if j - i == 1 and re.fullmatch(r"\d{3}-\d{2}-\d{4}", bare):
            policy = "us_social_security_number"
        elif 13 <= count <= 16:
            policy = "credit_card_number"
        elif 7 <= count <= 11:
            policy = "phone_number"
        elif count >= 3:
            policy = "number_sequence"
        else:
            i = j
            continue
        spans.append((i, j, policy))
        i = j
    return spans


def _names(words: Sequence[_text.Word], sentences: Sequence[tuple[int, int]]) -> list[Span]:
    starts = {b for b, _ in sentences}
    spans: list[Span] = []
    i = 0
    while i < len(words):
        if _bare(words[i].text) in _FIRST_NAMES and not (
            _bare(words[i].text) in ("may", "mark", "grace", "rose", "frank", "will", "bill")
            and not words[i].text[:1].isupper()
        ):
            j = i + 1
            ends_here = words[i].text.endswith((".", ",", "?", "!"))
            if j < len(words) and not ends_here:
                nxt = words[j].text
                if _bare(nxt) in _SURNAMES or (
                    nxt[:1].isupper() and j not in starts and _bare(nxt) not in _STOP_CAPITALS
                ):
                    j += 1
            spans.append((i, j, "person_name"))
            i = j
        else:
            i += 1
    return spans


_STOP_CAPITALS = _set("i the a and but or so we you he she it they")


def _dates_times_money(words: Sequence[_text.Word]) -> list[Span]:
    spans: list[Span] = []
    for i, word in enumerate(words):
        bare = _bare(word.text)
        nxt = _bare(words[i + 1].text) if i + 1 < len(words) else ""
        if bare in _WEEKDAYS:
            spans.append((i, i + 1, "date"))
        elif bare in _MONTHS and (bare != "may" or word.text[:1].isupper() or nxt.isdigit()):
            end = i + 1
            if _ORDINAL_RE.match(nxt) or nxt in _ORDINAL_WORDS:
                end += 1
            spans.append((i, end, "date"))
        elif _NUMERIC_DATE_RE.match(bare):
            spans.append((i, i + 1, "date"))
        elif _CLOCK_RE.match(bare) or bare in ("noon", "midnight"):
            spans.append((i, i + 1, "time"))
        elif (bare.isdigit() or bare in _NUMBER_WORDS) and nxt in ("am", "pm", "a.m", "p.m"):
            spans.append((i, i + 2, "time"))
        elif _MONEY_RE.match(bare):
            spans.append((i, i + 1, "money_amount"))
        elif nxt in _CURRENCIES and (bare.replace(",", "").isdigit() or bare in _NUMBER_WORDS):
            spans.append((i, i + 2, "money_amount"))
        elif (
            (bare.isdigit() or bare in _NUMBER_WORDS)
            and nxt in ("years", "year")
            and i + 2 < len(words)
            and _bare(words[i + 2].text) == "old"
        ):
            spans.append((i, i + 3, "person_age"))
    return spans


def _emails_urls(words: Sequence[_text.Word]) -> list[Span]:
    spans: list[Span] = []
    for i, word in enumerate(words):
        bare = word.text.strip(",?!;:\"'()[]").rstrip(".").lower()
        if _EMAIL_RE.match(bare):
            spans.append((i, i + 1, "email_address"))
        elif _URL_RE.match(bare):
            spans.append((i, i + 1, "url"))
        elif (
            bare == "at"
            and i > 0
            and i + 3 < len(words)
            and _bare(words[i + 2].text) == "dot"
            and _bare(words[i + 3].text) in _TLDS
        ):
            spans.append((i - 1, i + 4, "email_address"))
    return spans


def _gazetteer(words: Sequence[_text.Word]) -> list[Span]:
    return [
        (begin, end, kind)
        for begin, end, kind in _intelligence.entity_spans(words)
        if kind in _GAZETTEER_POLICIES
    ]


def detect(
    words: Sequence[_text.Word], sentences: Sequence[tuple[int, int]], policies: Sequence[str]
) -> list[Span]:
    """Non-overlapping spans of ``words`` to redact under ``policies``, in order. Earlier rules
    win an overlap: e-mail and URLs, digit runs, dates/times/money, names, the gazetteer."""
    wanted = set(policies)
    found: list[Span] = []
    taken = [False] * len(words)
    candidates = [
        *_emails_urls(words),
        *_digit_runs(words),
        *_dates_times_money(words),
        *_names(words, sentences),
        *_gazetteer(words),
    ]
    for begin, end, policy in candidates:
        if policy not in wanted or any(taken[begin:end]):
            continue
        for k in range(begin, end):
            taken[k] = True
        found.append((begin, end, policy))
    return sorted(found)


def _hashed(text: str) -> str:
    return re.sub(r"[^\W_]", "#", text)


def redact_words(
    words: Sequence[_text.Word], spans: Sequence[Span], substitution: str
) -> list[_text.Word]:
    """``words`` with ``spans`` substituted (``hash`` or ``entity_name``)."""
    out: list[_text.Word] = []
    index = 0
    for begin, end, policy in spans:
        out.extend(words[index:begin])
        part = words[begin:end]
        if substitution == "entity_name":
            last = part[-1].text
            trailing = last[len(last.rstrip(".,?!;:")) :]
            out.append(
                replace(
                    part[0],
                    text=f"[{policy.upper()}]{trailing}",
                    end=part[-1].end,
                    confidence=min(w.confidence for w in part),
                )
            )
        else:
            out.extend(replace(w, text=_hashed(w.text)) for w in part)
        index = end
    out.extend(words[index:])
    return out


def redact_audio(
    pcm: bytes, sample_rate: int, ranges_ms: Sequence[tuple[int, int]], *, silence: bool
) -> bytes:
    """Mono 16-bit ``pcm`` with each ``(start, end)`` range (ms) beeped (1 kHz) or silenced."""
    import numpy as np

    samples = np.frombuffer(pcm, dtype="<i2").copy()
    for start, end in ranges_ms:
        first = max(0, start * sample_rate // 1000)
        last = min(len(samples), -(-end * sample_rate // 1000))
        if last <= first:
            continue
        if silence:
            samples[first:last] = 0
        else:
            t = np.arange(first, last) / sample_rate
            samples[first:last] = (0.3 * 32767 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.int16)
    return bytes(samples.astype("<i2").tobytes())


def redacted_audio_file(pcm: bytes, sample_rate: int, quality: str) -> tuple[bytes, str]:
    """The redacted recording as a file: ``mp3`` (the spec's default) or ``wav``; returns the
    bytes and the media type. MP3 is encoded by libsndfile (soundfile >= 0.12 wheels)."""
    import numpy as np
    import soundfile

    samples = np.frombuffer(pcm, dtype="<i2")
    buffer = io.BytesIO()
    if quality == "wav":
        soundfile.write(buffer, samples, sample_rate, format="WAV", subtype="PCM_16")
        return buffer.getvalue(), "audio/wav"
    soundfile.write(buffer, samples, sample_rate, format="MP3", subtype="MPEG_LAYER_III")
    return buffer.getvalue(), "audio/mpeg"


def apply(
    params: dict[str, Any],
    words: list[_text.Word],
    sentences: list[tuple[int, int]],
) -> tuple[list[_text.Word], list[tuple[int, int]], list[tuple[int, int]]]:
    """Redact ``words`` per the job's options; return the words, their sentence spans and the
    redacted time ranges (ms). Without ``redact_pii`` everything comes back unchanged."""
    if not params.get("redact_pii") or not words:
        return words, sentences, []
    policies = params.get("redact_pii_policies") or []
    spans = detect(words, sentences, policies)
    ranges = [(words[b].start, words[e - 1].end) for b, e, _ in spans]
    substitution = str(params.get("redact_pii_sub") or "hash")
    redacted = redact_words(words, spans, substitution)
    if len(redacted) != len(words):
        sentences = core_text.sentence_spans(redacted)
    return redacted, sentences, ranges
