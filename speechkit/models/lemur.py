"""LeMUR: request parameters and responses (``/lemur/v3/...``).

LeMUR is deprecated: AssemblyAI replaced it with LLM Gateway (spec commit ``60e661b``,
2025-10-22) and the official SDK removed it in v1.0.0; speechkit's ``transcriber.lemur`` warns
with ``DeprecationWarning`` on each call. The HEAD spec still has the schemas; the
paths are in ``openapi-2025-10-21_with-lemur-paths``. The action-items endpoint left the spec in
2025-02 but the SDK kept calling it.

Request models (``Lemur*Params``) are validated and raise
:class:`~speechkit.errors.InvalidInputError`; ``to_request_body()`` gives the JSON to send.
Responses are lenient like every response model.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field, field_validator

from speechkit.errors import InvalidInputError
from speechkit.models import _html
from speechkit.models._base import SpeechkitModel
from speechkit.models._request import RequestModel
from speechkit.models.enums import LemurModel, OpenEnum

__all__ = [
    "DEFAULT_LEMUR_MODEL",
    "RETIRED_LEMUR_MODELS",
    "LemurActionItemsParams",
    "LemurActionItemsResponse",
    "LemurBaseParams",
    "LemurBaseResponse",
    "LemurQuestion",
    "LemurQuestionAnswer",
    "LemurQuestionAnswerParams",
    "LemurQuestionAnswerResponse",
    "LemurStringResponse",
    "LemurSummaryParams",
    "LemurSummaryResponse",
    "LemurTaskParams",
    "LemurTaskResponse",
    "LemurUsage",
    "PurgeLemurRequestDataResponse",
    "parse_lemur_response",
]

#: The ``final_model`` speechkit sends when none is chosen: the HEAD spec's first model.
DEFAULT_LEMUR_MODEL = LemurModel.claude_sonnet_4_20250514
#: ``final_model`` values the service sunset (2025-02); still sent, with a ``DeprecationWarning``.
RETIRED_LEMUR_MODELS = frozenset(
    {
        LemurModel.default,
        LemurModel.basic,
        LemurModel.mistral7b,
        LemurModel.claude2_0,
        LemurModel.claude2_1,
        LemurModel.claude_instant1_2,
        LemurModel.claude3_sonnet,
    }
)

LemurContext = str | dict[str, Any]
"""Context for the model: a string, or any JSON object."""


# --- requests ----------------------------------------------------------------------------------


class LemurBaseParams(RequestModel):
    """What every LeMUR request takes: the input, the model and its sampling.

    Give the input as ``transcript_ids`` (completed transcripts, up to 100 hours of audio in
    total) **or** as ``input_text``, not both.
    """

    transcript_ids: list[str] | None = None
    input_text: str | None = None
    """Your own formatted transcript text; at most the model's context size."""
    context: LemurContext | None = None
    final_model: OpenEnum[LemurModel] = DEFAULT_LEMUR_MODEL
    """The model for the final prompt. Always sent: the HEAD spec requires it (its documented
    ``"default"`` value was sunset in 2025-02). Defaults to :data:`DEFAULT_LEMUR_MODEL`; a
    retired model (``default``, ``basic``, Claude 2, ...) warns with ``DeprecationWarning``."""
    max_output_size: int | None = Field(default=None, gt=0)
    """Maximum answer length in tokens (server default 2000), up to the model's limit."""
    temperature: float | None = Field(default=None, ge=0, le=1)
    """0..1: higher is more creative (server default 0)."""

    @field_validator("final_model")
    @classmethod
    def _warn_on_retired_model(cls, value: LemurModel | str) -> LemurModel | str:
        if str(value) in RETIRED_LEMUR_MODELS:
            warnings.warn(
                f"final_model {str(value)!r} was retired by AssemblyAI; use a current model "
                f"such as {DEFAULT_LEMUR_MODEL.value!r}.",
                DeprecationWarning,
                stacklevel=2,
            )
        return value

    def _check_consistency(self) -> None:
        if not self.transcript_ids and self.input_text is None:
            raise InvalidInputError(
                f"Invalid {type(self).__name__}: give `transcript_ids` or `input_text`"
            )
        if self.transcript_ids and self.input_text is not None:
            raise InvalidInputError(
                f"Invalid {type(self).__name__}: give `transcript_ids` or `input_text`, not both"
            )

    def to_request_body(self) -> dict[str, Any]:
        """The JSON body: unset and ``None`` options omitted, enums as their strings."""
        self._check_consistency()
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class LemurTaskParams(LemurBaseParams):
    """``POST /lemur/v3/generate/task``: run your own prompt."""

    prompt: str

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the prompt is empty; write what the model should do")
        return value


class LemurSummaryParams(LemurBaseParams):
    """``POST /lemur/v3/generate/summary``."""

    answer_format: str | None = None
    """Free text, e.g. ``"TLDR"`` or ``"bullet points"``."""


class LemurActionItemsParams(LemurBaseParams):
    """``POST /lemur/v3/generate/action-items``."""

    answer_format: str | None = None
    """Free text; the server's default is ``"Bullet Points"``."""


class LemurQuestion(SpeechkitModel):
    """One question for the question-answer endpoint.

    The spec says ``answer_format`` and ``answer_options`` cannot be combined, yet its own
    example combines them, so speechkit lets the server decide.
    """

    question: str
    context: LemurContext | None = None
    answer_format: str | None = None
    """Free text, e.g. ``"short sentence"``."""
    answer_options: list[str] | None = None
    """Allowed answers, e.g. ``["Yes", "No"]``."""


class LemurQuestionAnswerParams(LemurBaseParams):
    """``POST /lemur/v3/generate/question-answer``."""

    questions: list[LemurQuestion]

    @field_validator("questions")
    @classmethod
    def _has_questions(cls, value: list[LemurQuestion]) -> list[LemurQuestion]:
        if not value:
            raise ValueError("ask at least one question")
        if any(not question.question.strip() for question in value):
            raise ValueError("a question is empty")
        return value


# --- responses ---------------------------------------------------------------------------------


class LemurUsage(SpeechkitModel):
    """Tokens a LeMUR request used."""

    input_tokens: int | None = None
    output_tokens: int | None = None


class LemurBaseResponse(SpeechkitModel):
    """What every LeMUR answer carries."""

    request_id: str
    """Id of the LeMUR request: fetch it again with ``GET /lemur/v3/{request_id}``, purge it with
    ``DELETE``."""
    usage: LemurUsage | None = None

    def _repr_html_(self) -> str:
        """Notebook view: request id, tokens used, then the answer (or questions and answers)."""
        return _html.lemur_html(self)


class LemurStringResponse(LemurBaseResponse):
    """A LeMUR answer that is text (task, summary, action items)."""

    response: str

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # The answer can run to thousands of tokens: show its start.
        yield "request_id", self.request_id
        yield "usage", self.usage
        yield "response", _html.shorten(self.response, 60)


class LemurTaskResponse(LemurStringResponse):
    """Answer of the task endpoint."""


class LemurSummaryResponse(LemurStringResponse):
    """Answer of the summary endpoint."""


class LemurActionItemsResponse(LemurStringResponse):
    """Answer of the action-items endpoint."""


class LemurQuestionAnswer(SpeechkitModel):
    """One question and LeMUR's answer."""

    question: str
    answer: str


class LemurQuestionAnswerResponse(LemurBaseResponse):
    """Answer of the question-answer endpoint: one answer per question, in order."""

    response: list[LemurQuestionAnswer] = Field(default_factory=list)

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        yield "request_id", self.request_id
        yield "usage", self.usage
        yield "answers", len(self.response)


class PurgeLemurRequestDataResponse(SpeechkitModel):
    """Result of ``DELETE /lemur/v3/{request_id}``."""

    request_id: str
    """Id of this deletion request."""
    request_id_to_purge: str | None = None
    deleted: bool | None = None


def parse_lemur_response(data: Any) -> LemurStringResponse | LemurQuestionAnswerResponse:
    """Parse the answer of ``GET /lemur/v3/{request_id}``, which is either kind.

    A list in ``response`` means question-answer, as in the official SDK; anything else is
    parsed as a text answer. The JSON stays reachable through ``.raw``.
    """
    if isinstance(data, Mapping) and isinstance(data.get("response"), list):
        return LemurQuestionAnswerResponse.from_json_data(data)
    return LemurStringResponse.from_json_data(data)
