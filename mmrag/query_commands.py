"""``mmrag serve``, ``mmrag search`` and ``mmrag ask``: the read side's command line.

``serve`` runs the query API; ``search`` and ``ask`` call a running API over HTTP (so they
start instantly: no model is loaded here) and print with rich; ``ask`` prints the answer's
tokens as they stream in.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import httpx

console = Console()
errors = Console(stderr=True)

ApiUrl = Annotated[
    str, typer.Option("--api", envvar="MMRAG_API_URL", help="Base URL of a running API.")
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option("--api-key", envvar="MMRAG_API_KEY", help="Sent as X-API-Key."),
]
ModeOption = Annotated[str, typer.Option(help="hybrid, vector or lexical.")]
ProfileOption = Annotated[
    str,
    typer.Option(help="default (the configured retrieval) or plain (the fixed baseline)."),
]


def serve(
    host: Annotated[str | None, typer.Option(help="Default: MMRAG_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: MMRAG_API_PORT.")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Run the query API (search, ask, documents, images, health, metrics)."""
    import os
    from functools import partial

    import uvicorn

    from mmrag.bootstrap import api_configuration
    from mmrag.logging_setup import configure_logging
    from query_api.app import create_app, default_encoders

    configure_logging(log_level)
    configuration = api_configuration(os.environ, host=host, port=port)
    settings = configuration.api
    app = create_app(
        settings,
        store_settings=configuration.store,
        generation_settings=configuration.generation,
        change_log_settings=configuration.change_log,
        encoders_factory=partial(default_encoders, configuration.encoders, settings),
    )
    # loop and http "auto": uvloop and httptools (dependencies) when importable, else
    # asyncio and h11; each saves CPU per request, which decides /search at 16 callers
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level)


def search(
    query: Annotated[str | None, typer.Argument(help="What to look for.")] = None,
    image: Annotated[Path | None, typer.Option(help="A query image file.")] = None,
    k: Annotated[int, typer.Option(min=1, max=100, help="How many hits.")] = 10,
    mode: ModeOption = "hybrid",
    profile: ProfileOption = "default",
    group_by: Annotated[
        str | None,
        typer.Option(help="document: one hit per document (its best chunk); k counts documents."),
    ] = None,
    rrf_k: Annotated[
        int | None, typer.Option(min=1, max=1000, help="RRF constant for this search.")
    ] = None,
    weight: Annotated[
        list[str] | None,
        typer.Option(help="A retriever's weight for this search: bm25=2 (repeatable)."),
    ] = None,
    api: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
) -> None:
    """Search a running API by text, image or both, and print the hits."""
    import httpx

    if query is None and image is None:
        raise typer.BadParameter("give a query, --image, or both")
    weights = parse_weights(weight or [])
    tuning: dict[str, Any] = {"rrf_k": rrf_k} if rrf_k is not None else {}
    if weights:
        tuning["weights"] = weights
    if image is not None and not image.is_file():
        raise typer.BadParameter(f"{image} is not a file")
    with httpx.Client(base_url=api, headers=_headers(api_key), timeout=60) as client:
        if image is not None:
            media = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
            fields = {"k": str(k), "mode": mode, "profile": profile}
            fields |= {"query": query} if query else {}
            fields |= {"group_by": group_by} if group_by else {}
            fields |= {
                name: json.dumps(value) if name == "weights" else str(value)
                for name, value in tuning.items()
            }
            files = {"image": (image.name, image.read_bytes(), media)}
            response = _call(lambda: client.post("/search", data=fields, files=files))
        else:
            body = {
                "query": query,
                "k": k,
                "mode": mode,
                "profile": profile,
                "group_by": group_by,
                **tuning,
            }
            response = _call(lambda: client.post("/search", json=body))
    _print_hits(response.json())


def parse_weights(pairs: Iterable[str]) -> dict[str, float]:
    """``["bm25=2", "clip_knn=0"]`` → ``{"bm25": 2.0, "clip_knn": 0.0}`` (pure; the API
    checks the names and ranges)."""
    weights = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not name.strip() or number is None:
            raise typer.BadParameter(f"--weight takes NAME=NUMBER, not {pair!r}")
        weights[name.strip()] = number
    return weights


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[int, typer.Option(min=1, max=20, help="Passages to answer from.")] = 6,
    mode: ModeOption = "hybrid",
    api: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKeyOption = None,
) -> None:
    """Ask a running API; the answer streams in, then its citations."""
    import httpx
    from httpx_sse import SSEError, connect_sse

    body = {"question": question, "k": k, "mode": mode, "stream": True}
    with httpx.Client(base_url=api, headers=_headers(api_key), timeout=300) as client:
        try:
            with connect_sse(client, "POST", "/ask", json=body) as source:
                if source.response.status_code >= 400:
                    source.response.read()
                    _fail(source.response)
                for event, data in answer_events(source.response):
                    _print_answer_event(event, data)
        except SSEError as error:  # before TransportError, its base
            errors.print(f"error: {api}/ask did not answer with an event stream: {error}")
            raise typer.Exit(1) from error
        except httpx.TransportError as error:
            errors.print(f"error: cannot reach the API at {api}: {error}")
            raise typer.Exit(1) from error


def answer_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """``(event, decoded JSON data)`` of the Server-Sent Events of an /ask response."""
    from httpx_sse import EventSource

    for event in EventSource(response).iter_sse():
        if event.data:
            yield event.event, event.json()


def _print_answer_event(event: str, data: Any) -> None:
    if event == "token":
        console.print(data["text"], end="", markup=False, highlight=False, soft_wrap=True)
    elif event == "citations":
        console.print()
        for citation in data:
            where = f" p.{citation['page']}" if citation.get("page") else ""
            label = citation.get("title") or citation["uri"]
            console.print(f"[bold][{citation['number']}][/bold] {label}{where}", highlight=False)
            console.print(f"    {citation['uri']}", style="dim", highlight=False)
    elif event == "done":
        label = data["generator"]
        if data.get("fallback_reason"):
            label = f"extractive (retrieved passages, not generated: {data['fallback_reason']})"
        console.print(f"— {label}, {data['took_ms']:.0f} ms", style="dim")
    elif event == "error":
        errors.print(f"error: {data.get('detail')}")
        raise typer.Exit(1)


def _print_hits(result: dict[str, Any]) -> None:
    table = Table(
        title=f"{len(result['hits'])} hits ({result['mode']}, {result['took_ms']:.0f} ms)"
    )
    for column in ("#", "score", "kind", "document", "snippet", "found by"):
        table.add_column(column, overflow="fold")
    for number, hit in enumerate(result["hits"], start=1):
        where = hit.get("title") or hit["uri"]
        if hit.get("page"):
            where += f" (p.{hit['page']})"
        found_by = ", ".join(f"{name}#{rank}" for name, rank in hit["retrievers"].items())
        if (matched := hit.get("matched_chunks") or 0) > 1:
            where += f" [{matched} passages]"
        table.add_row(
            str(number),
            f"{hit['score']:.4f}",
            hit["modality"],
            where,
            hit.get("snippet") or hit.get("image_url") or "",
            found_by,
        )
    console.print(table)


def _headers(api_key: str | None) -> dict[str, str]:
    return {"X-API-Key": api_key} if api_key else {}


def _call(request: Any) -> httpx.Response:
    import httpx

    try:
        response: httpx.Response = request()
    except httpx.TransportError as error:
        errors.print(f"error: cannot reach the API: {error}")
        raise typer.Exit(1) from error
    if response.status_code >= 400:
        _fail(response)
    return response


def _fail(response: httpx.Response) -> None:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    errors.print(f"error: {response.status_code}: {detail}")
    raise typer.Exit(1)
