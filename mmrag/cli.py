"""The ``mmrag`` command line. Each subcommand builds its settings here and passes them
down; nothing heavy is imported until a command runs."""

from __future__ import annotations

import typer

from mmrag.stack_commands import stack_app
from mmrag.stream_commands import topics_app, watch

app = typer.Typer(
    name="mmrag",
    help="Event-driven streaming indexer for multimodal RAG.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(stack_app, name="stack")
app.add_typer(topics_app, name="topics")
app.command("watch")(watch)
