"""The ``mmrag`` command line, the composition root: each subcommand builds its settings
once through ``mmrag.bootstrap`` (from ``os.environ``) and passes them down; nothing heavy
is imported until a command runs."""

from __future__ import annotations

import os

import typer

from mmrag import bootstrap
from mmrag.bench_command import bench
from mmrag.corpus_commands import corpus_app
from mmrag.dlq_commands import dlq_app
from mmrag.eval_command import evaluate
from mmrag.generation_commands import generations_app
from mmrag.query_commands import ask, search, serve
from mmrag.stack_commands import stack_app
from mmrag.status_command import status
from mmrag.stream_commands import topics_app, watch

app = typer.Typer(
    name="mmrag",
    help="Event-driven streaming indexer for multimodal RAG.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(stack_app, name="stack")
app.add_typer(topics_app, name="topics")
app.add_typer(dlq_app, name="dlq")
app.add_typer(corpus_app, name="corpus")
app.add_typer(generations_app, name="generations")
app.command("watch")(watch)
app.command("status")(status)
app.command("bench", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(
    bench
)
app.command("serve")(serve)
app.command("search")(search)
app.command("ask")(ask)
app.command("eval")(evaluate)


@app.command("cms-ingress")
def cms_ingress(
    log_level: str = typer.Option("info", help="debug, info, warning, error."),
) -> None:
    """Serve CMS webhooks (MMRAG_CMS_SOURCES) and produce change events to Kafka."""
    import uvicorn

    from mmrag.logging_setup import configure_logging
    from stream.cms import create_app

    configure_logging(log_level)
    configuration = bootstrap.cms_configuration(os.environ)
    settings = configuration.cms
    if not settings.sources:
        typer.echo(
            "error: no sources configured: set MMRAG_CMS_SOURCES (see docs/cms-webhooks.md)",
            err=True,
        )
        raise typer.Exit(1)
    uvicorn.run(
        create_app(settings, configuration.stream),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
    )


@app.command("worker")
def worker(
    log_level: str = typer.Option("info", help="debug, info, warning, error."),
) -> None:
    """Run the Faust worker: consume change events and keep Elasticsearch current."""
    from mmrag.logging_setup import configure_logging
    from stream.worker.runner import run_worker

    configure_logging(log_level)
    configuration = bootstrap.worker_configuration(os.environ)
    run_worker(
        configuration.stream,
        configuration.worker,
        configuration.indexer,
        configuration.encoders,
        log_level=log_level,
    )


def main() -> None:
    """The ``mmrag`` entry point: the typer app, with bad settings reported in one line
    (``error: invalid ApiSettings: MMRAG_API_PORT: …``, exit code 2), not a traceback."""
    try:
        app()
    except bootstrap.ConfigurationError as error:
        typer.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None
