"""Scenario (d): hostile events, webhooks, files and API calls, with good ones in between.

Every bad input must end dead-lettered, refused with a 4xx and a reason, or handled (a
well-formed event is indexed or dead-lettered by the worker); nothing may answer 5xx or
kill a process; every good input sent in between must be indexed.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_scan

from bench.faults.audit import examples
from bench.faults.corpus import document_text
from bench.faults.hostile import EVENT_BYTES, FILES, WEBHOOKS, HostileFile, Webhook, generate
from bench.faults.observe import dead_letters, letter_reasons, read_index
from bench.faults.private_stack import PrivateStack
from bench.faults.processes import ServiceProcess
from bench.faults.report import Figure
from bench.faults.system import Say, System
from indexer.events import ChangeEvent, InvalidEvent, decode_change_event, derive_doc_id, utc_now
from stream.cms.signatures import SIGNATURE_HEADER, sign
from stream.producer import MAX_RECORD_BYTES
from stream.worker.offsets import OffsetRange
from stream.worker.partition_reader import PartitionReader
from tests.integration.worker_process import free_port

SCENARIO = "d-hostile"
CMS_SOURCE = "fuzz"


@dataclass(frozen=True)
class HostileOptions:
    total: int = 10_000
    seed: int = 12
    good_every: int = 25
    """A good input after every this many bad ones (events, webhooks, files)."""
    max_files: int = 300
    """Files cost the worker most (each is read and parsed): at most this many."""
    settle_timeout_s: float = 1800.0


@dataclass(frozen=True)
class Shares:
    events: int
    webhooks: int
    files: int
    api_calls: int


def shares(options: HostileOptions) -> Shares:
    files = min(options.max_files, options.total * 3 // 100)
    events = options.total * 45 // 100
    webhooks = options.total * 30 // 100
    return Shares(events, webhooks, files, options.total - events - webhooks - files)


@dataclass
class Tally:
    sent: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    refused_without_reason: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    good_doc_ids: dict[str, str] = field(default_factory=dict)
    """doc_id → what it was (for the "good ones indexed" check)."""
    good_files: list[Path] = field(default_factory=list)
    hostile_files: list[Path] = field(default_factory=list)


def _good_event(number: int) -> ChangeEvent:
    doc_id = derive_doc_id("cms:good", f"event-{number}")
    return ChangeEvent(
        event_id=uuid.uuid4().hex,
        source="cms:good",
        doc_id=doc_id,
        op="upsert",
        uri=f"cms://good/event-{number}",
        revision=1,
        content_type="text/plain",
        text=document_text(number, "txt"),
        emitted_at=utc_now(),
    )


async def send_events(system: System, bad: list[bytes], tally: Tally, every: int) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=system.stack.kafka_bootstrap,
        acks="all",
        max_request_size=MAX_RECORD_BYTES,
    )
    generator = random.Random(len(bad))
    await producer.start()
    try:
        for number, raw in enumerate(bad):
            key = generator.choice([None, b"", secrets.token_bytes(8), b"cms:hostile:x"])
            await producer.send(system.topic, key=key, value=raw)
            tally.sent["events"] += 1
            if (number + 1) % every == 0:
                event = _good_event(number // every)
                await producer.send(system.topic, key=event.key, value=event.to_json_bytes())
                tally.good_doc_ids[event.doc_id] = f"event {event.uri}"
        await producer.flush()
    finally:
        await producer.stop()


def _has_reason(response: httpx.Response) -> bool:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return False
    return bool(detail)


async def send_webhooks(
    url: str, secret: bytes, bad: list[Webhook], tally: Tally, every: int
) -> None:
    async with httpx.AsyncClient(timeout=60.0) as client:

        async def post(body: bytes, signed: bool, what: str) -> httpx.Response | None:
            signature = sign(secret, body) if signed else "sha256=" + secrets.token_hex(32)
            headers = {SIGNATURE_HEADER: signature, "Content-Type": "application/json"}
            try:
                response = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError as error:
                tally.server_errors.append(f"webhook {what}: {type(error).__name__}")
                return None
            tally.statuses[f"webhook {response.status_code}"] += 1
            if response.status_code >= 500:
                tally.server_errors.append(f"webhook {what}: {response.status_code}")
            elif response.status_code >= 400 and not _has_reason(response):
                tally.refused_without_reason.append(f"webhook {what}: {response.status_code}")
            return response

        for number, webhook in enumerate(bad):
            await post(webhook.body, webhook.signed, f"#{number}")
            tally.sent["webhooks"] += 1
            if (number + 1) % every == 0:
                key = f"good-{number // every}"
                body = json.dumps(
                    {
                        "id": key,
                        "action": "publish",
                        "revision": 1,
                        "text": document_text(number, "txt"),
                    }
                ).encode()
                await post(body, True, key)
                tally.good_doc_ids[derive_doc_id(f"cms:{CMS_SOURCE}", key)] = f"webhook {key}"


async def drop_files(folder: Path, bad: list[HostileFile], tally: Tally, every: int) -> None:
    target = folder / "hostile"
    target.mkdir(parents=True, exist_ok=True)
    for number, hostile in enumerate(bad):
        path = target / f"{number:05d}-{hostile.name}"
        path.write_bytes(hostile.data)
        tally.hostile_files.append(path)
        tally.sent["files"] += 1
        if (number + 1) % every == 0:
            good = folder / "good" / f"good-{number // every:04d}.md"
            good.parent.mkdir(parents=True, exist_ok=True)
            good.write_text(document_text(number, "md"))
            tally.good_files.append(good)
        await asyncio.sleep(0.05)


def fuzz_api(base_url: str, count: int, random_seed: int, tally: Tally) -> None:
    """Schemathesis cases (valid and invalid by the schema) from the API's own OpenAPI."""
    import schemathesis
    from hypothesis import strategies as st

    from bench.faults.hostile import generate

    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    strategy = st.one_of(
        schema.as_strategy(schemathesis.GenerationMode.POSITIVE),
        schema.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )
    cases = generate(strategy, count, random_seed)
    for case in cases:
        label = f"{case.method} {case.path}"
        try:
            response = case.call(base_url=base_url, timeout=60)
        except Exception as error:
            tally.server_errors.append(f"api {label}: {type(error).__name__}")
            continue
        tally.sent["api calls"] += 1
        status = response.status_code
        tally.statuses[f"api {status // 100}xx"] += 1
        if status >= 500:
            tally.server_errors.append(f"api {label}: {status}")
        elif status >= 400:
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
            if not (isinstance(body, dict) and body.get("detail")):
                tally.refused_without_reason.append(f"api {label}: {status}")


async def read_topic(bootstrap: str, topic: str) -> list[tuple[int, int, bytes | None]]:
    reader = PartitionReader(bootstrap, group_id="", topic=topic, timeout_s=60)
    try:
        partitions = await reader.partitions()
        starts = await reader.beginnings(partitions)
        ends = await reader.ends(partitions)
        ranges = [OffsetRange(p, starts[p], ends[p]) for p in partitions if ends[p] > starts[p]]
        records = await reader.read(ranges)
    finally:
        await reader.close()
    return [(record.partition, record.offset, record.value) for record in records]


async def hostile_inputs(
    stack: PrivateStack, workdir: Path, options: HostileOptions, say: Say
) -> list[Figure]:
    split = shares(options)
    say(
        f"(d) generating {options.total} bad inputs: {split.events} events, "
        f"{split.webhooks} webhooks, {split.files} files, {split.api_calls} API calls"
    )
    bad_events = await asyncio.to_thread(generate, EVENT_BYTES, split.events, options.seed)
    bad_webhooks = await asyncio.to_thread(generate, WEBHOOKS, split.webhooks, options.seed)
    bad_files = await asyncio.to_thread(generate, FILES, split.files, options.seed)
    system = System(stack, workdir / SCENARIO, say, batch_size=64)
    secret = secrets.token_hex(16)
    environment = system.service_environment()
    cms_port, api_port = free_port(), free_port()
    ingress = ServiceProcess(
        "cms-ingress",
        ["cms-ingress", "--log-level", "warning"],
        {
            **environment,
            "MMRAG_CMS_SOURCES": json.dumps(
                {CMS_SOURCE: {"kind": "generic", "secret": secret, "auth": "mmrag-hmac"}}
            ),
            "MMRAG_CMS_PORT": str(cms_port),
        },
        system.workdir,
        ready_url=f"http://127.0.0.1:{cms_port}/health",
    )
    api = ServiceProcess(
        "serve",
        ["serve", "--port", str(api_port), "--log-level", "warning"],
        {**environment, "MMRAG_LLM_PROVIDER": "none"},
        system.workdir,
        ready_url=f"http://127.0.0.1:{api_port}/health",
    )
    tally = Tally()
    async with system.running() as supervisor:
        for process in (ingress, api):
            process.start()
            await process.wait_ready()
            supervisor.processes.append(process)
        say("(d) sending events, webhooks, files and API calls at once")
        await asyncio.gather(
            send_events(system, bad_events, tally, options.good_every),
            send_webhooks(
                f"http://127.0.0.1:{cms_port}/webhooks/{CMS_SOURCE}",
                secret.encode(),
                bad_webhooks,
                tally,
                options.good_every,
            ),
            drop_files(system.folder, bad_files, tally, options.good_every),
            asyncio.to_thread(
                fuzz_api, f"http://127.0.0.1:{api_port}", split.api_calls, options.seed, tally
            ),
        )
        say(f"(d) sent {dict(tally.sent)}; waiting for the worker to drain the topic")
        settled = await system.settle(options.settle_timeout_s, quiet_s=20.0)
        exits = {p.name: list(p.exits) for p in (system.worker, ingress, api) if p is not None}
    figures = await _account(system, tally, exits)
    drained = Figure(
        SCENARIO,
        "topic not drained within the settle timeout",
        int(not settled.drained),
        required_zero=True,
        detail=f"waited {settled.seconds:.0f}s",
    )
    return [*figures[:2], drained, *figures[2:]]


LOCAL_CONTENT_MARKERS = (
    "root:x:0:0",  # /etc/passwd
    "MMRAG_ELASTICSEARCH_URL=",  # /proc/self/environ of one of our processes
    "localhost",  # /etc/hosts
    " open faults-",  # this stack's own _cat/indices
)


async def leaked_chunks(client: AsyncElasticsearch, index: str) -> list[str]:
    """Chunks whose text holds a local file's or an internal endpoint's content."""
    leaked = []
    async for hit in async_scan(
        client,
        index=index,
        query={"query": {"match_all": {}}, "_source": ["doc_id", "text", "ocr_text"]},
    ):
        source = hit["_source"]
        text = f"{source.get('text') or ''}\n{source.get('ocr_text') or ''}"
        found = [marker for marker in LOCAL_CONTENT_MARKERS if marker in text]
        if found:
            leaked.append(f"{source.get('doc_id')} ({found[0].strip()})")
    return leaked


async def _account(system: System, tally: Tally, exits: dict[str, list[int]]) -> list[Figure]:
    letters = await dead_letters(system.stack.kafka_bootstrap, system.dead_letter_topic)
    records = await read_topic(system.stack.kafka_bootstrap, system.topic)
    client = AsyncElasticsearch(system.stack.elasticsearch_url, request_timeout=30)
    try:
        state = await read_index(client, system.indexer_settings)
        leaked = await leaked_chunks(client, system.indexer_settings.chunks_alias)
    finally:
        await client.close()
    manifests = {manifest.doc_id: manifest for manifest in state.manifests}
    live_by_uri = {
        manifest.fields.uri: manifest
        for manifest in state.manifests
        if not manifest.deleted and manifest.fields is not None
    }
    by_offset = {
        (stored.letter.original_partition, stored.letter.original_offset)
        for stored in letters
        if stored.letter is not None and stored.letter.original_topic == system.topic
    }
    lettered_docs = {s.letter.doc_id for s in letters if s.letter and s.letter.doc_id}
    lettered_uris = {s.letter.uri for s in letters if s.letter and s.letter.uri}
    unaccounted_events: list[str] = []
    for partition, offset, value in records:
        if (partition, offset) in by_offset:
            continue
        try:
            event = decode_change_event(value)
        except InvalidEvent:
            unaccounted_events.append(f"{partition}/{offset} (invalid, not dead-lettered)")
            continue
        if event.op.value == "delete" or event.doc_id in manifests:
            continue
        if event.doc_id in lettered_docs:
            continue
        unaccounted_events.append(f"{partition}/{offset} {event.source} {event.op.value}")
    unaccounted_files = []
    for path in tally.hostile_files:
        uri = path.resolve().as_uri()
        if uri in live_by_uri or uri in lettered_uris:
            continue
        unaccounted_files.append(path.name)
    not_indexed = [
        what
        for doc_id, what in tally.good_doc_ids.items()
        if doc_id not in manifests or manifests[doc_id].deleted
    ]
    not_indexed += [
        path.name for path in tally.good_files if path.resolve().as_uri() not in live_by_uri
    ]
    stages = Counter(s.letter.stage if s.letter else "unreadable" for s in letters)
    crashes = [f"{name} exit {code}" for name, codes in exits.items() for code in codes]
    sent = sum(tally.sent.values())
    good = len(tally.good_doc_ids) + len(tally.good_files)
    return [
        Figure(
            SCENARIO,
            "bad inputs sent",
            sent,
            detail=", ".join(f"{k} {v}" for k, v in tally.sent.items()),
        ),
        Figure(SCENARIO, "good inputs sent in between", good),
        Figure(
            SCENARIO,
            "crashes: 5xx answers or broken connections",
            len(tally.server_errors),
            required_zero=True,
            detail=examples(tally.server_errors),
        ),
        Figure(
            SCENARIO,
            "crashes: processes that died",
            len(crashes),
            required_zero=True,
            detail=examples(crashes),
        ),
        Figure(
            SCENARIO,
            "4xx answers without a reason",
            len(tally.refused_without_reason),
            required_zero=True,
            detail=examples(tally.refused_without_reason),
        ),
        Figure(
            SCENARIO,
            "topic records neither handled nor dead-lettered",
            len(unaccounted_events),
            required_zero=True,
            detail=examples(unaccounted_events),
        ),
        Figure(
            SCENARIO,
            "hostile files neither indexed nor dead-lettered",
            len(unaccounted_files),
            required_zero=True,
            detail=examples(unaccounted_files),
        ),
        Figure(
            SCENARIO,
            "good inputs not indexed",
            len(not_indexed),
            required_zero=True,
            detail=examples(not_indexed),
        ),
        Figure(
            SCENARIO,
            "chunks holding a local file or internal endpoint",
            len(leaked),
            required_zero=True,
            detail=examples(leaked),
        ),
        Figure(
            SCENARIO,
            "dead letters",
            len(letters),
            detail=", ".join(f"{k} {v}" for k, v in stages.most_common()),
        ),
        Figure(
            SCENARIO,
            "answers by status",
            sum(tally.statuses.values()),
            detail=", ".join(f"{k}: {v}" for k, v in sorted(tally.statuses.items())),
        ),
        Figure(
            SCENARIO, "commonest dead-letter reasons", len(letters), detail=letter_reasons(letters)
        ),
    ]
