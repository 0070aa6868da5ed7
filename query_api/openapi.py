"""OpenAPI for what FastAPI cannot infer: ``POST /search`` takes JSON *or* a form."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from query_api.schemas import MAX_K, MAX_RRF_K, SearchRequest

SEARCH_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/SearchRequest"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "maxLength": 2000},
                    "image": {
                        "type": "string",
                        "format": "binary",
                        "description": "The query image (PNG, JPEG, WebP, GIF, TIFF, BMP).",
                    },
                    "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10},
                    "mode": {"$ref": "#/components/schemas/Mode"},
                    "profile": {"$ref": "#/components/schemas/Profile"},
                    "group_by": {"$ref": "#/components/schemas/GroupBy"},
                    "rrf_k": {"type": "integer", "minimum": 1, "maximum": MAX_RRF_K},
                    "weights": {
                        "type": "string",
                        "description": 'Retriever weights as JSON, e.g. {"bm25": 2}.',
                    },
                    "modalities": {
                        "type": "array",
                        "items": {"type": "string", "enum": ["text", "image"]},
                        "description": "Repeat the field, or separate with commas.",
                    },
                    "filters": {
                        "type": "string",
                        "description": "A SearchFilters object as JSON.",
                    },
                },
            },
            "encoding": {"image": {"contentType": "image/*"}},
        },
    },
}


def install_openapi(app: FastAPI) -> None:
    """Generate the schema once, adding ``SearchRequest`` (and what it refers to) to the
    components that ``/search``'s hand-written request body points at."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        request = SearchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(request.pop("$defs", {}))
        components["SearchRequest"] = request
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
