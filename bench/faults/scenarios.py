"""Scenarios (a) SIGKILLed worker, (b) Elasticsearch outage, (c) Kafka restart."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.faults.corpus import ChangePlan, plan_changes, relative_name, write_documents
from bench.faults.figures import audit_figures
from bench.faults.observe import dead_letters, letter_reasons
from bench.faults.private_stack import PrivateStack
from bench.faults.processes import Supervisor
from bench.faults.report import Figure
from bench.faults.system import Say, System
from stream.dead_letters.selection import StoredLetter


@dataclass(frozen=True)
class LoadOptions:
    documents: int = 500
    kills: int = 10
    elasticsearch_outage_s: float = 60.0
    kafka_outage_s: float = 10.0
    settle_timeout_s: float = 900.0
    seed: int = 12


def apply_changes(folder: Path, plan: ChangePlan) -> None:
    """Edit, delete and create files, as a user would while the load runs."""
    write_documents(folder, plan.edits, revision=1)
    for number in plan.deletes:
        (folder / relative_name(number)).unlink(missing_ok=True)
    write_documents(folder, plan.creates)


async def wait_indexed(system: System, target: int, timeout_s: float) -> bool:
    """Until ``target`` documents have a live manifest; False if it did not happen."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await system.indexed_count() >= target:
            return True
        await asyncio.sleep(0.5)
    return False


async def _finish(
    scenario: str, system: System, options: LoadOptions, supervisor: Supervisor
) -> list[Figure]:
    system.say(f"({scenario}) settling …")
    settled = await system.settle(options.settle_timeout_s)
    result, waited = settled.audit, settled.seconds
    letters = await dead_letters(system.stack.kafka_bootstrap, system.dead_letter_topic)
    worker = system.worker
    assert worker is not None
    figures = audit_figures(scenario, result.findings)
    figures += [
        Figure(
            scenario,
            "watcher stopped on its own",
            int(system.watcher_failure is not None),
            required_zero=True,
            detail=system.watcher_failure or "",
        ),
        Figure(
            scenario,
            "worker exits on its own (restarted)",
            len(worker.exits),
            detail=", ".join(f"exit {code}" for code in worker.exits[:8]),
        ),
        Figure(scenario, "files checked", result.findings.files),
        Figure(
            scenario,
            "manifests checked against recomputed chunks",
            result.recomputed,
            detail=f"{result.not_recomputed} not recomputable" if result.not_recomputed else "",
        ),
        Figure(scenario, "seconds to settle after the fault", round(waited, 1)),
        Figure(
            scenario,
            "topic not drained within the settle timeout",
            int(not settled.drained),
            required_zero=True,
        ),
    ]
    return [*figures, _letters_figure(scenario, letters, required=scenario == "b-es-outage")]


def _letters_figure(scenario: str, letters: list[StoredLetter], required: bool) -> Figure:
    return Figure(
        scenario,
        "events dead-lettered",
        len(letters),
        required_zero=required,
        detail=letter_reasons(letters),
    )


async def _with_load(
    scenario: str,
    stack: PrivateStack,
    workdir: Path,
    options: LoadOptions,
    say: Say,
    fault: Callable[[System, Supervisor, ChangePlan], Awaitable[list[Figure]]],
) -> list[Figure]:
    system = System(stack, workdir / scenario, say)
    plan = plan_changes(options.documents, options.seed)
    system.folder.mkdir(parents=True, exist_ok=True)
    write_documents(system.folder, range(options.documents))
    say(f"({scenario}) {options.documents} documents; topic {system.topic}")
    async with system.running() as supervisor:
        figures = await fault(system, supervisor, plan)
        figures += await _finish(scenario, system, options, supervisor)
    return figures


async def worker_kills(
    stack: PrivateStack, workdir: Path, options: LoadOptions, say: Say
) -> list[Figure]:
    """(a) SIGKILL the worker ``kills`` times at random points of the load."""
    generator = random.Random(options.seed)
    total = options.documents
    thresholds = sorted(generator.uniform(0.05, 0.95) * total for _ in range(options.kills))
    change_at = total * 0.5

    async def fault(system: System, supervisor: Supervisor, plan: ChangePlan) -> list[Figure]:
        worker = system.worker
        assert worker is not None
        changed = False
        stalled = 0
        for threshold in thresholds:
            if not changed and threshold >= change_at:
                await wait_indexed(system, int(change_at), 600)
                apply_changes(system.folder, plan)
                changed = True
                say("(a) edits, deletes and new files written")
            if not await wait_indexed(system, int(threshold), 600):
                stalled += 1
            await asyncio.sleep(generator.uniform(0.0, 8.0))  # anywhere in the next batch
            worker.kill()
            say(f"(a) SIGKILL {worker.kills} at ~{await system.indexed_count()} documents")
            await asyncio.sleep(generator.uniform(0.0, 3.0))
            worker.start()
        if not changed:
            apply_changes(system.folder, plan)
        return [
            Figure("a-kill", "SIGKILLs of the worker", worker.kills, detail=f"of {options.kills}"),
            Figure(
                "a-kill",
                "kill points never reached (no progress)",
                stalled,
                required_zero=True,
            ),
        ]

    return await _with_load("a-kill", stack, workdir, options, say, fault)


async def elasticsearch_outage(
    stack: PrivateStack, workdir: Path, options: LoadOptions, say: Say
) -> list[Figure]:
    """(b) Stop Elasticsearch for ``elasticsearch_outage_s`` once a third is indexed."""

    async def fault(system: System, supervisor: Supervisor, plan: ChangePlan) -> list[Figure]:
        reached = await wait_indexed(system, options.documents // 3, 600)
        say(f"(b) stopping Elasticsearch at ~{await system.indexed_count()} documents")
        started = time.monotonic()
        await stack.stop_elasticsearch()
        apply_changes(system.folder, plan)
        await asyncio.sleep(max(0.0, options.elasticsearch_outage_s - (time.monotonic() - started)))
        down_for = time.monotonic() - started
        say(f"(b) starting Elasticsearch again after {down_for:.0f}s")
        await stack.up()
        return [
            Figure("b-es-outage", "seconds Elasticsearch was down", round(down_for, 1)),
            Figure("b-es-outage", "outage started mid-load", int(not reached), required_zero=True),
        ]

    return await _with_load("b-es-outage", stack, workdir, options, say, fault)


async def kafka_restart(
    stack: PrivateStack, workdir: Path, options: LoadOptions, say: Say
) -> list[Figure]:
    """(c) Stop the broker once a third is indexed, change files while it is away, start it."""

    async def fault(system: System, supervisor: Supervisor, plan: ChangePlan) -> list[Figure]:
        reached = await wait_indexed(system, options.documents // 3, 600)
        say(f"(c) stopping Kafka at ~{await system.indexed_count()} documents")
        started = time.monotonic()
        await stack.stop_kafka()
        apply_changes(system.folder, plan)
        await asyncio.sleep(max(0.0, options.kafka_outage_s - (time.monotonic() - started)))
        await stack.up()
        down_for = time.monotonic() - started
        say(f"(c) Kafka back after {down_for:.0f}s")
        return [
            Figure("c-kafka-restart", "seconds Kafka was down", round(down_for, 1)),
            Figure(
                "c-kafka-restart", "restart happened mid-load", int(not reached), required_zero=True
            ),
        ]

    return await _with_load("c-kafka-restart", stack, workdir, options, say, fault)
