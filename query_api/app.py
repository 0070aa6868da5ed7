"""``create_app``: the FastAPI application of the read side (the composition root of
``mmrag serve`` and of the tests).

Settings are built by the caller (``mmrag.bootstrap`` for ``mmrag serve``) and passed in;
nothing here reads the environment. Resources are made in the lifespan, never at import:
the Elasticsearch client, the encoders (through ``encoders_factory``, so tests inject a
tiny random CLIP), the embedding executor; the LLM is loaded on the first question
(``llm_factory``). Domain errors become
HTTP answers in one place (``_install_error_handlers``): a body ``{"detail": "…"}``
always, plus ``errors`` (pydantic's list) for request validation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from indexer.change_log import ChangeLogSettings
from indexer.encoders.base import Encoders
from indexer.errors import PermanentError, TransientError
from indexer.settings import IndexerSettings
from query_api.answering import LLMFactory, default_llm
from query_api.errors import QueryError
from query_api.guards import RequestGuard
from query_api.metrics import ApiMetrics, MetricsMiddleware
from query_api.openapi import install_openapi
from query_api.routes import router
from query_api.services import QueryServices
from query_api.settings import ApiSettings

if TYPE_CHECKING:
    from indexer.encoders.settings import EncoderSettings
    from query_api.generation import GenerationSettings

logger = logging.getLogger(__name__)

STATIC_DIRECTORY = Path(__file__).parent / "static"
EncodersFactory = Callable[[], Encoders]


def default_encoders(encoder_settings: EncoderSettings, settings: ApiSettings) -> Encoders:
    """The configured encoders (``MMRAG_TEXT_MODEL``, ``MMRAG_CLIP_MODEL`` …), with the
    API's own thread count for query embedding."""
    from indexer.encoders.loading import load_encoders

    if settings.embedding_threads:
        encoder_settings = encoder_settings.model_copy(
            update={"threads": settings.embedding_threads}
        )
    return load_encoders(encoder_settings)


def create_app(
    settings: ApiSettings,
    *,
    store_settings: IndexerSettings,
    generation_settings: GenerationSettings,
    change_log_settings: ChangeLogSettings,
    encoders_factory: EncodersFactory,
    llm_factory: LLMFactory = default_llm,
    static_directory: Path | None = STATIC_DIRECTORY,
) -> FastAPI:
    """The API over the given settings; ``encoders_factory`` runs in the lifespan (in a
    thread), e.g. ``partial(default_encoders, encoder_settings, settings)``."""
    api_settings = settings
    store = store_settings
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        encoders = await asyncio.to_thread(encoders_factory)
        services = QueryServices.build(
            settings=api_settings,
            store=store,
            change_log=change_log_settings,
            generation=generation_settings,
            encoders=encoders,
            llm_factory=llm_factory,
            metrics=metrics,
        )
        app.state.services = services
        logger.info(
            "query_api_ready text_model=%s clip_model=%s chunks_alias=%s",
            encoders.text.name,
            encoders.clip.name if encoders.clip else None,
            store.chunks_alias,
        )
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="mmrag query API",
        version="0.1.0",
        description="Multimodal retrieval (BM25 + text kNN + CLIP kNN, fused with RRF) and "
        "answers with citations over the mmrag indexes.",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.include_router(router)
    _install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(RequestGuard, settings=api_settings)  # inside CORS: preflights pass
    if api_settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=api_settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key"],
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if static_directory is not None and static_directory.is_dir():
        app.mount("/", StaticFiles(directory=static_directory, html=True), name="static")
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QueryError)
    async def query_error(_: Request, error: QueryError) -> JSONResponse:
        return JSONResponse({"detail": error.reason}, status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder([_without_raw_bytes(item) for item in error.errors()])
        return JSONResponse(
            {"detail": describe_validation_errors(errors), "errors": errors}, status_code=422
        )

    @app.exception_handler(PermanentError)
    async def permanent(_: Request, error: PermanentError) -> JSONResponse:
        return JSONResponse({"detail": error.reason}, status_code=422)

    @app.exception_handler(TransientError)
    async def transient(_: Request, error: TransientError) -> JSONResponse:
        return JSONResponse({"detail": error.reason}, status_code=503)


def _without_raw_bytes(item: Any) -> Any:
    """A validation error whose ``input`` is the raw body (bytes that are not UTF-8 JSON:
    an image sent as ``application/json``, say) names its size instead of echoing it, so
    the 422 can always be written (encoding the bytes failed with a 500)."""
    if isinstance(item, dict) and isinstance(item.get("input"), bytes | bytearray):
        return {**item, "input": f"<{len(item['input'])} bytes of body that are not JSON>"}
    return item


def describe_validation_errors(errors: list[dict[str, object]]) -> str:
    """One readable line: ``k: Input should be less than or equal to 100; …``."""
    parts = []
    for item in errors:
        location = [str(part) for part in item.get("loc", ()) or ()]  # type: ignore[attr-defined]
        if location and location[0] in ("body", "form"):
            location = location[1:]
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{'.'.join(location)}: {message}" if location else message)
    return "; ".join(parts)
