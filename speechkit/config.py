"""TranscriptionConfig: the options of a pre-recorded transcription, AssemblyAI-shaped.

The options, their ranges and allowed values, their deprecations and the rules that tie them
together come from one table, ``speechkit._core.options.batch`` (held against AssemblyAI's HEAD
spec by a test), which also drives the CLI flags, the docs table and the local server's checks.
The typed attributes are declared once, on
:class:`~speechkit.models.transcript.TranscriptOptionFields`, shared with the transcript's echo.
Every option defaults to ``None``, meaning "not sent: the server's default applies".

Validation, all raising :class:`~speechkit.errors.InvalidInputError` (never pydantic's error),
before anything is uploaded or sent:

- on construction and on every assignment: the option's name (an unknown one gets "did you
  mean"), its type, its range and its allowed values (language codes, PII policies, models...);
- on construction, in the ``set_*`` helpers and in :meth:`TranscriptionConfig.to_request_params`,
  the rules that tie options together (for example ``speakers_expected`` needs
  ``speaker_labels``). Single assignments skip these so options can be set in any order.

A deprecated option or a retired value (``speech_model``, ``best``, ``nano``, ...) warns with
``DeprecationWarning`` and is still sent. :attr:`~TranscriptionConfig.extra_params` is the
explicit way to send what speechkit does not know yet; it is not checked.

Example::

    config = TranscriptionConfig(speech_models=["universal-3-5-pro", "universal-2"])
    config.speaker_labels = True
    config.set_redact_pii(policies=[PIIPolicy.person_name]).set_webhook("https://x.test/hook")
    body = {"audio_url": url, **config.to_request_params()}
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, ClassVar, Self

from pydantic import ConfigDict, Field, field_validator

from speechkit._core.options import batch, unknown_option_message, value_problems
from speechkit.errors import InvalidInputError
from speechkit.models._request import RequestModel
from speechkit.models.enums import (
    BoostParam,
    PIIPolicy,
    RedactPiiAudioQuality,
    SubstitutionPolicy,
    SummaryModel,
    SummaryType,
)
from speechkit.models.transcript import (
    CustomSpelling,
    SpeakerOptions,
    TranscriptOptionFields,
)

__all__ = ["TranscriptionConfig", "as_config"]

_SECRET = "webhook_auth_header_value"
#: Set while a ``set_*`` helper rebuilds the config, so only the helper's changes warn.
_QUIET: ContextVar[bool] = ContextVar("speechkit_config_quiet", default=False)
_OWN_FIELDS = frozenset({"extra_params"})


class TranscriptionConfig(RequestModel, TranscriptOptionFields):
    """Options for a pre-recorded transcription (the JSON body of ``POST /v2/transcript``).

    Each option is a typed attribute (see
    :class:`~speechkit.models.transcript.TranscriptOptionFields` for their meanings), checked
    against speechkit's option table when set. An unknown name raises
    :class:`~speechkit.errors.InvalidInputError` with the closest known one; send options
    speechkit does not know yet with :attr:`extra_params`, which is merged into the body last,
    unchecked, and can also override a known option (for example to send an explicit ``null``
    or a language code newer than speechkit).

    The webhook auth header value is a secret: it never appears in ``repr()``/``str()`` or in
    error messages. It is part of :meth:`to_request_params` and ``model_dump()``.
    """

    model_config = ConfigDict(extra="forbid")

    _secret_options: ClassVar[frozenset[str]] = frozenset({_SECRET})

    webhook_auth_header_value: str | None = Field(default=None, repr=False)
    """Secret header value AssemblyAI sends with the webhook; never shown in repr or errors."""

    extra_params: dict[str, Any] = Field(default_factory=dict)
    """Sent as they are, after (and over) every other option. Not validated."""

    # --- checks ------------------------------------------------------------------------------

    def __init__(self, /, **data: Any) -> None:
        for name in data:
            _check_name(name)
        super().__init__(**data)  # types, then _check_consistency: values and rules
        for name in self.model_fields_set:
            _warn(name, getattr(self, name), stacklevel=3)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            super().__setattr__(name, value)
            return
        _check_name(name)
        previous = getattr(self, name)
        super().__setattr__(name, value)  # the type, by pydantic
        try:
            _check_value(name, getattr(self, name))
        except InvalidInputError:
            super().__setattr__(name, previous)
            raise
        _warn(name, getattr(self, name), stacklevel=3)

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
        for name in self.model_fields_set:
            _check_value(name, getattr(self, name))
        problems = list(batch.inconsistencies(dict(self)))
        if problems:
            raise InvalidInputError("Invalid TranscriptionConfig: " + "; ".join(problems))

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
        """Options speechkit does not know that will be sent: :attr:`extra_params`' names.

        (Earlier releases kept unknown keyword arguments here; they now raise, and
        ``extra_params`` is the one way to send them.)
        """
        return {k: v for k, v in self.extra_params.items() if k not in batch.BATCH_OPTIONS}

    def to_request_params(self) -> dict[str, Any]:
        """The JSON body fields for these options, after :meth:`validate_options`.

        Unset and ``None`` options are omitted (the server default applies), enums become their
        strings, wire names are used (``custom_spelling[].from``), and :attr:`extra_params` is
        merged last. Includes the webhook secret when set. The AssemblyAI provider adds the
        default ``speech_models`` when no model is named.
        """
        self._check_consistency()
        body = self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"extra_params"}
        )
        body.update(self.extra_params)
        return body

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Only the options that will be sent, and never the webhook secret (the field is
        # repr=False; this also masks it inside extra_params).
        for name, value in super().__repr_args__():
            if value is None or name == _SECRET or (name == "extra_params" and not value):
                continue
            if isinstance(value, dict) and _SECRET in value:
                value = {**value, _SECRET: "***"}
            yield name, value

    # --- helpers (each validates the result as a whole and returns self) ---------------------

    def _update(self, **changes: Any) -> Self:
        merged = {**dict(self), **changes}
        token = _QUIET.set(True)  # warn once below, for the changes, at the caller's line
        try:
            checked = type(self)(**merged)  # validates fields and consistency, or raises
            for name in changes:
                setattr(self, name, getattr(checked, name))
        finally:
            _QUIET.reset(token)
        for name in changes:
            _warn(name, getattr(self, name), stacklevel=4)  # user -> set_* -> _update
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
        return_unredacted: bool | None = None,
    ) -> Self:
        """Turn PII redaction on (with at least one policy, given now or earlier) or off.

        Disabling clears every ``redact_pii*`` option. ``audio=True`` also produces a redacted
        copy of the audio, in ``audio_quality`` (``mp3`` by default on the server).
        ``return_unredacted=True`` also returns the unredacted text, words and utterances.
        """
        if not enable:
            return self._update(
                redact_pii=None,
                redact_pii_policies=None,
                redact_pii_sub=None,
                redact_pii_return_unredacted=None,
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
        if return_unredacted is not None:
            changes["redact_pii_return_unredacted"] = return_unredacted or None
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


def _check_name(name: str) -> None:
    if name not in batch.BATCH_OPTIONS and name not in _OWN_FIELDS:
        known = [*batch.BATCH_OPTIONS, *_OWN_FIELDS]
        raise InvalidInputError(unknown_option_message(name, known, where="TranscriptionConfig"))


def _check_value(name: str, value: Any) -> None:
    option = batch.BATCH_OPTIONS.get(name)
    if option is None or value is None:
        return
    problems = value_problems(option, value)
    if problems:
        raise InvalidInputError("Invalid TranscriptionConfig: " + " ".join(problems))


def _warn(name: str, value: Any, *, stacklevel: int) -> None:
    """Warn about a deprecated option or a retired value; ``stacklevel`` counts from the
    caller of this function (3: the user's line above ``__init__``/``__setattr__``)."""
    if _QUIET.get():
        return
    for message in batch.warnings_for(name, value):
        warnings.warn(message, DeprecationWarning, stacklevel=stacklevel)


def as_config(config: Any, *, argument: str = "config") -> TranscriptionConfig | None:
    """``config`` as a checked :class:`TranscriptionConfig`: a config, a dict of its options,
    or ``None``.

    Raises:
        InvalidInputError: Anything else, or a dict with an unknown or invalid option.
    """
    if config is None or isinstance(config, TranscriptionConfig):
        return config
    if isinstance(config, Mapping):
        bad = [key for key in config if not isinstance(key, str)]
        if bad:
            raise InvalidInputError(f"{argument}: option names must be strings, got {bad[0]!r}.")
        return TranscriptionConfig(**config)
    raise InvalidInputError(
        f"{argument} must be a speechkit.TranscriptionConfig or a dict of its options, "
        f"got {type(config).__name__}."
    )
