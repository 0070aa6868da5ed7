"""Credentials never leave in messages: URL user-info, known secrets, key-shaped words
(pure), and the lazily loaded LLM's failure as ``/health`` reports it."""

from __future__ import annotations

import pytest

from query_api.answering import LazyGeneration
from query_api.generation import GenerationSettings
from query_api.generation.base import LLM
from query_api.generation.redaction import redact, url_credentials


def test_url_credentials_are_taken_out_of_the_url() -> None:
    assert url_credentials("https://alice:k3y-secret@llm.example:8443/v1?x=1") == (
        "https://llm.example:8443/v1?x=1",
        "alice",
        "k3y-secret",
    )
    assert url_credentials("http://token@[::1]/v1") == ("http://[::1]/v1", "token", None)
    assert url_credentials("http://127.0.0.1:8000/v1") == ("http://127.0.0.1:8000/v1", None, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "POST https://alice:k3y@llm.example/v1/chat/completions failed",
            "POST https://***@llm.example/v1/chat/completions failed",
        ),
        ("GET http://llm/v1?api_key=abc123&model=m", "GET http://llm/v1?api_key=***&model=m"),
        (
            '{"error": "Incorrect API key provided: sk-live-abcdef123456"}',
            '{"error": "Incorrect API key provided: ***"}',
        ),
        ("Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer ***"),
        ("nothing to hide here: port 9464", "nothing to hide here: port 9464"),
    ],
)
def test_redact_masks_credential_shapes(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_masks_known_secrets_anywhere() -> None:
    text = "upstream said: key 'opaque-KEY-value' is invalid (opaque-KEY-value-2)"
    assert redact(text, ["opaque-KEY-value", None, "ab"]) == (
        "upstream said: key '***' is invalid (***-2)"
    )


def test_settings_know_their_secrets() -> None:
    settings = GenerationSettings(url="https://u:p4ss@host/v1", api_key="sk-abc")
    assert settings.secrets() == ("sk-abc", "p4ss")
    assert GenerationSettings().secrets() == ()
    assert "p4ss" not in repr(settings)
    assert "sk-abc" not in repr(settings)


async def test_an_llm_that_fails_to_load_is_reported_without_its_credentials() -> None:
    settings = GenerationSettings(url="https://u:p4ss-word@host/v1", api_key="opaque-key-1")

    def failing(_settings: GenerationSettings) -> LLM | None:
        raise RuntimeError("cannot reach https://u:p4ss-word@host/v1 with opaque-key-1")

    generation = LazyGeneration(settings, failing)
    llm, _ = await generation.get()
    assert llm is None
    assert generation.failure == "RuntimeError: cannot reach https://***@host/v1 with ***"
