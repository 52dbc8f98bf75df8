"""TranscriptionConfig: the options of a pre-recorded transcription, AssemblyAI-shaped.

Field names and meanings follow AssemblyAI's ``TranscriptOptionalParams`` (spec HEAD) plus the
options dropped from newer specs that older servers still accept (``word_boost``,
``boost_param``, ``dual_channel``). Every option defaults to ``None``, meaning "not sent: the
server's default applies".

Validation, all raising :class:`~speechkit.errors.InvalidInputError` (never pydantic's error):

- on construction and on every assignment, each option's type and range;
- on construction, in the ``set_*`` helpers and in :meth:`TranscriptionConfig.to_request_params`,
  the rules that tie options together (for example ``speakers_expected`` needs
  ``speaker_labels``). Single assignments skip these so options can be set in any order.

Example::

    config = TranscriptionConfig(speech_models=["universal-3-pro", "universal-2"])
    config.speaker_labels = True
    config.set_redact_pii(policies=[PIIPolicy.person_name]).set_webhook("https://x.test/hook")
    body = {"audio_url": url, **config.to_request_params()}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self

from pydantic import Field, field_validator

from speechkit.errors import InvalidInputError
from speechkit.models._request import RequestModel
from speechkit.models.enums import (
    BoostParam,
    LanguageCode,
    OpenEnum,
    PIIPolicy,
    RedactPiiAudioQuality,
    SpeechModel,
    SubstitutionPolicy,
    SummaryModel,
    SummaryType,
)
from speechkit.models.transcript import (
    CustomSpelling,
    LanguageDetectionOptions,
    RedactPiiAudioOptions,
    SpeakerOptions,
    SpeechUnderstanding,
)

__all__ = ["TranscriptionConfig"]

_SECRET = "webhook_auth_header_value"


class TranscriptionConfig(RequestModel):
    """Options for a pre-recorded transcription (the JSON body of ``POST /v2/transcript``).

    Unknown options are kept and sent as they are: ``TranscriptionConfig(new_option=1)`` or
    ``config.new_option = 1``. :attr:`extra_params` is merged into the body last, unvalidated,
    so it can also override a known option (for example to send an explicit ``null``).

    The webhook auth header value is a secret: it never appears in ``repr()``/``str()`` or in
    error messages. It is part of :meth:`to_request_params` and ``model_dump()``.
    """

    _secret_options: ClassVar[frozenset[str]] = frozenset({_SECRET})

    # Model, language and prompting.
    speech_models: list[OpenEnum[SpeechModel]] | None = None
    """Models in priority order; the server routes to the first suitable one. Required by the
    HEAD spec; older servers do not know it and use ``speech_model``."""
    speech_model: OpenEnum[SpeechModel] | None = None
    """Deprecated single model, replaced by ``speech_models``."""
    language_code: OpenEnum[LanguageCode] | None = None
    """Language of the audio (server default ``en_us``); any string is accepted."""
    language_codes: list[OpenEnum[LanguageCode]] | None = None
    """Languages for code switching; the spec says one of them must be ``en``."""
    language_detection: bool | None = None
    language_detection_options: LanguageDetectionOptions | None = None
    language_confidence_threshold: float | None = Field(default=None, ge=0, le=1)
    """0..1: fail the job when the detected language's confidence is below it."""
    prompt: str | None = None
    """Up to 1,500 words of context (Universal-3 Pro only)."""
    keyterms_prompt: list[str] | None = None
    """Up to 200 (Universal-2) or 1000 (Universal-3 Pro) words or phrases of at most 6 words."""
    temperature: float | None = Field(default=None, ge=0, le=1)
    """0..1 randomness of the model (Universal-3 Pro only)."""
    word_boost: list[str] | None = None
    """Custom vocabulary for older models; replaced by ``keyterms_prompt``."""
    boost_param: OpenEnum[BoostParam] | None = None
    """How strongly to favour ``word_boost`` words."""
    custom_spelling: list[CustomSpelling] | None = None
    """Replacements; see :meth:`set_custom_spelling`."""
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
    audio_start_from: int | None = Field(default=None, ge=0)
    """Where to start transcribing, in milliseconds from the beginning of the audio."""
    audio_end_at: int | None = Field(default=None, gt=0)
    """Where to stop transcribing, in milliseconds from the beginning of the audio."""
    speech_threshold: float | None = Field(default=None, ge=0, le=1)
    """0..1: reject files with a smaller fraction of speech."""

    # Speakers.
    speaker_labels: bool | None = None
    speakers_expected: int | None = Field(default=None, ge=1)
    """Exact number of speakers; needs ``speaker_labels``."""
    speaker_options: SpeakerOptions | None = None
    """A range of speaker counts; needs ``speaker_labels``."""

    # Webhook.
    webhook_url: str | None = None
    webhook_auth_header_name: str | None = None
    webhook_auth_header_value: str | None = Field(default=None, repr=False)
    """Secret header value AssemblyAI sends with the webhook; never shown in repr or errors."""

    # PII redaction.
    redact_pii: bool | None = None
    redact_pii_policies: list[OpenEnum[PIIPolicy]] | None = None
    redact_pii_sub: OpenEnum[SubstitutionPolicy] | None = None
    """Replacement for redacted PII (server default ``hash``)."""
    redact_pii_audio: bool | None = None
    """Also produce a copy of the audio with the PII beeped out."""
    redact_pii_audio_quality: OpenEnum[RedactPiiAudioQuality] | None = None
    redact_pii_audio_options: RedactPiiAudioOptions | None = None

    # Audio intelligence.
    auto_highlights: bool | None = None
    content_safety: bool | None = None
    content_safety_confidence: int | None = Field(default=None, ge=25, le=100)
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

    extra_params: dict[str, Any] = Field(default_factory=dict)
    """Sent as they are, after (and over) every other option. Not validated."""

    # --- checks ------------------------------------------------------------------------------

    @field_validator("custom_spelling")
    @classmethod
    def _spelling_has_words(cls, value: list[CustomSpelling] | None) -> list[CustomSpelling] | None:
        for entry in value or ():
            if not entry.from_ or not all(word.strip() for word in entry.from_):
                raise ValueError(
                    f"the entry for {entry.to!r} needs at least one non-empty word in `from`"
                )
        return value

    def _check_consistency(self) -> None:
        problems = list(self._inconsistencies())
        if problems:
            raise InvalidInputError("Invalid TranscriptionConfig: " + "; ".join(problems))

    def _inconsistencies(self) -> Iterable[str]:
        # Each rule follows the spec's description of the options involved. Not a rule:
        # language_code with language_detection=True (the spec's own example sends both).
        if self.speakers_expected is not None and not self.speaker_labels:
            yield "`speakers_expected` needs `speaker_labels=True` (or set_speaker_detection())"
        if self.speaker_options is not None:
            if not self.speaker_labels:
                yield "`speaker_options` needs `speaker_labels=True`"
            low = self.speaker_options.min_speakers_expected
            high = self.speaker_options.max_speakers_expected
            if (low is not None and low < 1) or (high is not None and high < 1):
                yield "`speaker_options` speaker counts must be at least 1"
            elif low is not None and high is not None and low > high:
                yield "`speaker_options.min_speakers_expected` exceeds `max_speakers_expected`"
        if self.redact_pii and not self.redact_pii_policies:
            yield "`redact_pii=True` needs at least one policy in `redact_pii_policies`"
        for option in ("redact_pii_policies", "redact_pii_sub", "redact_pii_audio"):
            if getattr(self, option) and not self.redact_pii:
                yield f"`{option}` needs `redact_pii=True` (or use set_redact_pii())"
        for option in ("redact_pii_audio_quality", "redact_pii_audio_options"):
            if getattr(self, option) is not None and not self.redact_pii_audio:
                yield f"`{option}` needs `redact_pii_audio=True`"
        start, end = self.audio_start_from, self.audio_end_at
        if start is not None and end is not None and end <= start:
            yield f"`audio_end_at` ({end} ms) must be after `audio_start_from` ({start} ms)"
        has_name = self.webhook_auth_header_name is not None
        if has_name != (self.webhook_auth_header_value is not None):
            yield "set `webhook_auth_header_name` and `webhook_auth_header_value` together"
        elif has_name and not self.webhook_url:
            yield "a webhook auth header needs `webhook_url`"
        for option in ("summary_model", "summary_type"):
            if getattr(self, option) is not None and not self.summarization:
                yield f"`{option}` needs `summarization=True` (or use set_summarize())"
        if self.content_safety_confidence is not None and not self.content_safety:
            yield "`content_safety_confidence` needs `content_safety=True`"
        options = self.language_detection_options
        if options is not None:
            if not self.language_detection:
                yield "`language_detection_options` needs `language_detection=True`"
            threshold = options.code_switching_confidence_threshold
            if threshold is not None and not 0 <= threshold <= 1:
                yield "`language_detection_options.code_switching_confidence_threshold` is 0..1"

    def validate_options(self) -> Self:
        """Check the rules that tie options together; raise ``InvalidInputError`` if one fails.

        Runs on construction, in the ``set_*`` helpers and in :meth:`to_request_params`; call
        it yourself after a series of assignments to fail early.
        """
        self._check_consistency()
        return self

    # --- output ------------------------------------------------------------------------------

    @property
    def extra_options(self) -> dict[str, Any]:
        """Options speechkit does not know, passed as keyword arguments or set as attributes."""
        return dict(self.model_extra or {})

    def to_request_params(self) -> dict[str, Any]:
        """The JSON body fields for these options, after :meth:`validate_options`.

        Unset and ``None`` options are omitted (the server default applies), enums become their
        strings, wire names are used (``custom_spelling[].from``), unknown options are included,
        and :attr:`extra_params` is merged last. Includes the webhook secret when set.
        """
        self._check_consistency()
        body = self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"extra_params"}
        )
        body.update(self.extra_params)
        return body

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Only the options that will be sent, and never the webhook secret (the field is
        # repr=False; this also masks it inside extra_params and unknown options).
        for name, value in super().__repr_args__():
            if value is None or name == _SECRET or (name == "extra_params" and not value):
                continue
            if isinstance(value, dict) and _SECRET in value:
                value = {**value, _SECRET: "***"}
            yield name, value

    # --- helpers (each validates the result as a whole and returns self) ---------------------

    def _update(self, **changes: Any) -> Self:
        merged = {**dict(self), **changes}
        checked = type(self)(**merged)  # validates fields and consistency, or raises
        for name in changes:
            setattr(self, name, getattr(checked, name))
        return self

    def set_custom_spelling(
        self, replacements: Mapping[str, str | Sequence[str]] | None, override: bool = True
    ) -> Self:
        """Spell words the way you want, like the official SDK.

        Args:
            replacements: Maps the spelling to use (``to``) to the word or words to replace
                (``from``): ``{"Decarlo": ["dicarlo", "de carlo"], "SQL": "sequel"}``.
                ``None`` removes every replacement.
            override: Replace the existing list (default) instead of appending to it.
        """
        if replacements is None:
            return self._update(custom_spelling=None)
        entries = [] if override or self.custom_spelling is None else list(self.custom_spelling)
        for to, words in replacements.items():
            from_ = [words] if isinstance(words, str) else list(words)
            entries.append(CustomSpelling(from_=from_, to=to))
        return self._update(custom_spelling=entries)

    def set_redact_pii(
        self,
        enable: bool = True,
        policies: Sequence[PIIPolicy | str] | None = None,
        substitution: SubstitutionPolicy | str | None = None,
        audio: bool | None = None,
        audio_quality: RedactPiiAudioQuality | str | None = None,
    ) -> Self:
        """Turn PII redaction on (with at least one policy, given now or earlier) or off.

        Disabling clears every ``redact_pii*`` option. ``audio=True`` also produces a redacted
        copy of the audio, in ``audio_quality`` (``mp3`` by default on the server).
        """
        if not enable:
            return self._update(
                redact_pii=None,
                redact_pii_policies=None,
                redact_pii_sub=None,
                redact_pii_audio=None,
                redact_pii_audio_quality=None,
                redact_pii_audio_options=None,
            )
        changes: dict[str, Any] = {"redact_pii": True}
        if policies is not None:
            changes["redact_pii_policies"] = list(policies)
        if substitution is not None:
            changes["redact_pii_sub"] = substitution
        if audio is not None:
            changes["redact_pii_audio"] = audio or None
            if not audio:
                changes["redact_pii_audio_quality"] = changes["redact_pii_audio_options"] = None
        if audio_quality is not None:
            changes["redact_pii_audio_quality"] = audio_quality
        return self._update(**changes)

    def set_speaker_detection(
        self,
        enable: bool = True,
        expected: int | None = None,
        *,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> Self:
        """Turn diarization on, optionally with an exact count or a range of speakers.

        Replaces any earlier count or range. Disabling clears them too.
        """
        if not enable:
            return self._update(speaker_labels=None, speakers_expected=None, speaker_options=None)
        options = None
        if min_speakers is not None or max_speakers is not None:
            options = SpeakerOptions(
                min_speakers_expected=min_speakers, max_speakers_expected=max_speakers
            )
        return self._update(
            speaker_labels=True, speakers_expected=expected, speaker_options=options
        )

    def set_webhook(
        self,
        url: str | None,
        auth_header_name: str | None = None,
        auth_header_value: str | None = None,
    ) -> Self:
        """Ask for a webhook call when the job completes or fails; ``None`` removes it.

        The auth header name and value go together; the value is kept secret.
        """
        if url is None:
            auth_header_name = auth_header_value = None
        return self._update(
            webhook_url=url,
            webhook_auth_header_name=auth_header_name,
            webhook_auth_header_value=auth_header_value,
        )

    def set_audio_slice(self, start: int | None = None, end: int | None = None) -> Self:
        """Transcribe only part of the audio: from ``start`` to ``end``, in milliseconds."""
        return self._update(audio_start_from=start, audio_end_at=end)

    def set_summarize(
        self,
        enable: bool = True,
        model: SummaryModel | str | None = None,
        type: SummaryType | str | None = None,
    ) -> Self:
        """Turn (deprecated) summarization on with an optional model and type, or off."""
        if not enable:
            return self._update(summarization=None, summary_model=None, summary_type=None)
        return self._update(summarization=True, summary_model=model, summary_type=type)

    def set_word_boost(self, words: Sequence[str], boost: BoostParam | str | None = None) -> Self:
        """Favour these words (older models; prefer ``keyterms_prompt``). Empty clears them."""
        if not words:
            return self._update(word_boost=None, boost_param=None)
        return self._update(word_boost=list(words), boost_param=boost)

    def set_content_safety(self, enable: bool = True, threshold: int | None = None) -> Self:
        """Turn content moderation on, with an optional threshold in percent (25..100), or off.

        Replaces any earlier threshold.
        """
        if not enable:
            return self._update(content_safety=None, content_safety_confidence=None)
        return self._update(content_safety=True, content_safety_confidence=threshold)
