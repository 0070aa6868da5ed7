"""mmrag.bootstrap: every process's settings from a given environment mapping."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mmrag import bootstrap
from mmrag.bootstrap import ConfigurationError

ENVIRON = {
    "MMRAG_KAFKA_BOOTSTRAP": "kafka:9092",
    "MMRAG_CHANGES_TOPIC": "live",
    "MMRAG_BACKFILL_TOPIC": "bulk",
    "MMRAG_WORKER_APP_ID": "indexer-7",
    "MMRAG_WORKER_BATCH_SIZE": "16",
    "MMRAG_ELASTICSEARCH_URL": "http://es:9200",
    "MMRAG_TEXT_MODEL": "/models/text",
    "MMRAG_API_PORT": "9001",
    "MMRAG_API_KEYS": '{"k-1": {"name": "alice", "principals": ["team-a"]}}',
    "MMRAG_LLM_PROVIDER": "none",
    "MMRAG_WATCH_POLLING": "true",
    "MMRAG_CMS_PORT": "8123",
}


@pytest.fixture(autouse=True)
def hostile_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Values in os.environ that the given mapping contradicts: they must not leak in."""
    monkeypatch.setenv("MMRAG_KAFKA_BOOTSTRAP", "wrong:1")
    monkeypatch.setenv("MMRAG_API_PORT", "1")
    monkeypatch.setenv("MMRAG_WORKER_BATCH_SIZE", "not a number")


def test_the_worker_gets_every_settings_object_from_the_mapping() -> None:
    configuration = bootstrap.worker_configuration(ENVIRON)
    assert configuration.stream.kafka_bootstrap == "kafka:9092"
    assert configuration.stream.change_topics == ("live", "bulk")
    assert configuration.worker.app_id == "indexer-7"
    assert configuration.worker.batch_size == 16
    assert configuration.indexer.elasticsearch_url == "http://es:9200"
    assert configuration.encoders.text_model == "/models/text"


def test_an_empty_mapping_gives_the_local_stack_defaults() -> None:
    configuration = bootstrap.worker_configuration({})
    assert configuration.stream.kafka_bootstrap == "127.0.0.1:19092"
    assert configuration.stream.change_topics == ("mmrag.changes", "mmrag.changes.backfill")
    assert configuration.worker.app_id == configuration.stream.worker_app_id == "mmrag-indexer"
    assert configuration.worker.batch_size == 64


def test_the_api_gets_its_settings_and_the_shared_kafka_names() -> None:
    configuration = bootstrap.api_configuration(ENVIRON)
    assert configuration.api.port == 9001
    assert set(configuration.api.api_keys) == {"k-1"}
    assert configuration.store.elasticsearch_url == "http://es:9200"
    assert configuration.generation.provider == "none"
    assert configuration.encoders.text_model == "/models/text"
    names = configuration.change_log
    assert (names.kafka_bootstrap, names.worker_app_id) == ("kafka:9092", "indexer-7")
    assert names.change_topics == ("live", "bulk")


def test_command_line_options_win_over_the_environment() -> None:
    api = bootstrap.api_configuration(ENVIRON, host="0.0.0.0", port=7000).api
    assert (api.host, api.port) == ("0.0.0.0", 7000)
    assert bootstrap.api_configuration(ENVIRON, port=None).api.port == 9001
    assert bootstrap.watch_configuration(ENVIRON).watch.polling is True
    assert bootstrap.watch_configuration(ENVIRON, polling=False).watch.polling is False


def test_the_cms_ingress_watcher_and_kafka_commands() -> None:
    cms = bootstrap.cms_configuration(ENVIRON)
    assert cms.cms.port == 8123
    assert cms.stream.changes_topic == "live"
    assert bootstrap.watch_configuration(ENVIRON).stream.backfill_topic == "bulk"
    assert bootstrap.stream_settings(ENVIRON).dead_letter_topic == "mmrag.changes.dlq"


def test_variable_names_are_case_insensitive_as_in_the_environment() -> None:
    assert bootstrap.stream_settings({"mmrag_changes_topic": "lower"}).changes_topic == "lower"


def test_a_bad_value_names_its_variable_and_what_is_wrong() -> None:
    with pytest.raises(ConfigurationError) as raised:
        bootstrap.api_configuration(
            {"MMRAG_API_PORT": "eighty", "MMRAG_API_WEIGHTS": '{"bm25": -1}'}
        )
    message = str(raised.value)
    assert message.startswith("invalid ApiSettings: ")
    assert "MMRAG_API_PORT: Input should be a valid integer" in message
    assert "MMRAG_API_WEIGHTS: Value error, weights must be ≥ 0 (negative: bm25)" in message


def test_a_bad_value_in_a_nested_setting_names_the_path() -> None:
    with pytest.raises(ConfigurationError, match=r"MMRAG_CMS_SOURCES\.blog\.kind"):
        bootstrap.cms_configuration(
            {"MMRAG_CMS_SOURCES": '{"blog": {"kind": "nope", "secret": "s"}}'}
        )


def test_the_command_line_reports_bad_settings_in_one_line_without_a_traceback() -> None:
    environ = {**os.environ, "MMRAG_WORKER_BATCH_SIZE": "0", "MMRAG_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    finished = subprocess.run(
        [sys.executable, "-m", "mmrag", "worker"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 2
    assert finished.stderr == (
        "error: invalid WorkerSettings: MMRAG_WORKER_BATCH_SIZE: Input should be greater than 0\n"
    )
