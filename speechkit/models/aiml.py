"""AIML API speech-to-text responses, and their conversion to the unified :class:`Transcript`.

The AIML API (protocols.md, section 3) answers ``POST /v1/stt/create`` with a job id and
``GET /v1/stt/{id}`` with the job's status and, once completed, a result in one of three
families, told apart by shape (protocols.md 3.4 and 5.4):

* **Deepgram-style** (``nova-*``, ``#g1_*`` and ``whisper-*`` models):
  ``{metadata, results: {channels: [{alternatives: [...]}], utterances?}}``. Times are
  **float seconds**.
* **AssemblyAI transcript** (``aai/*`` models): AssemblyAI's v2 transcript object, relayed.
  Times are **integer milliseconds**.
* **Text + usage** (``openai/gpt-4o(-mini)-transcribe``, ``microsoft/mai-transcribe-1.5``):
  ``{text, usage}``, with no word timings.

Both spellings of the GET answer are accepted: the DTO's ``{generation_id, status, result,
error}`` and ``universal-stt-fetch.json``'s ``{id, status, output, error: {name, message}}``.

Conversion to :class:`~speechkit.models.Transcript`
(:meth:`AIMLTranscriptionResponse.to_transcript`):

* every ``start``/``end`` becomes **integer milliseconds** (Deepgram seconds x 1000, rounded to
  the nearest millisecond); ``audio_duration`` stays in **seconds**;
* Deepgram's integer speakers become letters in index order: ``0 -> "A"``, ``1 -> "B"``, ...,
  ``25 -> "Z"``, ``26 -> "AA"`` (the AssemblyAI convention); channels become ``"1"``, ``"2"``,
  ... (Deepgram's 0-based index + 1), set only when the audio had several channels;
* ``status`` becomes a :class:`~speechkit.models.TranscriptStatus` (see
  :func:`transcript_status`); the raw AIML status stays on the bound response.

Every model is lenient like the rest of speechkit: unknown fields are kept, missing ones are
``None``, and the AIML schema's known mistakes (``results.channels`` typed as one object,
``alternatives[].paragraphs`` typed as a list) are accepted as well as the real shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag

from speechkit.models import _html
from speechkit.models._base import SpeechkitModel
from speechkit.models.enums import TranscriptStatus
from speechkit.models.transcript import Transcript, Utterance, Word

__all__ = [
    "AIML_COMPLETED_STATUSES",
    "AIML_FAILED_STATUSES",
    "AIML_PENDING_STATUSES",
    "AIMLErrorBody",
    "AIMLErrorDetail",
    "AIMLResultFamily",
    "AIMLTextResult",
    "AIMLTranscriptionResponse",
    "AIMLUsage",
    "AIMLUsageTokenDetails",
    "DeepgramAlternative",
    "DeepgramChannel",
    "DeepgramErrorBody",
    "DeepgramMetadata",
    "DeepgramModelInfo",
    "DeepgramParagraph",
    "DeepgramParagraphs",
    "DeepgramResponse",
    "DeepgramResults",
    "DeepgramSentence",
    "DeepgramSummary",
    "DeepgramUtterance",
    "DeepgramWord",
    "result_family",
    "speaker_label",
    "transcript_status",
]

# --- statuses ----------------------------------------------------------------------------------

#: The one status that means the result is ready.
AIML_COMPLETED_STATUSES = frozenset({"completed"})
#: Statuses that end a job without a result (the DTO's ``error``, plus the failure set seen in
#: independent clients: protocols.md 3.1).
AIML_FAILED_STATUSES = frozenset({"error", "failed", "cancelled", "canceled", "timeout"})
#: Statuses known to mean "still running". Any *other* unknown status is treated the same way,
#: because sources disagree and new ones appear (protocols.md 3.1).
AIML_PENDING_STATUSES = frozenset(
    {"waiting", "active", "queued", "generating", "processing", "pending"}
)
_QUEUED = frozenset({"waiting", "queued", "pending"})


def transcript_status(raw_status: str | None, *, has_result: bool = False) -> TranscriptStatus:
    """Map an AIML job status to :class:`TranscriptStatus`.

    ``completed`` -> ``completed``; the failure set -> ``error``; ``waiting``/``queued``/
    ``pending`` -> ``queued``; ``active``/``generating``/``processing`` and any unknown status ->
    ``processing``. A missing status means ``completed`` when a result is present and ``queued``
    otherwise (a create answer). Case and surrounding spaces are ignored.
    """
    status = (raw_status or "").strip().lower()
    if not status:
        return TranscriptStatus.completed if has_result else TranscriptStatus.queued
    if status in AIML_COMPLETED_STATUSES:
        return TranscriptStatus.completed
    if status in AIML_FAILED_STATUSES:
        return TranscriptStatus.error
    if status in _QUEUED:
        return TranscriptStatus.queued
    return TranscriptStatus.processing


def speaker_label(index: int) -> str:
    """Deepgram's speaker index as an AssemblyAI-style letter: 0 -> A, 25 -> Z, 26 -> AA."""
    label = ""
    number = index + 1
    while number > 0:
        number, rest = divmod(number - 1, 26)
        label = chr(ord("A") + rest) + label
    return label


def _ms(seconds: float) -> int:
    """Float seconds to integer milliseconds, rounded to the nearest millisecond."""
    return round(seconds * 1000)


def _as_list(value: Any) -> Any:
    # The AIML schema types ``results.channels`` (and a paragraph list) as one object; real
    # answers send lists.
    return [value] if isinstance(value, dict) else value


def _as_str(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


# --- Deepgram-style results --------------------------------------------------------------------


class DeepgramWord(SpeechkitModel):
    """One recognised word. Times are **seconds** (float) from the beginning of the audio."""

    word: str
    """The raw word, lower-case and without punctuation."""
    start: float
    """Start, in seconds."""
    end: float
    """End, in seconds."""
    confidence: float | None = None
    """0..1."""
    punctuated_word: str | None = None
    """The word with punctuation and capitals (with ``punctuate`` or ``smart_format``)."""
    speaker: int | None = None
    """Speaker index (0, 1, ...) with ``diarize``."""
    speaker_confidence: float | None = None
    """0..1, with ``diarize``."""
    language: str | None = None
    """The word's language, with multilingual models."""


class DeepgramSentence(SpeechkitModel):
    """A sentence of a Deepgram paragraph. Times are **seconds**."""

    text: str
    start: float
    """Start, in seconds."""
    end: float
    """End, in seconds."""


class DeepgramParagraph(SpeechkitModel):
    """A paragraph (``paragraphs=true``). Times are **seconds**."""

    sentences: list[DeepgramSentence] = Field(default_factory=list)
    start: float | None = None
    """Start, in seconds."""
    end: float | None = None
    """End, in seconds."""
    num_words: int | None = None
    speaker: int | None = None
    """Speaker index, with ``diarize``."""


class DeepgramParagraphs(SpeechkitModel):
    """The ``paragraphs`` object of an alternative: the text with paragraph breaks, and spans."""

    transcript: str | None = None
    """The transcript with blank lines between paragraphs."""
    paragraphs: Annotated[list[DeepgramParagraph], BeforeValidator(_as_list)] = Field(
        default_factory=list
    )
    """The paragraphs (the AIML schema's single object is accepted as a one-item list)."""


class DeepgramAlternative(SpeechkitModel):
    """One transcription hypothesis of a channel (the first is the best)."""

    transcript: str = ""
    confidence: float | None = None
    """0..1."""
    words: list[DeepgramWord] = Field(default_factory=list)
    paragraphs: DeepgramParagraphs | list[DeepgramParagraphs] | None = None
    """Real Deepgram sends one object; the AIML schema says a list. Both are accepted."""
    summaries: list[dict[str, Any]] | None = None
    topics: list[dict[str, Any]] | None = None
    languages: list[str] | None = None


class DeepgramChannel(SpeechkitModel):
    """One audio channel's alternatives."""

    alternatives: list[DeepgramAlternative] = Field(default_factory=list)
    detected_language: str | None = None
    """BCP-47 tag, with ``detect_language``."""
    language_confidence: float | None = None
    """0..1, with ``detect_language``."""
    search: list[dict[str, Any]] | None = None


class DeepgramUtterance(SpeechkitModel):
    """A speaker turn (``utterances=true``). Times are **seconds**."""

    start: float
    """Start, in seconds."""
    end: float
    """End, in seconds."""
    confidence: float | None = None
    """0..1."""
    channel: int | None = None
    """0-based channel index."""
    transcript: str = ""
    words: list[DeepgramWord] = Field(default_factory=list)
    speaker: int | None = None
    """Speaker index, with ``diarize``."""
    id: str | None = None


class DeepgramSummary(SpeechkitModel):
    """``summarize`` output."""

    result: str | None = None
    """``"success"`` when a summary was made."""
    short: str | None = None
    """The summary text."""


class DeepgramResults(SpeechkitModel):
    """The ``results`` object."""

    channels: Annotated[list[DeepgramChannel], BeforeValidator(_as_list)] = Field(
        default_factory=list
    )
    utterances: list[DeepgramUtterance] | None = None
    summary: DeepgramSummary | None = None
    topics: dict[str, Any] | None = None
    intents: dict[str, Any] | None = None
    sentiments: dict[str, Any] | None = None


class DeepgramModelInfo(SpeechkitModel):
    """One entry of ``metadata.model_info``."""

    name: str | None = None
    version: str | None = None
    arch: str | None = None


class DeepgramMetadata(SpeechkitModel):
    """Request metadata."""

    transaction_key: str | None = None
    """Deprecated; always ``"deprecated"``."""
    request_id: str | None = None
    sha256: str | None = None
    """SHA-256 of the submitted audio."""
    created: str | None = None
    """ISO 8601 time the request was made."""
    duration: float | None = None
    """Length of the audio, in seconds."""
    channels: int | None = None
    """Number of audio channels."""
    models: list[str] | None = None
    model_info: dict[str, DeepgramModelInfo] | None = None


class DeepgramResponse(SpeechkitModel):
    """A Deepgram prerecorded result, as relayed by AIML (``nova-*``, ``#g1_*``, ``whisper-*``)."""

    metadata: DeepgramMetadata | None = None
    results: DeepgramResults | None = None

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Counts and the start of the first channel's text, never the word lists.
        channels = self.results.channels if self.results else []
        best = [channel.alternatives[0] for channel in channels if channel.alternatives]
        yield "request_id", self.metadata.request_id if self.metadata else None
        if self.metadata and self.metadata.duration is not None:
            yield (
                "duration",
                _html.ReprValue(_html.format_duration(self.metadata.duration, clock=False)),
            )
        yield "channels", len(channels)
        yield "words", sum(len(alternative.words) for alternative in best)
        yield "transcript", _html.shorten(best[0].transcript if best else None)

    def to_transcript(self, transcript_id: str) -> Transcript:
        """The unified view: words in integer ms, speakers as letters, channels as ``"1"``...

        Text is the first alternative's ``transcript`` (one channel) or the words in time order
        (several channels). Utterances come from ``results.utterances`` when present, else from
        runs of the same speaker (and channel) when any word has one; otherwise ``None``.
        """
        channels = self.results.channels if self.results else []
        best = [channel.alternatives[0] for channel in channels if channel.alternatives]
        multichannel = len(channels) > 1
        words: list[Word] = []
        for index, channel in enumerate(channels):
            if channel.alternatives:
                tag = str(index + 1) if multichannel else None
                words.extend(_word(w, tag) for w in channel.alternatives[0].words)
        if multichannel:
            words.sort(key=lambda w: (w.start, w.end))
            text: str | None = " ".join(w.text for w in words)
        else:
            text = best[0].transcript if best else None
        confidences = [alt.confidence for alt in best if alt.confidence is not None]
        first = channels[0] if channels else None
        summary = self.results.summary if self.results else None
        return Transcript(
            id=transcript_id,
            status=TranscriptStatus.completed,
            text=text,
            words=words,
            utterances=self._utterances(words, multichannel),
            confidence=sum(confidences) / len(confidences) if confidences else None,
            audio_duration=self.metadata.duration if self.metadata else None,
            audio_channels=len(channels) if multichannel else None,
            multichannel=True if multichannel else None,
            language_code=first.detected_language if first else None,
            language_confidence=first.language_confidence if first else None,
            summary=summary.short if summary else None,
        )

    def _utterances(self, words: list[Word], multichannel: bool) -> list[Utterance] | None:
        served = self.results.utterances if self.results else None
        if served:
            return [
                Utterance(
                    text=u.transcript,
                    start=_ms(u.start),
                    end=_ms(u.end),
                    confidence=u.confidence,
                    speaker=None if u.speaker is None else speaker_label(u.speaker),
                    channel=str(u.channel + 1) if multichannel and u.channel is not None else None,
                    words=[
                        _word(
                            w,
                            str(u.channel + 1) if multichannel and u.channel is not None else None,
                        )
                        for w in u.words
                    ],
                )
                for u in served
            ]
        if not any(w.speaker is not None for w in words) and not multichannel:
            return None
        return _speaker_runs(words)


def _word(word: DeepgramWord, channel: str | None) -> Word:
    return Word(
        text=word.punctuated_word or word.word,
        start=_ms(word.start),
        end=_ms(word.end),
        confidence=word.confidence,
        speaker=None if word.speaker is None else speaker_label(word.speaker),
        channel=channel,
    )


def _speaker_runs(words: list[Word]) -> list[Utterance]:
    """Utterances from consecutive words with the same speaker and channel."""
    runs: list[list[Word]] = []
    for word in words:
        if runs and (runs[-1][-1].speaker, runs[-1][-1].channel) == (word.speaker, word.channel):
            runs[-1].append(word)
        else:
            runs.append([word])
    utterances = []
    for run in runs:
        confidences = [w.confidence for w in run if w.confidence is not None]
        utterances.append(
            Utterance(
                text=" ".join(w.text for w in run),
                start=run[0].start,
                end=run[-1].end,
                confidence=sum(confidences) / len(confidences) if confidences else None,
                speaker=run[0].speaker,
                channel=run[0].channel,
                words=run,
            )
        )
    return utterances


# --- text + usage results ----------------------------------------------------------------------


class AIMLUsageTokenDetails(SpeechkitModel):
    """How the input tokens split between text (the prompt) and audio."""

    text_tokens: int | None = None
    audio_tokens: int | None = None


class AIMLUsage(SpeechkitModel):
    """What a text-only model was billed: tokens (gpt-4o) or seconds and cost (mai)."""

    type: str | None = None
    """``"tokens"`` for token-billed models."""
    input_tokens: int | None = None
    input_token_details: AIMLUsageTokenDetails | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    seconds: float | None = None
    """Billed audio length, in seconds (mai-transcribe)."""
    cost: float | None = None
    """Cost of the request, in the account's currency units (mai-transcribe)."""


class AIMLTextResult(SpeechkitModel):
    """Result of the text-only models (``openai/gpt-4o*-transcribe``, ``microsoft/mai-*``)."""

    text: str | None = None
    usage: AIMLUsage | None = None

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        yield "text", _html.shorten(self.text)
        yield "usage", self.usage

    def to_transcript(self, transcript_id: str) -> Transcript:
        """Text only: ``words`` is ``None`` (these models return no word timings)."""
        seconds = self.usage.seconds if self.usage else None
        return Transcript(
            id=transcript_id,
            status=TranscriptStatus.completed,
            text=self.text,
            words=None,
            audio_duration=seconds,
        )


# --- the GET / create answer -------------------------------------------------------------------

AIMLResultFamily = Literal["deepgram", "assemblyai", "text", "other"]


def result_family(value: Any) -> AIMLResultFamily:
    """Which result family a decoded ``result``/``output`` belongs to, by its shape."""
    if isinstance(value, dict):
        if "results" in value or "metadata" in value:
            return "deepgram"
        if "id" in value and ("words" in value or "status" in value or "text" in value):
            return "assemblyai"
        if "text" in value or "usage" in value:
            return "text"
    if isinstance(value, DeepgramResponse):
        return "deepgram"
    if isinstance(value, Transcript):
        return "assemblyai"
    if isinstance(value, AIMLTextResult):
        return "text"
    return "other"


AIMLResult = Annotated[
    Annotated[DeepgramResponse, Tag("deepgram")]
    | Annotated[Transcript, Tag("assemblyai")]
    | Annotated[AIMLTextResult, Tag("text")]
    | Annotated[Any, Tag("other")],
    Discriminator(result_family),
]
"""A result of any family, parsed into its model by shape (unknown shapes stay as decoded)."""


class AIMLErrorDetail(SpeechkitModel):
    """The ``error`` object of a failed job (``universal-stt-fetch.json``)."""

    name: str | None = None
    """Error class name, e.g. ``"Error"``."""
    message: str | None = None


class AIMLTranscriptionResponse(SpeechkitModel):
    """``GET /v1/stt/{id}`` (and ``POST /v1/stt/create``) answer, in either spelling.

    ``status`` keeps the raw AIML value (``waiting``, ``active``, ``generating``, ...); the
    unified view maps it with :func:`transcript_status`.
    """

    generation_id: str | None = None
    """The job id (DTO spelling)."""
    id: str | None = None
    """The job id (``universal-stt-fetch.json`` spelling)."""
    status: Annotated[str | None, BeforeValidator(_as_str)] = None
    result: AIMLResult | None = None
    """The result, once completed (DTO spelling)."""
    output: AIMLResult | None = None
    """The result, once completed (``universal-stt-fetch.json`` spelling)."""
    error: AIMLErrorDetail | str | None = None
    """Why the job failed: a string, or ``{name, message}``."""

    @property
    def job_id(self) -> str | None:
        """``generation_id`` or ``id``, whichever the server sent."""
        return self.generation_id or self.id

    @property
    def payload(self) -> Any:
        """``result`` or ``output``, whichever the server sent (``None`` while running)."""
        return self.result if self.result is not None else self.output

    @property
    def family(self) -> AIMLResultFamily | None:
        """The result's family, or ``None`` without a result."""
        payload = self.payload
        return None if payload is None else result_family(payload)

    @property
    def error_message(self) -> str | None:
        """The server's explanation of a failure, from ``error`` in either shape."""
        if isinstance(self.error, str):
            return self.error or None
        if isinstance(self.error, AIMLErrorDetail):
            return self.error.message or self.error.name
        return None

    def to_transcript(self, transcript_id: str | None = None) -> Transcript:
        """The unified :class:`Transcript`, bound to provider ``"aiml"`` and this response.

        Args:
            transcript_id: The id asked for, used when the answer carries none.

        Raises:
            ValueError: When neither the answer nor the caller gives an id.
        """
        job_id = self.job_id or transcript_id
        if not job_id:
            raise ValueError("The AIML answer has no generation_id or id.")
        payload = self.payload
        status = transcript_status(self.status, has_result=payload is not None)
        error = self.error_message
        transcript: Transcript
        if status is not TranscriptStatus.completed or payload is None:
            transcript = Transcript(id=job_id, status=status, error=error)
        elif isinstance(payload, DeepgramResponse | AIMLTextResult):
            transcript = payload.to_transcript(job_id)
        elif isinstance(payload, Transcript):
            # The relayed AssemblyAI job may itself have failed inside a completed AIML job.
            inner = transcript_status(str(payload.status), has_result=True)
            transcript = payload.model_copy(
                update={"id": job_id, "status": inner, "error": payload.error or error}
            )
        else:
            text = payload if isinstance(payload, str) else None
            transcript = Transcript(id=job_id, status=status, text=text)
        return transcript.bind_provider("aiml", self)


# --- error bodies ------------------------------------------------------------------------------


class AIMLErrorBody(SpeechkitModel):
    """AIML's error answer ``{message, path, requestId, statusCode, timestamp}``.

    ``statusCode`` is a string in the docs' example and an integer elsewhere; both parse. The
    OpenAI-style ``{"error": {"message", "type"}}`` shape (the AIML Python SDK's tests) parses
    too: see :attr:`detail`.
    """

    message: str | None = None
    path: str | None = None
    request_id: str | None = Field(default=None, alias="requestId")
    status_code: int | str | None = Field(default=None, alias="statusCode")
    timestamp: str | None = None
    """ISO 8601 time of the error."""
    error: AIMLErrorDetail | str | None = None

    @property
    def status(self) -> int | None:
        """``statusCode`` as an integer, when it is one."""
        try:
            return None if self.status_code is None else int(self.status_code)
        except ValueError:
            return None

    @property
    def detail(self) -> str | None:
        """The human message, from either shape."""
        if self.message:
            return self.message
        if isinstance(self.error, AIMLErrorDetail):
            return self.error.message
        return self.error or None


class DeepgramErrorBody(SpeechkitModel):
    """Deepgram's error answer ``{err_code, err_msg, request_id}``."""

    err_code: str | None = None
    """E.g. ``"INVALID_AUTH"``."""
    err_msg: str | None = None
    request_id: str | None = None
