"""The Transcript model: AssemblyAI's transcript object, and the unified view of every provider.

Shapes follow AssemblyAI's ``Transcript`` schema (spec HEAD, plus fields dropped from newer specs
that servers and relays still send: ``word_boost``, ``boost_param``, ``dual_channel``, ...).
Other providers' results are converted into the same model; the provider's own response stays
reachable through :attr:`Transcript.provider_response`.

Units: every ``start`` / ``end`` / ``audio_start_from`` / ``audio_end_at`` is an **integer number
of milliseconds** from the beginning of the audio; ``audio_duration`` is in **seconds**.
Confidences and relevances are in ``0..1``.

Leniency: apart from ``Transcript.id`` and the text/timing of timed spans (words, utterances,
entities, ...), every field may be missing or ``null``; unknown fields are kept in
``model_extra`` and the raw JSON in :attr:`~speechkit.models.SpeechkitModel.raw`. Enum fields are
``SomeEnum | str``. The part models have no custom validators, so parsing a 30 000-word
transcript stays a single pass of pydantic-core.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, Field, PrivateAttr

from speechkit.models import _html
from speechkit.models._base import SpeechkitModel
from speechkit.models.enums import (
    AudioIntelligenceModelStatus,
    BoostParam,
    EntityType,
    LanguageCode,
    OpenEnum,
    PIIPolicy,
    RedactPiiAudioQuality,
    Sentiment,
    SpeechModel,
    SubstitutionPolicy,
    SummaryModel,
    SummaryType,
    TranscriptStatus,
)

if TYPE_CHECKING:
    from speechkit.models.assemblyai import Paragraph, Sentence, WordSearchMatch

__all__ = [
    "AutoHighlightResult",
    "AutoHighlightsResult",
    "Chapter",
    "ContentSafetyLabel",
    "ContentSafetyLabelResult",
    "ContentSafetyLabelsResult",
    "CustomSpelling",
    "Entity",
    "KeytermsPromptOptions",
    "LanguageDetectionOptions",
    "RedactPiiAudioOptions",
    "SentimentAnalysisResult",
    "SeverityScoreSummary",
    "SpeakerOptions",
    "SpeechUnderstanding",
    "Timestamp",
    "TopicDetectionLabel",
    "TopicDetectionModelResult",
    "TopicDetectionResult",
    "Transcript",
    "TranscriptOptionFields",
    "Utterance",
    "Word",
]


# --- timed spans -------------------------------------------------------------------------------


class Timestamp(SpeechkitModel):
    """A span of audio."""

    start: int
    """Start, in milliseconds from the beginning of the audio."""
    end: int
    """End, in milliseconds from the beginning of the audio."""


class Word(SpeechkitModel):
    """One recognised word (the spec's ``TranscriptWord``)."""

    text: str
    start: int
    """Start of the word, in integer milliseconds from the beginning of the audio."""
    end: int
    """End of the word, in integer milliseconds from the beginning of the audio."""
    confidence: float | None = None
    """Recognition confidence, 0..1."""
    speaker: str | None = None
    """Speaker label (``"A"``, ``"B"``, ...) when diarization ran, else ``None``."""
    channel: str | None = None
    """Audio channel (``"1"`` = left, ``"2"`` = right, ...) with multichannel, else ``None``."""


class Utterance(SpeechkitModel):
    """One turn of one speaker (or channel), present with ``speaker_labels`` or ``multichannel``."""

    text: str
    start: int
    """Start, in milliseconds from the beginning of the audio."""
    end: int
    """End, in milliseconds from the beginning of the audio."""
    confidence: float | None = None
    """Recognition confidence, 0..1."""
    speaker: str | None = None
    """Speaker label: ``"A"``, ``"B"``, ... in order of first appearance."""
    channel: str | None = None
    """Audio channel with multichannel, else ``None``."""
    words: list[Word] = Field(default_factory=list)
    translated_texts: dict[str, str] | None = None
    """Translations keyed by language code, with translation's ``match_original_utterance``."""

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Times, speaker, word count and a shortened text: never the words themselves.
        return _html.timed_text_repr_args(self)


class Chapter(SpeechkitModel):
    """An auto-chapter (deprecated feature, still returned by servers)."""

    start: int
    """Start, in milliseconds from the beginning of the audio."""
    end: int
    """End, in milliseconds from the beginning of the audio."""
    gist: str | None = None
    """A few words."""
    headline: str | None = None
    """One sentence."""
    summary: str | None = None
    """One paragraph."""


class Entity(SpeechkitModel):
    """A detected entity (entity detection)."""

    entity_type: OpenEnum[EntityType]
    text: str
    start: int
    """Start, in milliseconds from the beginning of the audio."""
    end: int
    """End, in milliseconds from the beginning of the audio."""


class SentimentAnalysisResult(SpeechkitModel):
    """The sentiment of one sentence."""

    text: str
    start: int
    """Start, in milliseconds from the beginning of the audio."""
    end: int
    """End, in milliseconds from the beginning of the audio."""
    sentiment: OpenEnum[Sentiment] | None = None
    confidence: float | None = None
    """Confidence in the sentiment, 0..1."""
    speaker: str | None = None
    channel: str | None = None


# --- audio-intelligence results ----------------------------------------------------------------


class AutoHighlightResult(SpeechkitModel):
    """A key phrase."""

    text: str
    count: int | None = None
    """How many times the phrase occurs."""
    rank: float | None = None
    """Relevance to the whole file, 0..1 (higher is more relevant)."""
    timestamps: list[Timestamp] = Field(default_factory=list)


class AutoHighlightsResult(SpeechkitModel):
    """Key phrases (``auto_highlights``)."""

    status: OpenEnum[AudioIntelligenceModelStatus] | None = None
    results: list[AutoHighlightResult] = Field(default_factory=list)


class ContentSafetyLabel(SpeechkitModel):
    """One sensitive topic found in a section."""

    label: str
    confidence: float | None = None
    """Confidence that the topic is discussed, 0..1."""
    severity: float | None = None
    """How severely it is discussed, 0..1."""


class ContentSafetyLabelResult(SpeechkitModel):
    """A section flagged by content moderation."""

    text: str
    labels: list[ContentSafetyLabel] = Field(default_factory=list)
    sentences_idx_start: int | None = None
    """Index of the first sentence of the section."""
    sentences_idx_end: int | None = None
    """Index of the last sentence of the section."""
    timestamp: Timestamp | None = None


class SeverityScoreSummary(SpeechkitModel):
    """Share of low / medium / high severity for one label over the whole file (each 0..1)."""

    low: float | None = None
    medium: float | None = None
    high: float | None = None


class ContentSafetyLabelsResult(SpeechkitModel):
    """Content moderation results (``content_safety``)."""

    status: OpenEnum[AudioIntelligenceModelStatus] | None = None
    results: list[ContentSafetyLabelResult] = Field(default_factory=list)
    summary: dict[str, float] = Field(default_factory=dict)
    """Confidence per label over the whole file, 0..1."""
    severity_score_summary: dict[str, SeverityScoreSummary] = Field(default_factory=dict)


class TopicDetectionLabel(SpeechkitModel):
    """An IAB category, e.g. ``"NewsAndPolitics>Weather"``."""

    label: str
    relevance: float | None = None
    """Relevance, 0..1."""


class TopicDetectionResult(SpeechkitModel):
    """Topics found in one stretch of text."""

    text: str
    labels: list[TopicDetectionLabel] = Field(default_factory=list)
    timestamp: Timestamp | None = None


class TopicDetectionModelResult(SpeechkitModel):
    """Topic detection results (``iab_categories``)."""

    status: OpenEnum[AudioIntelligenceModelStatus] | None = None
    results: list[TopicDetectionResult] = Field(default_factory=list)
    summary: dict[str, float] = Field(default_factory=dict)
    """Relevance per category over the whole file, 0..1."""


# --- option objects (echoed in the transcript, also used in requests) ----------------------------


class CustomSpelling(SpeechkitModel):
    """Replace every word or phrase in ``from_`` (wire name ``from``) with ``to``."""

    from_: list[str] = Field(alias="from")
    to: str


class LanguageDetectionOptions(SpeechkitModel):
    """Options for automatic language detection."""

    expected_languages: list[str] | None = None
    """Languages to choose from; the server's default is ``["all"]``."""
    fallback_language: str | None = None
    """Used when the detected language is not expected; ``"auto"`` (the default) picks the
    expected language with the highest confidence."""
    code_switching: bool | None = None
    """Detect switches between languages within the file."""
    code_switching_confidence_threshold: float | None = None
    """0..1 (server default 0.3); below it, the most confident single language is used."""
    on_low_language_confidence: str | None = None
    """``"error"`` (the default) or ``"fallback"`` when the confidence is below the threshold."""
    swiss_german: bool | None = None
    """Route German as Swiss German audio."""
    language_detection_model: str | None = None
    localization: list[str] | None = None
    """Regional spelling of detected English: ``["en_au"]`` or ``["en_uk"]``."""


class SpeakerOptions(SpeechkitModel):
    """A range of speaker counts for diarization."""

    min_speakers_expected: int | None = None
    """Server default 1."""
    max_speakers_expected: int | None = None
    """Server default depends on duration: none up to 2 min, 10 up to 10 min, then 30."""


class RedactPiiAudioOptions(SpeechkitModel):
    """Options for the PII-redacted audio copy."""

    return_redacted_no_speech_audio: bool | None = None
    """Also produce a redacted file when the audio has no speech."""
    override_audio_redaction_method: str | None = None
    """``"silence"`` replaces PII with silence instead of a beep."""


class SpeechUnderstanding(SpeechkitModel):
    """Speech-understanding tasks (translation, speaker identification, custom formatting).

    Kept loose on purpose: ``request`` holds exactly one task object, for example
    ``{"translation": {"target_languages": ["es"], "formal": True}}``, and ``response`` the
    server's result for it, for example ``{"translation": {"status": "success"}}``.
    """

    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None


class KeytermsPromptOptions(SpeechkitModel):
    """How keyterms are favoured (``assemblyai`` 1.8.2; not yet in the HEAD spec)."""

    keyterms_match_strength: str | None = None
    """``"high"`` or ``"standard"``."""


# --- the options, declared once for the request and its echo ------------------------------------


class TranscriptOptionFields(BaseModel):
    """The transcript options as typed attributes: the request's, and the transcript's echo.

    Declared once and inherited by :class:`~speechkit.TranscriptionConfig` (which checks each
    value against the option table in ``speechkit._core.options.batch`` before anything is sent)
    and by :class:`Transcript` (which stays lenient: it must parse whatever a server echoes).
    Every field defaults to ``None``: not sent, or not echoed. The webhook auth header value is
    only on the config: the service never echoes it.
    """

    # Model, language and prompting.
    speech_models: list[OpenEnum[SpeechModel]] | None = None
    """Models in priority order; the service routes to the first suitable one. Required by the
    HEAD spec: speechkit sends ``["universal-3-5-pro", "universal-2"]`` when no model is set."""
    speech_model: OpenEnum[SpeechModel] | None = None
    """Deprecated single model, replaced by ``speech_models``."""
    domain: str | None = None
    """A domain-tuned variant of the model, e.g. ``"medical-v1"``."""
    language_code: OpenEnum[LanguageCode] | None = None
    """Language of the audio (server default ``en_us``)."""
    language_codes: list[OpenEnum[LanguageCode]] | None = None
    """Languages for code switching; the spec says one of them must be ``en``."""
    language_detection: bool | None = None
    language_detection_options: LanguageDetectionOptions | None = None
    language_confidence_threshold: float | None = None
    """0..1: fail the job when the detected language's confidence is below it."""
    prompt: str | None = None
    """Up to 1,500 words of context (Universal-3 Pro only)."""
    keyterms_prompt: list[str] | None = None
    """Up to 200 (Universal-2) or 1000 (Universal-3 Pro) words or phrases of at most 6 words."""
    keyterms_prompt_options: KeytermsPromptOptions | None = None
    """How strongly keyterms are matched; needs ``keyterms_prompt``."""
    temperature: float | None = None
    """0..1 randomness of the model (Universal-3 Pro only)."""
    word_boost: list[str] | None = None
    """Custom vocabulary for older models; replaced by ``keyterms_prompt``."""
    boost_param: OpenEnum[BoostParam] | None = None
    """How strongly to favour ``word_boost`` words."""
    custom_spelling: list[CustomSpelling] | None = None
    """Replacements (``TranscriptionConfig.set_custom_spelling``)."""
    remove_audio_tags: str | None = None
    """``"all"`` removes audio event tags from the text (Universal-3 Pro only)."""

    # Formatting, channels, slicing.
    punctuate: bool | None = None
    format_text: bool | None = None
    disfluencies: bool | None = None
    """Keep filler words such as "umm"."""
    filter_profanity: bool | None = None
    multichannel: bool | None = None
    dual_channel: bool | None = None
    """Deprecated predecessor of ``multichannel``, for older servers."""
    audio_start_from: int | None = None
    """Where to start transcribing, in milliseconds from the beginning of the audio."""
    audio_end_at: int | None = None
    """Where to stop transcribing, in milliseconds from the beginning of the audio."""
    speech_threshold: float | None = None
    """0..1: reject files with a smaller fraction of speech."""

    # Speakers.
    speaker_labels: bool | None = None
    speakers_expected: int | None = None
    """Exact number of speakers; needs ``speaker_labels``."""
    speaker_options: SpeakerOptions | None = None
    """A range of speaker counts; needs ``speaker_labels``."""

    # Webhook (the auth header value lives on the config only).
    webhook_url: str | None = None
    webhook_auth_header_name: str | None = None

    # PII redaction.
    redact_pii: bool | None = None
    redact_pii_policies: list[OpenEnum[PIIPolicy]] | None = None
    redact_pii_sub: OpenEnum[SubstitutionPolicy] | None = None
    """Replacement for redacted PII (server default ``hash``)."""
    redact_pii_return_unredacted: bool | None = None
    """Also return the unredacted text, words and utterances; needs ``redact_pii``."""
    redact_pii_audio: bool | None = None
    """Also produce a copy of the audio with the PII beeped out."""
    redact_pii_audio_quality: OpenEnum[RedactPiiAudioQuality] | None = None
    redact_pii_audio_options: RedactPiiAudioOptions | None = None

    # Audio intelligence.
    auto_highlights: bool | None = None
    content_safety: bool | None = None
    content_safety_confidence: int | None = None
    """Content moderation threshold in percent, 25..100 (server default 50)."""
    iab_categories: bool | None = None
    sentiment_analysis: bool | None = None
    entity_detection: bool | None = None
    auto_chapters: bool | None = None
    """Deprecated (AssemblyAI points to LLM Gateway)."""
    summarization: bool | None = None
    """Deprecated (AssemblyAI points to LLM Gateway)."""
    summary_model: OpenEnum[SummaryModel] | None = None
    summary_type: OpenEnum[SummaryType] | None = None
    custom_topics: bool | None = None
    """Deprecated; no function."""
    topics: list[str] | None = None
    """Deprecated; no function."""
    speech_understanding: SpeechUnderstanding | None = None
    """A translation, speaker-identification or custom-formatting task, as ``{"request": ...}``."""


# --- the transcript ----------------------------------------------------------------------------


def _error_text(value: Any) -> Any:
    """A failed job's ``error`` as text, whatever JSON type the server used."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return value["message"]
    return json.dumps(value, ensure_ascii=False, default=str)


class Transcript(SpeechkitModel, TranscriptOptionFields):
    """A transcription job and, once ``status`` is ``completed``, its result.

    Only ``id`` is required. ``status`` defaults to ``queued`` when the server omits it, so a
    poller keeps waiting instead of mistaking the job for finished. Flags such as
    ``speaker_labels`` echo the request options; ``None`` means the server did not say.

    The transcript is also speechkit's provider-neutral result: see :attr:`provider`,
    :attr:`provider_response` and :meth:`bind_provider`.
    """

    _provider: str = PrivateAttr(default="assemblyai")
    _provider_response: Any = PrivateAttr(default=None)

    id: str
    """The job id on the provider."""
    status: OpenEnum[TranscriptStatus] = TranscriptStatus.queued
    error: Annotated[str | None, BeforeValidator(_error_text)] = None
    """Why the job failed, when ``status`` is ``error``. A non-text ``error`` (an object, a
    number) is kept as its JSON text, so an odd answer never hides the job's outcome."""
    audio_url: str | None = None
    text: str | None = None
    words: list[Word] | None = None
    utterances: list[Utterance] | None = None
    """Turn-by-turn utterances, with ``speaker_labels`` or ``multichannel``."""
    confidence: float | None = None
    """Confidence of the whole transcript, 0..1."""
    audio_duration: float | None = None
    """Duration of the media in seconds (AssemblyAI sends whole seconds)."""
    audio_channels: int | None = None
    """Number of channels, present with multichannel."""
    throttled: bool | None = None
    translated_texts: dict[str, str] | None = None
    """Full-text translations keyed by language code."""

    # The request's options are echoed (see TranscriptOptionFields); these are the transcript's.
    speech_model_used: OpenEnum[SpeechModel] | None = None
    """The model that actually transcribed the audio."""
    domain_used: str | None = None
    """The domain that was actually used, when ``domain`` was requested."""
    language_confidence: float | None = None
    """Confidence of the detected language, 0..1."""
    language_model: str | None = None
    """Deprecated; no function."""
    acoustic_model: str | None = None
    """Deprecated; no function."""
    speed_boost: bool | None = None
    """Deprecated; no function."""
    webhook_auth: bool | None = None
    """Whether webhook auth details were provided."""
    webhook_status_code: int | None = None
    """HTTP status your webhook endpoint answered with."""

    # Results of the audio-intelligence options, filled once completed.
    auto_highlights_result: AutoHighlightsResult | None = None
    content_safety_labels: ContentSafetyLabelsResult | None = None
    iab_categories_result: TopicDetectionModelResult | None = None
    chapters: list[Chapter] | None = None
    entities: list[Entity] | None = None
    sentiment_analysis_results: list[SentimentAnalysisResult] | None = None
    summary: str | None = None

    # --- provider binding ----------------------------------------------------------------------

    @property
    def provider(self) -> str:
        """Which service produced this transcript: ``"assemblyai"`` unless bound otherwise."""
        return self._provider

    @property
    def provider_response(self) -> Any:
        """The provider's own typed response, for anything provider-specific.

        For an AssemblyAI transcript with nothing bound, this is the transcript itself (it
        already is AssemblyAI's shape). For other providers it is whatever the converter bound,
        typically that provider's pydantic model.
        """
        if self._provider_response is None and self._provider == "assemblyai":
            return self
        return self._provider_response

    def bind_provider(self, provider: str, response: Any = None) -> Self:
        """Record which provider produced this transcript and its original response.

        Called by provider converters right after building the unified view, e.g.
        ``Transcript(id=..., ...).bind_provider("aiml", aiml_result)``. Mutates and returns
        ``self``; the binding is private state, so it is neither validated nor serialized and
        survives ``model_copy()``.

        Args:
            provider: Short provider name, e.g. ``"assemblyai"``, ``"aiml"``, ``"deepgram"``.
            response: The provider's own response object; ``None`` leaves it unset.
        """
        self._provider = provider
        self._provider_response = response
        return self

    # --- conveniences --------------------------------------------------------------------------

    @property
    def is_completed(self) -> bool:
        """``True`` once the job finished successfully (``status == "completed"``)."""
        return self.status == TranscriptStatus.completed

    @property
    def is_error(self) -> bool:
        """``True`` when the job failed (``status == "error"``); see :attr:`error` for why."""
        return self.status == TranscriptStatus.error

    @property
    def language(self) -> str | None:
        """The transcript's language code (``language_code``), e.g. ``"en_us"``, if known."""
        return self.language_code

    @property
    def speakers(self) -> list[str]:
        """Distinct speaker labels found in utterances and words, sorted; empty without them.

        Computed on each access (it walks every word), so keep the result if you need it often.
        """
        found: set[str] = set()
        for utterance in self.utterances or ():
            if utterance.speaker is not None:
                found.add(utterance.speaker)
        for word in self.words or ():
            if word.speaker is not None:
                found.add(word.speaker)
        return sorted(found)

    # --- computed locally from the words (AssemblyAI's SDK names) --------------------------------
    #
    # These need no transcriber: they run speechkit._core.text over ``words``, the rules the
    # local server and the AIML provider use. The transcriber's methods of the same names fetch
    # the service's own versions instead.

    def export_subtitles_srt(self, chars_per_caption: int | None = None) -> str:
        """SRT subtitles built locally from :attr:`words`, in AssemblyAI's format.

        Matches the service's output on its spec example; use
        ``transcriber.export_subtitles_srt(transcript)`` for the service's own file.

        Args:
            chars_per_caption: Maximum characters per caption, counting spaces (default 70).

        Raises:
            NotSupportedError: The transcript has no words (not completed, or a text-only model).
            InvalidInputError: ``chars_per_caption`` is not a positive integer.
        """
        from speechkit._core import text

        return text.subtitles(self, "srt", chars_per_caption)

    def export_subtitles_vtt(self, chars_per_caption: int | None = None) -> str:
        """WebVTT subtitles built locally from :attr:`words`; see :meth:`export_subtitles_srt`."""
        from speechkit._core import text

        return text.subtitles(self, "vtt", chars_per_caption)

    def get_sentences(self) -> list[Sentence]:
        """The transcript split into sentences, built locally from :attr:`words` (times in ms).

        ``transcriber.get_sentences(transcript)`` asks the service instead.

        Raises:
            NotSupportedError: The transcript has no words.
        """
        from speechkit._core import text

        return text.sentences(self).sentences

    def get_paragraphs(self) -> list[Paragraph]:
        """The transcript split into paragraphs, built locally from :attr:`words` (times in ms).

        Raises:
            NotSupportedError: The transcript has no words.
        """
        from speechkit._core import text

        return text.paragraphs(self).paragraphs

    def word_search(self, words: Sequence[str] | str) -> list[WordSearchMatch]:
        """Where each word or phrase occurs, searched locally in :attr:`words`.

        Case and punctuation are ignored; a phrase matches consecutive words. One match per
        query, in query order, with ``count``, ``timestamps`` (``[start, end]`` in ms) and
        ``indexes`` into :attr:`words`.

        Args:
            words: A word or phrase, or a list of them.

        Raises:
            NotSupportedError: The transcript has no words.
            InvalidInputError: ``words`` is not a string or a list of strings.
        """
        from speechkit._core import text
        from speechkit.errors import InvalidInputError

        queries = [words] if isinstance(words, str) else list(words)
        if not all(isinstance(q, str) for q in queries):
            raise InvalidInputError("word_search(words=...) takes a string or a list of strings.")
        return text.word_search(self, queries).matches

    # --- display -------------------------------------------------------------------------------

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Feeds repr(), str(), rich and devtools. Compact on purpose: a 3-hour transcript has
        # ~30 000 words, and a notebook or a log line must not print them.
        return _html.transcript_repr_args(self)

    def _repr_html_(self) -> str:
        """Notebook view: header, error, text, then utterances (or words) with their times.

        Tables stop after a few hundred rows with an "… N more" line, so a long transcript
        stays light; every value is HTML-escaped. Used by Jupyter, VS Code and Colab.
        """
        return _html.transcript_html(self)
