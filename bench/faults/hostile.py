"""Hostile inputs, generated with hypothesis: events, webhook bodies and files (pure).

Each strategy mixes plain garbage with near-valid inputs that carry one hostile part
(a wrong type, an unknown field, a local file reference, a lone surrogate, deep nesting,
quadratic-parser bait), since those are what reach past the first check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

T = TypeVar("T")

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
LOCAL_REFERENCES = (
    "file:///etc/passwd",
    "file:///proc/self/environ",
    "file:///dev/zero",
    "/etc/shadow",
    "../../../../etc/hosts",
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:29200/_cat/indices",
    "gopher://127.0.0.1:25/",
    "data:text/plain;base64,SGVsbG8=",
)


def _bait(size: int) -> list[str]:
    """Texts that made parsers slow or recursive (issue 12, item 2), at ``size``."""
    return [
        "<div>" * size,
        "<" * size,
        "# " + "x" * (size * 10),
        "![" * size,
        "![a](" * size,
        "[x]: " * size,
        "<table><tr><td>" * size,
        "&#" * size,
        "\u202e" * size + "text",
        "\x00" * size,
    ]


HOSTILE_TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(_bait(3000)),
    st.sampled_from(LOCAL_REFERENCES),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=50),
)
HTML_BAIT = st.one_of(
    st.sampled_from(_bait(3000)),
    st.builds(lambda n, t: "<div>" * n + t, st.integers(100, 5000), st.text(max_size=20)),
    st.builds(lambda u: f'<p>see</p><img src="{u}" alt="x">', st.sampled_from(LOCAL_REFERENCES)),
    st.text(max_size=500),
)


def _valid_event(doc: str) -> dict[str, Any]:
    return {
        "schema": "mmrag.change/1",
        "event_id": f"hostile-{doc}",
        "source": "cms:hostile",
        "doc_id": f"cms:hostile:{doc}",
        "op": "upsert",
        "uri": f"cms://hostile/{doc}",
        "revision": 1,
        "content_type": "text/plain",
        "text": "a hostile but well-formed event",
        "emitted_at": "2026-11-30T12:00:00Z",
    }


EVENT_FIELDS = sorted(_valid_event("x"))


@st.composite
def mutated_event(draw: st.DrawFn) -> bytes:
    """A well-formed event with one to three fields made hostile."""
    event = _valid_event(draw(st.text(min_size=1, max_size=8)))
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from([*EVENT_FIELDS, "assets", "metadata", "new_uri", "extra"]))
        action = draw(st.sampled_from(["drop", "value", "text", "reference", "nest"]))
        if action == "drop":
            event.pop(name, None)
        elif action == "value":
            event[name] = draw(JSON_VALUES)
        elif action == "text":
            event[name] = draw(HOSTILE_TEXT)
        elif action == "reference":
            reference = draw(st.sampled_from(LOCAL_REFERENCES))
            if name == "assets":
                event[name] = [{"uri": reference}]
            else:
                event["uri"] = reference
        else:
            depth = draw(st.integers(100, 20_000))
            event[name] = json.loads("[" * min(depth, 900) + "]" * min(depth, 900))
    return json.dumps(event, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@st.composite
def well_formed_hostile_event(draw: st.DrawFn) -> bytes:
    """A valid event whose content or assets are the attack: parser bait inline, a local
    file or a metadata endpoint as its source or asset. It passes the contract, so the
    worker itself must refuse it (dead letter) or index it harmlessly."""
    event = _valid_event(draw(st.text(min_size=1, max_size=8)))
    event["source"] = draw(st.sampled_from(["cms:hostile", "fs:hostile", "api:hostile"]))
    event["doc_id"] = f"{event['source']}:{draw(st.integers(0, 10**6))}"
    attack = draw(st.sampled_from(["bait", "uri", "asset"]))
    if attack == "bait":
        size = draw(st.sampled_from([100, 3000]))
        event["content_type"] = draw(st.sampled_from(["text/html", "text/markdown", "text/plain"]))
        event["text"] = draw(st.sampled_from(_bait(size)))
    elif attack == "uri":
        event.pop("text")
        event["content_type"] = draw(st.sampled_from([None, "text/plain", "image/png"]))
        event["uri"] = draw(st.sampled_from(LOCAL_REFERENCES))
    else:
        event["assets"] = [{"uri": draw(st.sampled_from(LOCAL_REFERENCES))}]
    return json.dumps(event).encode()


LONE_SURROGATE_EVENT = st.builds(
    lambda doc: json.dumps(_valid_event(doc)).replace("well-formed", "\\ud800").encode(),
    st.text(min_size=1, max_size=8),
)
DEEP_JSON = st.builds(lambda depth: b"[" * depth + b"]" * depth, st.integers(1000, 100_000))

EVENT_BYTES = st.one_of(
    st.binary(max_size=2000),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    mutated_event(),
    mutated_event(),
    well_formed_hostile_event(),
    well_formed_hostile_event(),
    LONE_SURROGATE_EVENT,
    DEEP_JSON,
    st.binary(max_size=50).map(lambda raw: b'{"schema": "mmrag.change/1", "x": "' + raw + b'"}'),
)
"""Records put straight on the changes topic (keys are drawn separately)."""


@st.composite
def generic_entry(draw: st.DrawFn) -> dict[str, Any]:
    """A generic-webhook entry with hostile fields."""
    entry: dict[str, Any] = {
        "id": draw(
            st.one_of(st.text(max_size=30), st.integers(), st.sampled_from(["", "a" * 5000]))
        ),
        "action": draw(
            st.sampled_from(["publish", "update", "delete", "unpublish", "explode", ""])
        ),
    }
    if draw(st.booleans()):
        entry["revision"] = draw(st.one_of(st.integers(), st.text(max_size=5), st.floats()))
    else:
        entry["updated_at"] = draw(
            st.one_of(
                st.sampled_from(["2026-11-30T12:00:00Z", "yesterday", "2026-13-40"]),
                st.text(max_size=20),
            )
        )
    body = draw(st.sampled_from(["html", "text", "both", "none"]))
    if body in ("html", "both"):
        entry["html"] = draw(HTML_BAIT)
    if body in ("text", "both"):
        entry["text"] = draw(HOSTILE_TEXT)
    if draw(st.booleans()):
        entry["images"] = [
            {"url": draw(st.sampled_from(LOCAL_REFERENCES)), "alt": draw(st.text(max_size=20))}
        ]
    if draw(st.integers(0, 4)) == 0:
        entry[draw(st.text(min_size=1, max_size=10))] = draw(JSON_VALUES)
    if draw(st.integers(0, 4)) == 0:
        entry["content_type"] = draw(st.one_of(st.text(max_size=20), st.just("text/markdown")))
    return entry


@st.composite
def well_formed_hostile_entry(draw: st.DrawFn) -> dict[str, Any]:
    """A generic entry that passes the format, with its content or images as the attack."""
    entry: dict[str, Any] = {
        "id": f"hostile-{draw(st.integers(0, 10**6))}",
        "action": "publish",
        "revision": draw(st.integers(0, 2**40)),
    }
    if draw(st.booleans()):
        entry["html"] = draw(HTML_BAIT)
    else:
        entry["text"] = draw(HOSTILE_TEXT)
        entry["content_type"] = draw(st.sampled_from(["text/plain", "text/markdown"]))
    if draw(st.booleans()):
        entry["images"] = [{"url": draw(st.sampled_from(LOCAL_REFERENCES))}]
    return entry


@dataclass(frozen=True)
class Webhook:
    body: bytes
    signed: bool
    """Signed with the source's secret (else unsigned or with a wrong signature)."""


WEBHOOK_BODIES = st.one_of(
    st.binary(max_size=500),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    generic_entry().map(lambda entry: json.dumps(entry).encode("utf-8", "surrogatepass")),
    well_formed_hostile_entry().map(lambda entry: json.dumps(entry).encode()),
    well_formed_hostile_entry().map(lambda entry: json.dumps(entry).encode()),
    st.lists(generic_entry(), min_size=1, max_size=4).map(
        lambda entries: json.dumps({"events": entries}).encode("utf-8", "surrogatepass")
    ),
    DEEP_JSON,
    LONE_SURROGATE_EVENT,
)
WEBHOOKS = st.builds(Webhook, WEBHOOK_BODIES, st.integers(0, 3).map(lambda n: n > 0))


@dataclass(frozen=True)
class HostileFile:
    name: str
    data: bytes


PNG_HUGE = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x9c@\x00\x00\x9c@\x08\x02\x00\x00\x00"
    + b"\x00" * 64
)
PDF_BROKEN = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << >>\n"
FILE_BYTES = st.one_of(
    st.binary(max_size=4000),
    st.sampled_from(_bait(20_000)).map(lambda text: text.encode()),
    st.text(max_size=2000).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.just(b""),
    st.binary(min_size=1, max_size=64).map(lambda raw: b"\xff\xfe" + raw + b"\xc3\x28"),
    st.sampled_from([PNG_HUGE, PDF_BROKEN, b"\xff\xd8\xff\xe0" + b"\x00" * 100]),
)
FILES = st.builds(
    lambda number, ext, data: HostileFile(f"hostile-{number:05d}.{ext}", data),
    st.integers(0, 99_999),
    st.sampled_from(["md", "html", "txt", "pdf", "png", "jpg"]),
    FILE_BYTES,
)


def generate(strategy: st.SearchStrategy[T], count: int, random_seed: int) -> list[T]:
    """``count`` examples of ``strategy`` (fewer if it cannot make that many), reproducibly."""
    found: list[T] = []

    @seed(random_seed)
    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: T) -> None:
        found.append(example)

    collect()
    return found[:count]
