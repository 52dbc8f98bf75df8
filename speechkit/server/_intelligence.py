"""Audio intelligence on the local server: rule-based stand-ins for AssemblyAI's models.

The real service runs trained models; the local server derives the same result *shapes* from the
transcript's words with fixed rules, so clients can exercise every field (and parse transcripts
as large as the real ones) offline. Results depend only on the words, never on timing:

* ``auto_highlights_result``: runs of up to three content words (stop words split runs), ranked by
  how often they occur; the top 15 with every occurrence's timestamps.
* ``entities``: every occurrence of a phrase from a small gazetteer (places, people,
  organizations, occupations, languages, nationalities, events, weekdays and months).
* ``sentiment_analysis_results``: one per sentence, from counts of positive and negative words.
* ``content_safety_labels`` and ``iab_categories_result``: one result per paragraph, labelled
  from keyword lists, with file-level summaries; ``content_safety_confidence`` (25-100) drops
  labels below that confidence.
* ``chapters``: consecutive paragraphs grouped into chapters of at least five minutes; the
  headline is the chapter's first sentence, the summary its first three, the gist its top
  highlight.
* ``summary``: from the chapters' headlines, shaped by ``summary_type`` (bullets by default).

Times are integer milliseconds, like the words they come from.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from speechkit._core import text as core_text
from speechkit.server import _text

__all__ = ["entity_spans", "intelligence_json"]


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _phrases(text: str) -> list[str]:
    return text.split(";")


_STOP_WORDS = _set(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just let me more most my myself no nor not now of off on once only or other our ours ourselves
    out over own same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves also very really
    well yes okay oh said says say get got go going went know think like one two three good great
    bad thank thanks please today tonight"""
)

_POSITIVE = _set(
    """good great excellent nice happy glad love like enjoy wonderful better best thank thanks
    helpful success successful improve improved clear calm safe fresh beautiful pleasant
    recommend agree fantastic welcome"""
)
_NEGATIVE = _set(
    """bad poor terrible awful sad angry hate worse worst problem problems risk dangerous danger
    smoke smoky wildfire wildfires fire pollution sick illness disease unhealthy warning warnings
    alert alerts difficult wrong fail failed failure worry worried concern concerns"""
)

_ENTITIES: dict[str, str] = {
    **dict.fromkeys(
        _phrases(
            "canada;maine;maryland;minnesota;new york;new york city;baltimore;london;paris;europe;"
            "the us;the united states;california;texas;boston;chicago;seattle;the park"
        ),
        "location",
    ),
    **dict.fromkeys(
        _phrases("peter de carlo;peter;maria;john;sarah;david;anna;james"), "person_name"
    ),
    **dict.fromkeys(
        _phrases(
            "johns hopkins university;johns hopkins;the world health organization;nasa;"
            "the national weather service;the city council;the hospital"
        ),
        "organization",
    ),
    **dict.fromkeys(
        _phrases("professor;doctor;teacher;engineer;nurse;reporter;scientist"), "occupation"
    ),
    **dict.fromkeys(_phrases("english;spanish;french;german"), "language"),
    **dict.fromkeys(_phrases("american;canadian;british"), "nationality"),
    **dict.fromkeys(
        _phrases(
            "monday;tuesday;wednesday;thursday;friday;saturday;sunday;january;february;march;april;"
            "may;june;july;august;september;october;november;december"
        ),
        "date",
    ),
    **dict.fromkeys(_phrases("the olympics;the world cup;the conference"), "event"),
}
_LONGEST_ENTITY = max(len(k.split()) for k in _ENTITIES)

_SAFETY: dict[str, frozenset[str]] = {
    "disasters": _set("wildfire wildfires fire fires smoke flood storm hurricane"),
    "health_issues": _set("health disease illness sick asthma respiratory lungs"),
    "accidents": _set("accident crash injury injured collision"),
    "weapons": _set("gun guns weapon weapons knife"),
    "profanity": _set("damn hell"),
}

_TOPICS: dict[str, frozenset[str]] = {
    "NewsAndPolitics>Weather": _set("weather rain sun sunny wind storm forecast"),
    "Home&Garden>IndoorEnvironmentalQuality": _set("air indoors inside smoke"),
    "Science>Environment": _set("climate environment pollution wildfires emissions"),
    "MedicalHealth>DiseasesAndConditions>LungAndRespiratoryHealth": _set(
        "lungs asthma respiratory breathing"
    ),
    "NewsAndPolitics>Disasters": _set("wildfire wildfires disaster flood hurricane"),
    "FoodAndDrink": _set("coffee milk bread eggs sugar dinner lunch breakfast"),
    "Family&Relationships>Parenting": _set("children kids school parents"),
    "Home&Garden": _set("house home garden lights kitchen"),
    "Travel": _set("walk trip travel park city"),
    "BusinessAndFinance>Business": _set("business company market customers"),
    "Education": _set("school university professor students class"),
}

_HIGHLIGHTS = 15
_BREAKS = (".", "?", "!", ",", ";", ":")
_CHAPTER_MS = 5 * 60 * 1000
_SUMMARY_BULLETS = 10


def _token(text: str) -> str:
    return core_text.normalize_token(text)


def _segment(words: Sequence[_text.Word], begin: int, end: int) -> tuple[str, int, int]:
    part = words[begin:end]
    return _text.words_text(part), part[0].start, part[-1].end


def _highlights(words: Sequence[_text.Word], tokens: Sequence[str]) -> dict[str, Any]:
    occurrences: dict[str, list[tuple[int, int]]] = defaultdict(list)
    run: list[int] = []
    for i in range(len(tokens) + 1):
        token = tokens[i] if i < len(tokens) else ""
        content = bool(token) and token.isalpha() and token not in _STOP_WORDS
        if content:
            run.append(i)
        # A stop word, the end, or punctuation after a word ends the run.
        if run and (not content or words[i].text.endswith(_BREAKS)):
            for size in (3, 2, 1):
                for k in range(len(run) - size + 1):
                    first, last = run[k], run[k + size - 1]
                    phrase = " ".join(tokens[first : last + 1])
                    occurrences[phrase].append((words[first].start, words[last].end))
            run = []
    ranked = sorted(
        occurrences.items(), key=lambda item: (-len(item[1]) * len(item[0].split()), item[0])
    )[:_HIGHLIGHTS]
    top = max((len(t) * len(p.split()) for p, t in ranked), default=1)
    results = [
        {
            "count": len(times),
            "rank": round(0.1 * len(times) * len(phrase.split()) / top, 2),
            "text": phrase,
            "timestamps": [{"start": s, "end": e} for s, e in times],
        }
        for phrase, times in ranked
    ]
    return {"status": "success", "results": results}


def entity_spans(words: Sequence[_text.Word]) -> list[tuple[int, int, str]]:
    """Gazetteer matches, longest first, as ``(begin, end, entity_type)`` word index spans."""
    tokens = [_token(w.text) for w in words]
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        for size in range(min(_LONGEST_ENTITY, len(tokens) - i), 0, -1):
            kind = _ENTITIES.get(" ".join(tokens[i : i + size]))
            if kind is not None:
                found.append((i, i + size, kind))
                i += size
                break
        else:
            i += 1
    return found


def _entities(words: Sequence[_text.Word]) -> list[dict[str, Any]]:
    return [
        {
            "entity_type": kind,
            "text": " ".join(w.text for w in words[begin:end]).rstrip(".,?!;:"),
            "start": words[begin].start,
            "end": words[end - 1].end,
        }
        for begin, end, kind in entity_spans(words)
    ]


def _sentiments(
    words: Sequence[_text.Word], tokens: Sequence[str], sentences: Sequence[tuple[int, int]]
) -> list[dict[str, Any]]:
    results = []
    for begin, end in sentences:
        part = tokens[begin:end]
        score = sum(t in _POSITIVE for t in part) - sum(t in _NEGATIVE for t in part)
        sentiment = "POSITIVE" if score > 0 else "NEGATIVE" if score < 0 else "NEUTRAL"
        text, start, stop = _segment(words, begin, end)
        results.append(
            {
                "text": text,
                "start": start,
                "end": stop,
                "sentiment": sentiment,
                "confidence": round(min(0.99, 0.62 + 0.11 * abs(score)), 4),
                "speaker": words[begin].speaker,
            }
        )
    return results


def _keyword_labels(
    tokens: Sequence[str], lexicon: dict[str, frozenset[str]]
) -> list[tuple[str, int]]:
    counts = Counter(tokens)
    hits = [(label, sum(counts[k] for k in keys)) for label, keys in lexicon.items()]
    return sorted([(label, n) for label, n in hits if n], key=lambda x: (-x[1], x[0]))


def _content_safety(
    words: Sequence[_text.Word],
    tokens: Sequence[str],
    paragraphs: Sequence[tuple[int, int]],
    sentences: Sequence[tuple[int, int]],
    threshold: float,
) -> dict[str, Any]:
    sentence_of = {begin: n for n, (begin, _) in enumerate(sentences)}
    sentence_ends = [e for _, e in sentences]
    results = []
    weighted: dict[str, float] = defaultdict(float)
    buckets: dict[str, Counter[str]] = defaultdict(Counter)
    total_ms = 0
    for begin, end in paragraphs:
        text, start, stop = _segment(words, begin, end)
        total_ms += stop - start
        labels = []
        for label, hits in _keyword_labels(tokens[begin:end], _SAFETY):
            confidence = min(0.99, 0.55 + 0.1 * hits)
            if confidence < threshold:
                continue
            score = round(min(1.0, 0.15 * hits), 4)
            labels.append({"label": label, "confidence": confidence, "severity": score})
            weighted[label] += confidence * (stop - start)
            buckets[label]["low" if score < 0.4 else "medium" if score < 0.7 else "high"] += 1
        first = sentence_of.get(begin, 0)
        last = min(bisect.bisect_left(sentence_ends, end), len(sentences) - 1)
        results.append(
            {
                "text": text,
                "labels": labels,
                "sentences_idx_start": first,
                "sentences_idx_end": last,
                "timestamp": {"start": start, "end": stop},
            }
        )
    summary = {label: round(w / max(total_ms, 1), 4) for label, w in weighted.items()}
    severity = {
        label: {level: round(c[level] / sum(c.values()), 4) for level in ("low", "medium", "high")}
        for label, c in buckets.items()
    }
    return {
        "status": "success",
        "results": results,
        "summary": summary,
        "severity_score_summary": severity,
    }


def _topics(
    words: Sequence[_text.Word], tokens: Sequence[str], paragraphs: Sequence[tuple[int, int]]
) -> dict[str, Any]:
    results = []
    totals: dict[str, float] = defaultdict(float)
    for begin, end in paragraphs:
        text, start, stop = _segment(words, begin, end)
        labels = _keyword_labels(tokens[begin:end], _TOPICS)[:10]
        hits = sum(n for _, n in labels) or 1
        scored = [(label, round(n / hits, 4)) for label, n in labels]
        for label, relevance in scored:
            totals[label] += relevance
        results.append(
            {
                "text": text,
                "labels": [{"relevance": r, "label": label} for label, r in scored],
                "timestamp": {"start": start, "end": stop},
            }
        )
    top = max(totals.values(), default=1.0)
    summary = {label: round(v / top, 4) for label, v in sorted(totals.items(), key=lambda x: -x[1])}
    return {"status": "success", "results": results, "summary": summary}


def _chapters(
    words: Sequence[_text.Word],
    tokens: Sequence[str],
    paragraphs: Sequence[tuple[int, int]],
    sentences: Sequence[tuple[int, int]],
) -> list[dict[str, Any]]:
    groups: list[tuple[int, int]] = []
    for begin, end in paragraphs:
        if groups and words[groups[-1][1] - 1].end - words[groups[-1][0]].start < _CHAPTER_MS:
            groups[-1] = (groups[-1][0], end)
        else:
            groups.append((begin, end))
    chapters = []
    for begin, end in groups:
        inside = [(b, e) for b, e in sentences if begin <= b < end]
        texts = [_segment(words, b, e)[0] for b, e in inside[:3]]
        best = _highlights(words[begin:end], tokens[begin:end])["results"]
        gist = best[0]["text"] if best else texts[0]
        chapters.append(
            {
                "summary": " ".join(texts),
                "gist": _text.capitalize_first(gist),
                "headline": texts[0].rstrip("."),
                "start": words[begin].start,
                "end": words[end - 1].end,
            }
        )
    return chapters


def _summary(chapters: Sequence[dict[str, Any]], summary_type: str) -> str:
    headlines = [str(c["headline"]) for c in chapters[:_SUMMARY_BULLETS]]
    if not headlines:
        return ""
    if summary_type == "gist":
        return str(chapters[0]["gist"])
    if summary_type == "headline":
        return headlines[0] + "."
    if summary_type == "paragraph":
        return " ".join(h + "." for h in headlines)
    if summary_type == "bullets_verbose":
        return "\n".join(f"- {c['summary']}" for c in chapters[:_SUMMARY_BULLETS])
    return "\n".join(f"- {h}." for h in headlines)


def intelligence_json(
    params: dict[str, Any], words: Sequence[_text.Word], sentences: Sequence[tuple[int, int]]
) -> dict[str, Any]:
    """The requested audio intelligence fields of a completed transcript (see the module
    docstring); only the fields whose option is on are in the result."""
    tokens = [_token(w.text) for w in words]
    paragraphs = core_text.paragraph_spans(words, sentences) if words else []
    out: dict[str, Any] = {}
    if params.get("auto_highlights"):
        out["auto_highlights_result"] = _highlights(words, tokens)
    if params.get("entity_detection"):
        out["entities"] = _entities(words)
    if params.get("sentiment_analysis"):
        out["sentiment_analysis_results"] = _sentiments(words, tokens, sentences)
    if params.get("content_safety"):
        threshold = float(params.get("content_safety_confidence") or 50) / 100
        out["content_safety_labels"] = _content_safety(
            words, tokens, paragraphs, sentences, threshold
        )
    if params.get("iab_categories"):
        out["iab_categories_result"] = _topics(words, tokens, paragraphs)
    chapters = _chapters(words, tokens, paragraphs, sentences) if words else []
    if params.get("auto_chapters"):
        out["chapters"] = chapters
    if params.get("summarization"):
        out["summary"] = _summary(chapters, str(params.get("summary_type") or "bullets"))
    return out
