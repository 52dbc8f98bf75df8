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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from speechkit._client_base import transcript_id_of
from speechkit._core import lemur as core
from speechkit._core.flow import Flow
from speechkit.errors import InvalidInputError
from speechkit.models.lemur import (
    LemurActionItemsParams,
    LemurActionItemsResponse,
    LemurQuestion,
    LemurQuestionAnswerParams,
    LemurQuestionAnswerResponse,
    LemurStringResponse,
    LemurSummaryParams,
    LemurSummaryResponse,
    LemurTaskParams,
    LemurTaskResponse,
    PurgeLemurRequestDataResponse,
)

if TYPE_CHECKING:
    from speechkit._client_base import TranscriberBase
    from speechkit._http import AsyncShell, SyncShell
    from speechkit.models import Transcript

__all__ = ["AsyncLemur", "Lemur"]


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
    """Builds each LeMUR call once as a typed core flow; the sync and async facades run it."""

    def __init__(self, owner: TranscriberBase) -> None:
        self._ctx = owner._ctx
        self._provider = owner.provider

    def _task(self, prompt: str, **common: Any) -> Flow[LemurTaskResponse]:
        params = LemurTaskParams(prompt=prompt, **_common(**common))
        _deprecated(stacklevel=3)  # the user's line: above task() and _task()
        return core.task(self._ctx, self._provider, params)

    def _summarize(self, answer_format: str | None, **common: Any) -> Flow[LemurSummaryResponse]:
        params = LemurSummaryParams(answer_format=answer_format, **_common(**common))
        _deprecated(stacklevel=3)
        return core.summarize(self._ctx, self._provider, params)

    def _question(
        self, questions: Sequence[LemurQuestion | str] | LemurQuestion | str, **common: Any
    ) -> Flow[LemurQuestionAnswerResponse]:
        if isinstance(questions, (str, LemurQuestion)):
            questions = [questions]
        asked = [LemurQuestion(question=q) if isinstance(q, str) else q for q in questions]
        params = LemurQuestionAnswerParams(questions=asked, **_common(**common))
        _deprecated(stacklevel=3)
        return core.question(self._ctx, self._provider, params)

    def _action_items(
        self, answer_format: str | None, **common: Any
    ) -> Flow[LemurActionItemsResponse]:
        params = LemurActionItemsParams(answer_format=answer_format, **_common(**common))
        _deprecated(stacklevel=3)
        return core.action_items(self._ctx, self._provider, params)

    def _get_response(
        self, request_id: str
    ) -> Flow[LemurStringResponse | LemurQuestionAnswerResponse]:
        return core.get_response(self._ctx, self._provider, request_id)

    def _purge(self, request_id: str) -> Flow[PurgeLemurRequestDataResponse]:
        return core.purge_request_data(self._ctx, self._provider, request_id)


class Lemur(_LemurBase):
    """Blocking LeMUR calls. Each takes the transcripts (``transcript_ids``: Transcripts or ids)
    or ``input_text``, plus ``context``, ``final_model``, ``max_output_size`` and
    ``temperature`` (0..1)."""

    def __init__(self, shell: SyncShell, owner: TranscriberBase) -> None:
        super().__init__(owner)
        self._shell = shell

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
        return self._shell.run(
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
        return self._shell.run(
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
        return self._shell.run(
            self._question(
                questions,
                transcript_ids=transcript_ids,
                input_text=input_text,
                context=context,
                final_model=final_model,
                max_output_size=max_output_size,
                temperature=temperature,
            )
        )

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
        return self._shell.run(
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

    def get_response(self, request_id: str) -> LemurStringResponse | LemurQuestionAnswerResponse:
        """Fetch a previous LeMUR response by its ``request_id``."""
        return self._shell.run(self._get_response(request_id))

    def purge_request_data(self, request_id: str) -> PurgeLemurRequestDataResponse:
        """Delete the data of a previous LeMUR request."""
        return self._shell.run(self._purge(request_id))


class AsyncLemur(_LemurBase):
    """The asyncio form of :class:`Lemur`: the same methods, awaited."""

    def __init__(self, shell: AsyncShell, owner: TranscriberBase) -> None:
        super().__init__(owner)
        self._shell = shell

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
        return await self._shell.run(
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
        return await self._shell.run(
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
        return await self._shell.run(
            self._question(
                questions,
                transcript_ids=transcript_ids,
                input_text=input_text,
                context=context,
                final_model=final_model,
                max_output_size=max_output_size,
                temperature=temperature,
            )
        )

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
        return await self._shell.run(
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

    async def get_response(
        self, request_id: str
    ) -> LemurStringResponse | LemurQuestionAnswerResponse:
        """Fetch a previous LeMUR response by its ``request_id``."""
        return await self._shell.run(self._get_response(request_id))

    async def purge_request_data(self, request_id: str) -> PurgeLemurRequestDataResponse:
        """Delete the data of a previous LeMUR request."""
        return await self._shell.run(self._purge(request_id))
