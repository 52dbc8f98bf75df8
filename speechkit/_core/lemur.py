"""LeMUR requests as sans-I/O flows that return typed answers.

Each flow sends one request through the provider's ``build_lemur`` and parses its answer into
the model for that endpoint, so the sync and async facades (``speechkit.lemur``) only run it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from speechkit._core.flow import Flow, FlowContext, send
from speechkit.errors import InvalidInputError
from speechkit.models.lemur import (
    LemurActionItemsParams,
    LemurActionItemsResponse,
    LemurBaseParams,
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
from speechkit.providers.base import Provider

T = TypeVar("T")


def _request(
    ctx: FlowContext,
    provider: Provider,
    method: str,
    path: str,
    body: Any,
    parse: Callable[[Any], T],
) -> Flow[T]:
    response = yield from send(ctx, provider.build_lemur(method, path, body))
    return parse(response.json())


def _generate(
    ctx: FlowContext,
    provider: Provider,
    kind: str,
    params: LemurBaseParams,
    parse: Callable[[Any], T],
) -> Flow[T]:
    # The body is built (and checked) now, not when the shell first steps the flow.
    body = params.to_request_body()
    return _request(ctx, provider, "POST", f"/lemur/v3/generate/{kind}", body, parse)


def task(ctx: FlowContext, provider: Provider, params: LemurTaskParams) -> Flow[LemurTaskResponse]:
    """``POST /lemur/v3/generate/task``."""
    return _generate(ctx, provider, "task", params, LemurTaskResponse.from_json_data)


def summarize(
    ctx: FlowContext, provider: Provider, params: LemurSummaryParams
) -> Flow[LemurSummaryResponse]:
    """``POST /lemur/v3/generate/summary``."""
    return _generate(ctx, provider, "summary", params, LemurSummaryResponse.from_json_data)


def question(
    ctx: FlowContext, provider: Provider, params: LemurQuestionAnswerParams
) -> Flow[LemurQuestionAnswerResponse]:
    """``POST /lemur/v3/generate/question-answer``."""
    parse = LemurQuestionAnswerResponse.from_json_data
    return _generate(ctx, provider, "question-answer", params, parse)


def action_items(
    ctx: FlowContext, provider: Provider, params: LemurActionItemsParams
) -> Flow[LemurActionItemsResponse]:
    """``POST /lemur/v3/generate/action-items``."""
    return _generate(ctx, provider, "action-items", params, LemurActionItemsResponse.from_json_data)


def _request_path(request_id: str) -> str:
    if not isinstance(request_id, str) or not request_id.strip() or "/" in request_id:
        raise InvalidInputError("request_id must be the id of a previous LeMUR request.")
    return f"/lemur/v3/{request_id.strip()}"


def get_response(
    ctx: FlowContext, provider: Provider, request_id: str
) -> Flow[LemurStringResponse | LemurQuestionAnswerResponse]:
    """``GET /lemur/v3/{request_id}``: either kind of answer (see ``parse_lemur_response``)."""
    path = _request_path(request_id)
    return _request(ctx, provider, "GET", path, None, parse_lemur_response)


def purge_request_data(
    ctx: FlowContext, provider: Provider, request_id: str
) -> Flow[PurgeLemurRequestDataResponse]:
    """``DELETE /lemur/v3/{request_id}``."""
    path = _request_path(request_id)
    return _request(
        ctx, provider, "DELETE", path, None, PurgeLemurRequestDataResponse.from_json_data
    )
