"""Fault suite: the worker SIGKILLed, Elasticsearch stopped, Kafka restarted, hostile input.

    python -m bench.faults [--scenario a,b,c,d] [--documents 500] [--kills 10]
                           [--es-outage-s 60] [--kafka-outage-s 10] [--bad-inputs 10000]

Starts a Kafka and an Elasticsearch of its own (ports --port-base+92/+93/+200/+300, state
under the system temp dir; the shared stack is never touched), runs the real ``mmrag
worker``, the real watcher, ``mmrag cms-ingress`` and ``mmrag serve`` against it, prints a
table of figures and exits 1 when a figure that must be 0 is not.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console

from bench.faults.private_stack import DEFAULT_PORT_BASE, PrivateStack, private_settings
from bench.faults.report import Figure, exit_code, print_summary, summary_table
from bench.faults.scenarios import (
    LoadOptions,
    elasticsearch_outage,
    kafka_restart,
    worker_kills,
)
from bench.faults.system import Say

console = Console(width=None if Console().is_terminal else 150)
Scenario = Callable[[PrivateStack, Path, argparse.Namespace, Say], Awaitable[list[Figure]]]


def _load(namespace: argparse.Namespace) -> LoadOptions:
    return LoadOptions(
        documents=namespace.documents,
        kills=namespace.kills,
        elasticsearch_outage_s=namespace.es_outage_s,
        kafka_outage_s=namespace.kafka_outage_s,
        settle_timeout_s=namespace.settle_timeout_s,
        seed=namespace.seed,
    )


async def _hostile(
    stack: PrivateStack, workdir: Path, namespace: argparse.Namespace, say: Say
) -> list[Figure]:
    from bench.faults.hostile_run import HostileOptions, hostile_inputs  # hypothesis, schemathesis

    options = HostileOptions(
        total=namespace.bad_inputs,
        seed=namespace.seed,
        settle_timeout_s=max(namespace.settle_timeout_s, 1800.0),
    )
    return await hostile_inputs(stack, workdir, options, say)


SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "a": ("a-kill", lambda s, w, n, say: worker_kills(s, w, _load(n), say)),
    "b": ("b-es-outage", lambda s, w, n, say: elasticsearch_outage(s, w, _load(n), say)),
    "c": ("c-kafka-restart", lambda s, w, n, say: kafka_restart(s, w, _load(n), say)),
    "d": ("d-hostile", lambda s, w, n, say: _hostile(s, w, n, say)),
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", default="a,b,c,d", help="comma-separated: a,b,c,d")
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--es-outage-s", type=float, default=60.0)
    parser.add_argument("--kafka-outage-s", type=float, default=10.0)
    parser.add_argument("--bad-inputs", type=int, default=10_000)
    parser.add_argument("--settle-timeout-s", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--keep-stack", action="store_true", help="leave the private stack running afterwards"
    )
    namespace = parser.parse_args()
    chosen = [name.strip() for name in namespace.scenario.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown or not chosen:
        parser.error(f"unknown scenario(s) {unknown}; choose from {','.join(SCENARIOS)}")
    namespace.chosen = chosen
    return namespace


def _say(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}", highlight=False)


async def main(namespace: argparse.Namespace) -> int:
    stack = PrivateStack(private_settings(namespace.port_base))
    workdir = namespace.workdir or Path(tempfile.mkdtemp(prefix="mmrag-faults-run-"))
    workdir.mkdir(parents=True, exist_ok=True)
    _say(f"private stack: Kafka {stack.kafka_bootstrap}, ES {stack.elasticsearch_url}")
    _say(f"work directory (logs of every process): {workdir}")
    figures: list[Figure] = []
    try:
        await stack.up()
        for name in namespace.chosen:
            label, run = SCENARIOS[name]
            try:
                found = await run(stack, workdir, namespace, _say)
                console.print(summary_table(found))
                figures += found
            except Exception as error:
                _say(f"[red]scenario {label} could not run[/red]\n{traceback.format_exc()}")
                figures.append(
                    Figure(
                        label, "scenario could not run", 1, required_zero=True, detail=repr(error)
                    )
                )
                try:  # a scenario that died mid-fault may have left a service stopped
                    await stack.up()
                except Exception as again:
                    _say(f"[red]the private stack cannot be started again: {again!r}[/red]")
                    break
    finally:
        if not namespace.keep_stack:
            await stack.down()
    print_summary(figures, console)
    return exit_code(figures)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the broker is stopped on purpose
    raise SystemExit(asyncio.run(main(_arguments())))
