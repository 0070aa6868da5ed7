"""The API's endpoints. Each is thin: read the request, call a service, shape the answer;
errors are domain errors (``query_api.errors``) mapped to HTTP in one handler."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import APIKeyHeader
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sse_starlette import EventSourceResponse

from query_api.access import API_KEY_HEADER, Caller, identify_caller
from query_api.answering import (
    answer,
    answer_stream,
    candidate_count,
    group_by_document,
    passages_from,
)
from query_api.documents import load_document
from query_api.generation_encoders import index_build
from query_api.health import elasticsearch_status, served_documents
from query_api.hits import to_hit
from query_api.images import decode_query_image
from query_api.openapi import SEARCH_REQUEST_BODY
from query_api.retrieval import SearchQuery
from query_api.schemas import (
    MAX_K,
    AskRequest,
    AskResponse,
    Backlog,
    DocumentResponse,
    HealthResponse,
    IndexBuild,
    SearchResponse,
)
from query_api.search_input import read_search_input
from query_api.services import QueryServices

logger = logging.getLogger(__name__)
router = APIRouter()
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text}
    for code, text in {
        401: "Missing or unknown API key",
        404: "Unknown, or not visible to this caller",
        413: "Upload over the size limit",
        415: "A body that is neither JSON nor a form",
        422: "Invalid request (the detail says why)",
        503: "Elasticsearch unavailable",
    }.items()
}


def _services_of(request: Request) -> QueryServices:
    found: QueryServices = request.app.state.services
    return found


# The dependencies are coroutines although they never wait: FastAPI runs a plain function
# dependency in its thread pool, two thread hand-offs per request (measured: about 0.4 ms
# of CPU per /search at 16 callers, bench/query_latency.py).
async def services(request: Request) -> QueryServices:
    return _services_of(request)


async def caller(request: Request, key: Annotated[str | None, Depends(_api_key)] = None) -> Caller:
    settings = _services_of(request).settings
    return identify_caller(key, settings.api_keys, required=settings.require_api_key)


Services = Annotated[QueryServices, Depends(services)]
CallerDep = Annotated[Caller, Depends(caller)]


@router.post(
    "/search",
    response_model=SearchResponse,
    responses=_ERRORS,
    openapi_extra={"requestBody": SEARCH_REQUEST_BODY},
    summary="Search text and images (JSON body, or a multipart form with an image file)",
)
async def search(request: Request, found: Services, who: CallerDep) -> SearchResponse:
    started = time.perf_counter()
    settings = found.settings
    search_request, image_bytes = await read_search_input(
        request, max_upload_bytes=settings.max_upload_bytes
    )
    image = None
    if image_bytes is not None:
        image = await asyncio.to_thread(
            decode_query_image,
            image_bytes,
            max_side=settings.query_image_max_side,
            max_pixels=found.store.max_image_pixels,
        )
    outcome = await found.retriever.search(
        SearchQuery(
            text=search_request.query,
            image=image,
            k=search_request.k,
            mode=search_request.mode,
            modalities=tuple(search_request.modalities),
            filters=search_request.filters,
            profile=search_request.profile,
            group_by=search_request.group_by,
            rrf_k=search_request.rrf_k,
            weights=search_request.weights,
        ),
        who,
    )
    elapsed = time.perf_counter() - started
    logger.info(
        "search caller=%s mode=%s profile=%s image=%s retrievers=%s hits=%d took_ms=%.1f stages=%s",
        who.name,
        search_request.mode.value,
        search_request.profile.value,
        image is not None,
        ",".join(outcome.retrievers),
        len(outcome.chunks),
        elapsed * 1000,
        outcome.timings_ms,
    )
    found.metrics.search_latency.labels(search_request.mode.value).observe(elapsed)
    for stage, milliseconds in outcome.timings_ms.items():
        found.metrics.search_stage.labels(stage).observe(milliseconds / 1000)
    return SearchResponse(
        hits=[to_hit(chunk, snippet_length=settings.snippet_length) for chunk in outcome.chunks],
        mode=search_request.mode,
        profile=search_request.profile,
        group_by=search_request.group_by,
        reranker=outcome.reranker,
        took_ms=round(elapsed * 1000, 3),
    )


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={
        **_ERRORS,
        200: {
            "description": "One JSON answer, or with ``stream: true`` Server-Sent Events: "
            "``token`` {text}, ``citations`` [Citation…], ``done`` {generator, "
            "fallback_reason, took_ms}. Tokens are never taken back: a generated answer "
            "is sent only once it cites a retrieved source; otherwise the tokens are the "
            "extractive answer, and ``fallback_reason`` says why.",
            "content": {"text/event-stream": {}},
        },
    },
    summary="Answer a question from retrieved passages, with citations",
)
async def ask(body: AskRequest, found: Services, who: CallerDep) -> Response | AskResponse:
    """Retrieve ``k`` passages, distinct documents first (more chunks are retrieved, then
    grouped: at most two of one document), and answer from them.

    The answer is the LLM's only when it cites at least one retrieved passage, says
    something and does not loop; otherwise it is the extractive answer (the best passage
    of each top document, trimmed to the sentences nearest the question), with
    ``generator: "extractive"`` and ``fallback_reason``. Streaming never sends text that
    is later discarded: the LLM's text is held back until it cites a source, then sent a
    sentence at a time; if it never cites one, nothing of it is sent and the stream
    carries the extractive answer instead."""
    started = time.perf_counter()
    outcome = await found.retriever.search(
        SearchQuery(
            text=body.question,
            image=None,
            k=candidate_count(body.k, MAX_K),
            mode=body.mode,
            filters=body.filters,
        ),
        who,
    )
    passages = passages_from(group_by_document(outcome.chunks, body.k))
    llm, generation = await found.generation.get()
    logger.info(
        "ask caller=%s mode=%s passages=%d llm=%s stream=%s retrieval_ms=%.1f",
        who.name,
        body.mode.value,
        len(passages),
        llm.name if llm else None,
        body.stream,
        (time.perf_counter() - started) * 1000,
    )
    if body.stream:
        return EventSourceResponse(
            answer_stream(body.question, passages, llm, generation, started), ping=15
        )
    return await answer(body.question, passages, llm, generation, started)


@router.get("/documents/{doc_id}", response_model=DocumentResponse, responses=_ERRORS)
async def document(doc_id: str, found: Services, who: CallerDep) -> DocumentResponse:
    """The manifest as the served generation has it (its own documents index when it
    chunks differently)."""
    documents_index = await found.retriever.spaces.documents_index(found.store.documents_index)
    return await load_document(found.client, documents_index, doc_id, who)


@router.get(
    "/images/{chunk_id}",
    response_class=Response,
    responses={**_ERRORS, 200: {"content": {"image/jpeg": {}}, "description": "A thumbnail"}},
    summary="A JPEG thumbnail of an indexed image chunk",
)
async def image(chunk_id: str, found: Services, who: CallerDep) -> Response:
    thumbnail = await found.thumbnails.thumbnail(chunk_id, who, found.retriever.spaces)
    return Response(
        thumbnail, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"}
    )


@router.get("/health", response_model=HealthResponse)
async def health(found: Services) -> HealthResponse:
    elasticsearch, lag, backlog, served = await asyncio.gather(
        elasticsearch_status(found.client),
        found.lag.lag(),
        found.lag.backlog(),
        served_documents(found.client, found.retriever.spaces, found.store.documents_index),
    )
    problems = await found.problems()
    build = await index_build(found.client, found.store.chunks_alias)
    healthy = elasticsearch in ("green", "yellow") and not problems
    return HealthResponse(
        status="ok" if healthy else "degraded",
        elasticsearch=elasticsearch,
        kafka_lag=lag,
        backlog=Backlog(**backlog) if backlog is not None else None,
        text_model=found.encoders.text.name,
        clip_model=found.encoders.clip.name if found.encoders.clip else None,
        llm=found.generation.llm_name,
        index_build=IndexBuild(**build) if build is not None else None,
        generation=served.generation,
        documents_index=served.documents_index,
        documents_searchable=served.searchable,
        problems=problems,
    )


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
