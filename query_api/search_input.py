"""Reading ``POST /search``: a JSON ``SearchRequest`` or a multipart form with the same
fields and the query image as a file part named ``image`` (a URL-encoded form, without a
file, is accepted too).

Sizes are bounded before anything is parsed (``Content-Length``) and while reading, so an
oversize upload is a 413 and never fills memory. Field errors surface as the same 422 as
any other request validation error.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from query_api.errors import InvalidQuery, PayloadTooLarge, UnsupportedMediaType
from query_api.images import check_upload_size, decode_base64_image
from query_api.schemas import IMAGE_UPLOADED, SearchRequest

FORM_OVERHEAD = 64 * 1024
"""Room for the form's text fields and multipart boundaries beyond the image itself."""
FORM_FIELDS = (
    "query",
    "k",
    "mode",
    "profile",
    "group_by",
    "rrf_k",
    "weights",
    "modalities",
    "filters",
    "image",
)


def body_limit(max_upload_bytes: int) -> int:
    """The largest body accepted: a base64 image (4/3 of its bytes) and the fields."""
    return (max_upload_bytes * 4) // 3 + FORM_OVERHEAD


async def read_search_input(
    request: Request, *, max_upload_bytes: int
) -> tuple[SearchRequest, bytes | None]:
    """The validated request and the query image's bytes (``None`` for text only)."""
    limit = body_limit(max_upload_bytes)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is over the {max_upload_bytes} byte upload limit")
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media == "application/json":
        body = await _read_body(request, limit, max_upload_bytes)
        search = _validate_json(body)
        image = None
        if search.image_base64:
            image = decode_base64_image(search.image_base64, max_bytes=max_upload_bytes)
        return search, image
    if media in ("multipart/form-data", "application/x-www-form-urlencoded"):
        form = await request.form(max_files=1, max_fields=len(FORM_FIELDS) * 4)
        try:
            return await _from_form(form, max_upload_bytes)
        finally:
            await form.close()
    raise UnsupportedMediaType(
        f"content type {media!r} is not accepted: send application/json or multipart/form-data"
    )


async def _read_body(request: Request, limit: int, max_upload_bytes: int) -> bytes:
    body = bytearray()
    async for block in request.stream():
        body.extend(block)
        if len(body) > limit:
            raise PayloadTooLarge(f"request body is over the {max_upload_bytes} byte upload limit")
    return bytes(body)


def _validate_json(body: bytes) -> SearchRequest:
    try:
        return SearchRequest.model_validate_json(body or b"{}")
    except ValidationError as error:
        raise RequestValidationError(_located(error, "body")) from error


async def _from_form(form: FormData, max_upload_bytes: int) -> tuple[SearchRequest, bytes | None]:
    unknown = sorted(set(form.keys()) - set(FORM_FIELDS) - {"image_base64"})
    if unknown:
        raise InvalidQuery(
            f"unknown form field(s) {', '.join(unknown)}; expected {', '.join(FORM_FIELDS)}"
        )
    upload = form.get("image")
    image: bytes | None = None
    if isinstance(upload, UploadFile):
        if upload.size is not None and upload.size > max_upload_bytes:
            raise PayloadTooLarge(
                f"image has {upload.size} bytes, over the {max_upload_bytes} byte limit"
            )
        image = check_upload_size(
            await upload.read(max_upload_bytes + 1), max_bytes=max_upload_bytes
        )
    elif upload is not None:
        raise InvalidQuery("the image form field must be a file part")
    fields: dict[str, Any] = {}
    for name in ("query", "k", "mode", "profile", "group_by", "rrf_k", "image_base64"):
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value
    modalities = [
        piece.strip()
        for value in form.getlist("modalities")
        if isinstance(value, str)
        for piece in value.split(",")
        if piece.strip()
    ]
    if modalities:
        fields["modalities"] = modalities
    for name in ("filters", "weights"):
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            try:
                fields[name] = json.loads(value)
            except json.JSONDecodeError as error:
                raise InvalidQuery(f"{name} must be a JSON object: {error}") from error
    if image is not None and "image_base64" in fields:
        raise InvalidQuery("send the query image once: as a file part or as image_base64")
    try:
        search = SearchRequest.model_validate(fields, context={IMAGE_UPLOADED: image is not None})
    except ValidationError as error:
        raise RequestValidationError(_located(error, "form")) from error
    if search.image_base64:
        image = decode_base64_image(search.image_base64, max_bytes=max_upload_bytes)
    return search, image


def _located(error: ValidationError, where: str) -> list[dict[str, Any]]:
    """Pydantic's errors with the location FastAPI gives body errors (``body.k``)."""
    return [
        {**item, "loc": (where, *item["loc"])}
        for item in error.errors(include_url=False, include_context=False)
    ]
