"""The AIML API's speech-to-text as a pure adapter (protocols.md, section 3).

``POST {base}/stt/create`` creates a job from a URL (JSON body) or from local audio
(``multipart/form-data`` with the file in an ``audio`` part, ``file`` for the
``openai/gpt-4o(-mini)-transcribe`` models); ``GET {base}/stt/{id}`` polls it. The base URL
ends in ``/v1`` (default ``https://api.aimlapi.com/v1``). Results are kept for one hour.

Configuration: the key comes from ``api_key=``, else ``AIML_API_KEY``, else ``AIMLAPI_API_KEY``
(sent as ``Authorization: Bearer <key>``); the base URL from ``base_url=``, else
``AIML_API_BASE``, else ``AIMLAPI_API_BASE``, else the default. A base URL without a path gets
``/v1`` appended. ``model`` is required: the AIML docs name no default.

How :class:`~speechkit.TranscriptionConfig` maps to a model's options (an option that is set
but has no equivalent for the model raises :class:`~speechkit.errors.InvalidInputError`
naming it; unset options send nothing):

| TranscriptionConfig | Deepgram-style (nova, ``#g1_*``, whisper) | gpt-4o / mai |
| --- | --- | --- |
| ``language_code`` | ``language`` (``en_us`` -> ``en-US``) | gpt-4o: ``language`` (``en``) |
| ``language_detection`` | ``detect_language`` | -- |
| ``speaker_labels`` | ``diarize`` (+ ``utterances`` if True) | -- |
| ``punctuate`` | ``punctuate`` | True accepted (always on) |
| ``format_text`` | ``smart_format`` | True accepted (always on) |
| ``disfluencies`` | ``filler_words`` | -- |
| ``filter_profanity`` | ``profanity_filter`` | -- |
| ``multichannel`` | ``multi_channel`` (nova-3: ``multichannel``) | -- |
| ``summarization`` | ``summarize="v2"`` if True | -- |
| ``keyterms_prompt`` | nova-3 only: ``keyterm`` | -- |
| ``prompt`` | -- | gpt-4o: ``prompt`` |
| ``temperature`` | -- | ``temperature`` |

Language codes become BCP 47 tags for Deepgram-style models (``en_uk`` -> ``en-GB``) and bare
languages for gpt-4o (``en_us`` -> ``en``).

For ``aai/*`` models the AssemblyAI options are sent under their own names (the subset AIML's
``aai/*`` schemas list: language, punctuation, speakers, PII redaction, audio intelligence,
``word_boost``, ``speech_threshold``, audio slicing; not webhooks or ``speech_models``, since
``model`` picks the model).

Options speechkit does not know (``TranscriptionConfig(extra_params={"smart_format": True})``)
and the provider's ``options={...}`` are sent as they are. Precedence, lowest first: the
provider's ``options``, the mapped config options, then ``extra_params``. When the model's
spec types an option (``custom_intent_mode`` is ``strict|extended``, a boolean, a range), a
wrong value raises
:class:`~speechkit.errors.InvalidInputError` naming it. In a multipart body, booleans are
sent as ``"true"``/``"false"``, lists of strings as repeated fields and objects as JSON text.

Statuses: ``completed`` finishes; ``error``, ``failed``, ``cancelled``, ``canceled`` and
``timeout`` fail the job (:class:`~speechkit.errors.TranscriptionError` with the id and the
server's message); anything else (``waiting``, ``active``, ``queued``, ``generating``,
``processing``, unknown values) keeps polling. A 404 for a job id raises
:class:`~speechkit.errors.NotFoundError` explaining the one-hour retention.

Listing, deleting, uploads, redacted audio and LeMUR are not offered by the AIML API and raise
:class:`~speechkit.errors.NotSupportedError`; subtitles, sentences, paragraphs and word search
are built locally from the words (``speechkit._core.text``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from speechkit._core.audio_input import LocalAudio, RemoteAudio
from speechkit._core.http import Body, MultipartFile, Request, Response
from speechkit._settings import resolve_base_url
from speechkit.errors import (
    APIError,
    APIStatusError,
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    NotSupportedError,
    status_error_class,
)
from speechkit.providers._aiml_options import (
    _AAI,
    _RESERVED,
    _SPECS,
    KNOWN_MODELS,
    Family,
    _check_option,
    _config_fields,
    _family_of,
    _map_deepgram,
    _map_text_model,
)
from speechkit.providers.base import JobState, Provider

if TYPE_CHECKING:
    from speechkit._core.audio_input import AudioSource
    from speechkit.config import TranscriptionConfig
    from speechkit.models import Transcript

__all__ = ["AIML_BASE_URL", "KNOWN_MODELS", "AIMLProvider"]

#: The AIML API's base URL; paths such as ``/stt/create`` are relative to it.
AIML_BASE_URL = "https://api.aimlapi.com/v1"
API_KEY_ENVS = ("AIML_API_KEY", "AIMLAPI_API_KEY")
BASE_URL_ENVS = ("AIML_API_BASE", "AIMLAPI_API_BASE")
#: How long AIML keeps a finished job's result (README of the AIML STT docs).
RETENTION = "1 hour"

# --- multipart text fields -----------------------------------------------------------------------


def _form_value(value: Any) -> str | list[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        return [str(v) for v in value]
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _check_id(transcript_id: str) -> str:
    if not isinstance(transcript_id, str) or not transcript_id.strip():
        raise InvalidInputError("transcript_id must be a non-empty string.")
    if any(ch in transcript_id for ch in "/?#"):
        raise InvalidInputError(f"transcript_id {transcript_id!r} is not a valid AIML id.")
    return transcript_id.strip()


def _models_hint() -> str:
    return ", ".join(KNOWN_MODELS)


class AIMLProvider(Provider):
    """The AIML API's ``/stt`` endpoints (Deepgram, Whisper, AssemblyAI, OpenAI and Microsoft
    models behind one key).

    Args:
        api_key: The AIML key; defaults to ``AIML_API_KEY``, then ``AIMLAPI_API_KEY``.
        base_url: The API base ending in ``/v1``; defaults to ``AIML_API_BASE``, then
            ``AIMLAPI_API_BASE``, then :data:`AIML_BASE_URL`. A URL without a path gets ``/v1``.
        model: The model id, e.g. ``"#g1_whisper-large"``, ``"nova-3"``, ``"aai/universal"``
            (see :data:`KNOWN_MODELS`; unknown ids are sent as they are).
        options: AIML options sent with every job, e.g. ``{"paragraphs": True}``; a job's
            :class:`~speechkit.TranscriptionConfig` overrides them.

    Raises:
        ConfigurationError: No key was found, or the base URL is not http(s).
        InvalidInputError: No model, or an option with a value its model's spec rejects.
    """

    name = "aiml"
    uploads_local_audio = False

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        *,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if model is None or not isinstance(model, str) or not model.strip():
            raise InvalidInputError(
                'The AIML provider needs a model: Transcriber(provider="aiml", model="...") or '
                f"AIMLProvider(model=...). Known models: {_models_hint()}."
            )
        self._api_key = _resolve_key(api_key)
        self.base_url = _resolve_base(base_url)
        self.model = model.strip()
        self.family: Family = _family_of(self.model)
        self.options: dict[str, Any] = dict(options or {})
        self._check_options(self.options)

    def __repr__(self) -> str:
        return f"AIMLProvider(base_url={self.base_url!r}, model={self.model!r})"

    def safe_repr_fields(self) -> dict[str, Any]:
        return {"name": self.name, "base_url": self.base_url, "model": self.model}

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    # -- options ---------------------------------------------------------------------------
    @property
    def file_field(self) -> str:
        """The multipart part that carries local audio: ``file`` for gpt-4o models, else
        ``audio`` (each model's create schema)."""
        return "file" if self.family == "gpt4o" else "audio"

    def _check_options(self, options: Mapping[str, Any]) -> None:
        reserved = sorted(_RESERVED & set(options))
        if reserved:
            raise InvalidInputError(
                f"AIML option(s) {', '.join(reserved)} are set by speechkit from the model and "
                "the audio you pass; remove them from the options."
            )
        spec = _SPECS[self.family] if self.model in KNOWN_MODELS else {}
        for name, value in options.items():
            if name in spec and value is not None:
                _check_option(self.model, name, value, spec[name])

    def _map_config(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        if self.family == "aai":
            unmapped = sorted(set(fields) - set(_AAI))
            if unmapped:
                raise InvalidInputError(
                    f"TranscriptionConfig option(s) {', '.join(unmapped)} are not accepted by "
                    f"AIML model {self.model!r}, which takes: {', '.join(_AAI)}."
                    + self._model_choice_hint(unmapped)
                )
            return dict(fields)
        mapper = _map_deepgram if self.family in ("deepgram", "nova3") else _map_text_model
        params: dict[str, Any] = {}
        unmapped = []
        for field, value in fields.items():
            wire = mapper(field, value, self.family)
            if wire is None:
                unmapped.append(field)
            else:
                params.update(wire)
        if unmapped:
            raise InvalidInputError(
                f"TranscriptionConfig option(s) {', '.join(unmapped)} have no equivalent on "
                f"AIML model {self.model!r}; remove them, or pass the model's own options "
                "(TranscriptionConfig(extra_params={...}) or AIMLProvider(options=...))."
                + self._model_choice_hint(unmapped)
            )
        return params

    @staticmethod
    def _model_choice_hint(fields: Sequence[str]) -> str:
        if {"speech_model", "speech_models"} & set(fields):
            return " The AIML model is chosen with model=..., not speech_models."
        return ""

    def request_params(self, config: TranscriptionConfig | None) -> dict[str, Any]:
        """The AIML options a job with ``config`` sends (besides ``model`` and the audio).

        Order of precedence, lowest first: the provider's ``options``, the mapped
        TranscriptionConfig fields, then the config's ``extra_params``.
        A ``None`` from ``extra_params`` is sent as JSON ``null`` (as for AssemblyAI) and left
        out of a multipart body.

        Raises:
            InvalidInputError: A set option that the model cannot take, or a value its spec
                rejects.
        """
        params = dict(self.options)
        if config is not None:
            fields, extras = _config_fields(config)
            params.update(self._map_config(fields))
            params.update(extras)
        self._check_options(params)
        return params

    # -- create, then poll -----------------------------------------------------------------
    def build_upload(self, body: Body) -> Request:
        raise NotSupportedError(
            "The AIML API has no upload endpoint: pass the local file (path, bytes or file "
            "object) to transcribe() or submit(), which send it in the create request."
        )

    def build_create(self, audio: AudioSource, config: TranscriptionConfig | None) -> Request:
        params = self.request_params(config)
        if isinstance(audio, RemoteAudio):
            body = {"model": self.model, "url": audio.url, **params}
            return Request("POST", "/stt/create", json=body, creates_job=True)
        assert isinstance(audio, LocalAudio)
        form: dict[str, str | list[str]] = {"model": self.model}
        form.update(
            {name: _form_value(value) for name, value in params.items() if value is not None}
        )
        part = MultipartFile(self.file_field, audio.filename, audio.body, audio.content_type)
        # Lists are sent as repeated fields (httpx does that for list values).
        return Request(
            "POST",
            "/stt/create",
            form=form,
            files=(part,),
            creates_job=True,
        )

    def build_get(self, transcript_id: str) -> Request:
        return Request("GET", f"/stt/{quote(_check_id(transcript_id), safe='')}")

    def map_status_error(
        self, error: APIStatusError, *, transcript_id: str | None = None
    ) -> APIStatusError:
        # A 404 on a job means its result expired (AIML keeps results for one hour).
        if error.status_code == 404 and error.response is not None:
            expired = _expired(error.response, transcript_id)
            expired.request = error.request
            return expired
        return error

    def parse_transcript(
        self, response: Response, *, transcript_id: str | None = None
    ) -> Transcript:
        from speechkit.models.aiml import AIMLTranscriptionResponse

        try:
            data = response.json()
        except ValueError as err:
            raise APIError(
                f"The AIML API answered {response.status_code} with a body that is not JSON: "
                f"{response.text[:200]!r}"
            ) from err
        error = _error_in_success(response, data, transcript_id)
        if error is not None:
            raise error
        parsed = AIMLTranscriptionResponse.from_json_data(data)
        if not (parsed.job_id or transcript_id):
            raise APIError(f"The AIML API answered without a generation_id: {data!r}"[:300])
        return parsed.to_transcript(transcript_id)

    def job_state(self, transcript: Transcript) -> JobState:
        status = str(transcript.status)
        if status == "completed":
            return JobState.COMPLETED
        if status == "error":
            return JobState.FAILED
        return JobState.PENDING

    # -- what the AIML API does not offer -----------------------------------------------------
    def build_delete(self, transcript_id: str) -> Request:
        raise NotSupportedError(
            f"The AIML API cannot delete transcriptions; it removes results itself after "
            f"{RETENTION}."
        )

    def build_list(self, params: Mapping[str, Any]) -> Request:
        raise NotSupportedError(
            "The AIML API cannot list transcriptions; keep the ids that submit() returns "
            f"(results are kept for {RETENTION})."
        )

    def build_list_page(self, url: str) -> Request:
        return self.build_list({})

    def build_redacted_audio(self, transcript_id: str) -> Request:
        raise NotSupportedError("The AIML API does not serve redacted audio.")

    def build_lemur(self, method: str, path: str, body: Any = None) -> Request:
        raise NotSupportedError("LeMUR is AssemblyAI's; the AIML API does not offer it.")


def _expired(response: Response, transcript_id: str | None) -> NotFoundError:
    from speechkit._core.flow import server_message

    body = response.json_or_text()
    detail = server_message(body)
    message = (
        f"AIML has no transcription {transcript_id!r} (404"
        + (f": {detail}" if detail else "")
        + f"). AIML keeps results for {RETENTION} after they are generated, so an older id has "
        "expired; an id from another provider or API key is not found either."
    )
    return NotFoundError(
        message,
        status_code=404,
        body=body,
        request_id=response.request_id,
        response=response,
    )


def _error_in_success(
    response: Response, data: Any, transcript_id: str | None
) -> APIStatusError | None:
    """An AIML error body (``{message, statusCode, ...}``) that arrived with a 2xx status.

    Without this check such an answer would look like a job with no status, and polling would
    wait for it until the timeout.
    """
    if not isinstance(data, dict) or "statusCode" not in data:
        return None
    if any(key in data for key in ("status", "result", "output", "generation_id", "id")):
        return None
    from speechkit.models.aiml import AIMLErrorBody

    body = AIMLErrorBody.from_json_data(data)
    status = body.status or 500
    if status == 404:
        return _expired(response, transcript_id)
    return status_error_class(status)(
        f"The AIML API reported error {status}: {body.detail or 'no message'}",
        status_code=status,
        body=data,
        request_id=body.request_id or response.request_id,
        response=response,
    )


def _resolve_key(explicit: str | None) -> str:
    candidates = [explicit, *(os.environ.get(name) for name in API_KEY_ENVS)]
    for candidate in candidates:
        if candidate is not None and candidate.strip():
            return candidate.strip()
    raise ConfigurationError(
        "No AIML API key was given. Pass api_key=... (to the Transcriber or AIMLProvider), or "
        f"set the {API_KEY_ENVS[0]} (or {API_KEY_ENVS[1]}) environment variable."
    )


def _resolve_base(explicit: str | None) -> str:
    fallback = os.environ.get(BASE_URL_ENVS[1]) or AIML_BASE_URL
    url = resolve_base_url(explicit, env_var=BASE_URL_ENVS[0], default=fallback)
    if urlsplit(url).path in ("", "/"):
        url += "/v1"
    return url
