"""LeMUR: task, summary, question-answer and action items over transcripts or your own text.

Reached as ``transcriber.lemur`` (or ``async_transcriber.lemur``), so it always uses that
transcriber's provider, key and connections. LeMUR is deprecated by AssemblyAI in favour of LLM
Gateway (its successor); it is kept for accounts and servers that still offer it, and every
request warns with ``DeprecationWarning``. Bodies always carry ``final_model`` (the HEAD spec
requires it; default :data:`speechkit.models.lemur.DEFAULT_LEMUR_MODEL`). The local server
answers it with a deterministic extractive stand-in, not a language model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from speechkit._client_base import transcript_id_of
from speechkit._core.flow import Flow
from speechkit.errors import InvalidInputError
from speechkit.models.lemur import (
    LemurActionItemsParams,
    LemurActionItemsResponse,
    LemurBaseParams,
    LemurQuestion,
    LemurQuestionAnswerParams,
    LemurQuestionAnswerResponse,
    LemurStringResponse,
    LemurSummaryParams,
    LemurSummaryResponse,
    LemurTaskParams,
    LemurTaskResponse,
    PurgeLemurRequestDataResponse,
    parse_lemur_response,
)

if TYPE_CHECKING:
    from speechkit._client_base import TranscriberBase
    from speechkit._http import AsyncShell, SyncShell
    from speechkit.models import Transcript

__all__ = ["AsyncLemur", "Lemur"]

T = TypeVar("T")
Parsed = tuple[Flow[Any], Callable[[Any], Any]]


def _common(
    transcript_ids: Sequence[Transcript | str] | None,
    input_text: str | None,
    context: str | dict[str, Any] | None,
    final_model: str | None,
    max_output_size: int | None,
    temperature: float | None,
) -> dict[str, Any]:
    if isinstance(transcript_ids, str):
        raise InvalidInputError("transcript_ids must be a list of ids, not one string.")
    options: dict[str, Any] = {
        "transcript_ids": None
        if transcript_ids is None
        else [transcript_id_of(t) for t in transcript_ids],
        "input_text": input_text,
        "context": context,
        "max_output_size": max_output_size,
        "temperature": temperature,
    }
    if final_model is not None:
        options["final_model"] = final_model
    return {k: v for k, v in options.items() if v is not None}


LLM_GATEWAY_DOCS = "https://www.assemblyai.com/docs/llm-gateway/overview"


def _deprecated(*, stacklevel: int) -> None:
    """Warn that LeMUR is deprecated; ``stacklevel`` counts from this function's caller."""
    warnings.warn(
        "LeMUR is deprecated by AssemblyAI: its successor is LLM Gateway "
        f"({LLM_GATEWAY_DOCS}). speechkit keeps LeMUR for accounts and servers that still "
        "offer it.",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )


class _LemurBase:
    """Builds each LeMUR call once; the sync and async facades only run it."""

    def __init__(self, owner: TranscriberBase) -> None:
        self._owner = owner

    def _call(self, path: str, params: LemurBaseParams, parse: Callable[[Any], T]) -> Parsed:
        _deprecated(stacklevel=4)  # the user's line: above task(), _task() and _call()
        flow = self._owner._lemur_flow("POST", path, params.to_request_body())
        return flow, parse

    def _task(self, prompt: str, **common: Any) -> Parsed:
        params = LemurTaskParams(prompt=prompt, **_common(**common))
        return self._call("/lemur/v3/generate/task", params, LemurTaskResponse.from_json_data)

    def _summarize(self, answer_format: str | None, **common: Any) -> Parsed:
        params = LemurSummaryParams(answer_format=answer_format, **_common(**common))
        return self._call("/lemur/v3/generate/summary", params, LemurSummaryResponse.from_json_data)

    def _question(self, questions: Sequence[LemurQuestion | str], **common: Any) -> Parsed:
        if isinstance(questions, (str, LemurQuestion)):
            questions = [questions]
        asked = [LemurQuestion(question=q) if isinstance(q, str) else q for q in questions]
        params = LemurQuestionAnswerParams(questions=asked, **_common(**common))
        return self._call(
            "/lemur/v3/generate/question-answer",
            params,
            LemurQuestionAnswerResponse.from_json_data,
        )

    def _action_items(self, answer_format: str | None, **common: Any) -> Parsed:
        params = LemurActionItemsParams(answer_format=answer_format, **_common(**common))
        return self._call(
            "/lemur/v3/generate/action-items", params, LemurActionItemsResponse.from_json_data
        )

    def _request_id(self, request_id: str, method: str) -> Parsed:
        if not isinstance(request_id, str) or not request_id.strip() or "/" in request_id:
            raise InvalidInputError("request_id must be the id of a previous LeMUR request.")
        parse: Callable[[Any], Any] = (
            parse_lemur_response
            if method == "GET"
            else PurgeLemurRequestDataResponse.from_json_data
        )
        return self._owner._lemur_flow(method, f"/lemur/v3/{request_id.strip()}"), parse


class Lemur(_LemurBase):
    """Blocking LeMUR calls. Each takes the transcripts (``transcript_ids``: Transcripts or ids)
    or ``input_text``, plus ``context``, ``final_model``, ``max_output_size`` and
    ``temperature`` (0..1)."""

    def __init__(self, shell: SyncShell, owner: TranscriberBase) -> None:
        super().__init__(owner)
        self._shell = shell

    def _run(self, prepared: Parsed) -> Any:
        flow, parse = prepared
        return parse(self._shell.run(flow))

    def task(
        self,
        prompt: str,
        *,
        transcript_ids: Sequence[Transcript | str] | None = None,
        input_text: str | None = None,
        context: str | dict[str, Any] | None = None,
        final_model: str | None = None,
        max_output_size: int | None = None,
        temperature: float | None = None,
    ) -> LemurTaskResponse:
        """Run your own ``prompt`` over the transcripts or text."""
        result: LemurTaskResponse = self._run(
            self._task(
                prompt,
                transcript_ids=transcript_ids,
                input_text=input_text,
                context=context,
                final_model=final_model,
                max_output_size=max_output_size,
                temperature=temperature,
            )
        )
        return result

    def summarize(
        self,
        *,
        transcript_ids: Sequence[Transcript | str] | None = None,
        input_text: str | None = None,
        answer_format: str | None = None,
        context: str | dict[str, Any] | None = None,
        final_model: str | None = None,
        max_output_size: int | None = None,
        temperature: float | None = None,
    ) -> LemurSummaryResponse:
        """Summarize the transcripts or text (``answer_format`` such as ``"TLDR"``)."""
        result: LemurSummaryResponse = self._run(
            self._summarize(
                answer_format,
                transcript_ids=transcript_ids,
                input_text=input_text,
                context=context,
                final_model=final_model,
                max_output_size=max_output_size,
                temperature=temperature,
            )
        )
        return result

    def question(
        self,
        questions: Sequence[LemurQuestion | str] | LemurQuestion | str,
        *,
        transcript_ids: Sequence[Transcript | str] | None = None,
        input_text: str | None = None,
        context: str | dict[str, Any] | None = None,
        final_model: str | None = None,
        max_output_size: int | None = None,
        temperature: float | None = None,
    ) -> LemurQuestionAnswerResponse:
        """Answer one or more questions (strings or :class:`LemurQuestion`)."""
        result: LemurQuestionAnswerResponse = self._run(
            self._question(
                questions,  # type: ignore[arg-type]
                transcript_ids=transcript_ids,
                input_text=input_text,
                context=context,
                final_model=final_model,
                max_output_size=max_output_size,
                temperature=temperature,
            )
        )
        return result

    def action_items(
        self,
        *,
        transcript_ids: Sequence[Transcript | str] | None = None,
        input_text: str | None = None,
        answer_format: str | None = None,
        context: str | dict[str, Any] | None = None,
        final_model: str | None = None,
        max_output_size: int | None = None,
        temperature: float | None = None,
    ) -> LemurActionItemsResponse:
        """List the action items in the transcripts or text."""
        result: LemurActionItemsResponse = self._run(
            self._action_items(
                answer_format,
                transcript_ids=transcript_ids,
                input_text=input_text,
                context=context,
                final_model=final_model,
                max_output_size=max_output_size,
                temperature=temperature,
            )
        )
        return result

    def get_response(self, request_id: str) -> LemurStringResponse | LemurQuestionAnswerResponse:
        """Fetch a previous LeMUR response by its ``request_id``."""
        result: LemurStringResponse | LemurQuestionAnswerResponse = self._run(
            self._request_id(request_id, "GET")
        )
        return result

    def purge_request_data(self, request_id: str) -> PurgeLemurRequestDataResponse:
        """Delete the data of a previous LeMUR request."""
        result: PurgeLemurRequestDataResponse = self._run(self._request_id(request_id, "DELETE"))
        return result


class AsyncLemur(_LemurBase):
    """The asyncio form of :class:`Lemur`: the same methods, awaited."""

    def __init__(self, shell: AsyncShell, owner: TranscriberBase) -> None:
        super().__init__(owner)
        self._shell = shell

    async def _run(self, prepared: Parsed) -> Any:
        flow, parse = prepared
        return parse(await self._shell.run(flow))

    async def task(
        self,
        prompt: str,
        *,
        transcript_ids: Sequence[Transcript | str] | None = None,
        input_text: str | None = None,
        context: str | dict[str, Any] | None = None,
        final_model: str | None = None,
        max_output_size: int | None = None,
        temperature: float | None = None,
    ) -> LemurTaskResponse:
        """Run your own ``prompt`` over the transcripts or text."""
        result: LemurTaskResponse = await self._run(
            self._task(
                prompt,
                transcript_ids=transcript_ids,
                input_text=input_text,
                context=context,
                final_model=final_model,
                max_output_size=max_output_size,
                temperature=temperature,
            )
        )
        return result

    async def summarize(
        self,
        *,
        transcript_ids: Sequence[Transcript | str] | None = None,
        input_text: str | None = None,
        answer_format: str | None = None,
        context: str | dict[str, Any] | None = None,
        final_model: str | None = None,
        max_output_size: int | None = None,
        temperature: float | None = None,
    ) -> LemurSummaryResponse:
        """Summarize the transcripts or text."""
        result: LemurSummaryResponse = await self._run(
            self._summarize(
                answer_format,
                transcript_ids=transcript_ids,
                input_text=input_text,
                context=context,
                final_model=final_model,
                max_output_size=max_output_size,
                temperature=temperature,
            )
        )
        return result

    async def question(
        self,
        questions: Sequence[LemurQuestion | str] | LemurQuestion | str,
        *,
        transcript_ids: Sequence[Transcript | str] | None = None,
        input_text: str | None = None,
        context: str | dict[str, Any] | None = None,
        final_model: str | None = None,
        max_output_size: int | None = None,
        temperature: float | None = None,
    ) -> LemurQuestionAnswerResponse:
        """Answer one or more questions."""
        result: LemurQuestionAnswerResponse = await self._run(
            self._question(
                questions,  # type: ignore[arg-type]
                transcript_ids=transcript_ids,
                input_text=input_text,
                context=context,
                final_model=final_model,
                max_output_size=max_output_size,
                temperature=temperature,
            )
        )
        return result

    async def action_items(
        self,
        *,
        transcript_ids: Sequence[Transcript | str] | None = None,
        input_text: str | None = None,
        answer_format: str | None = None,
        context: str | dict[str, Any] | None = None,
        final_model: str | None = None,
        max_output_size: int | None = None,
        temperature: float | None = None,
    ) -> LemurActionItemsResponse:
        """List the action items in the transcripts or text."""
        result: LemurActionItemsResponse = await self._run(
            self._action_items(
                answer_format,
                transcript_ids=transcript_ids,
                input_text=input_text,
                context=context,
                final_model=final_model,
                max_output_size=max_output_size,
                temperature=temperature,
            )
        )
        return result

    async def get_response(
        self, request_id: str
    ) -> LemurStringResponse | LemurQuestionAnswerResponse:
        """Fetch a previous LeMUR response by its ``request_id``."""
        result: LemurStringResponse | LemurQuestionAnswerResponse = await self._run(
            self._request_id(request_id, "GET")
        )
        return result

    async def purge_request_data(self, request_id: str) -> PurgeLemurRequestDataResponse:
        """Delete the data of a previous LeMUR request."""
        result: PurgeLemurRequestDataResponse = await self._run(
            self._request_id(request_id, "DELETE")
        )
        return result
