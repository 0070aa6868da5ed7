"""The web page in a real browser: Debian's Chromium, driven by Selenium through
chromedriver, against the real API over HTTP and documents indexed by the real pipeline.

The answer here is extractive (no LLM): the page must show it streaming with clickable
citations either way.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from elasticsearch import Elasticsearch

from indexer.change_log import ChangeLogSettings
from indexer.encoders.base import Encoders
from indexer.encoders.loading import load_encoders
from indexer.encoders.settings import EncoderSettings
from indexer.events import ChangeEvent, derive_doc_id, utc_now
from indexer.pipeline import IndexingPipeline
from indexer.settings import IndexerSettings
from indexer.sources import ContentReader
from indexer.store.elasticsearch import ElasticsearchStore
from query_api.app import create_app
from query_api.generation import GenerationSettings
from query_api.settings import ApiSettings
from tests.integration import documents
from tests.integration.pipeline_helpers import failed_outcomes

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _corpus(folder: Path) -> list[Path]:
    folder.mkdir()
    (folder / "deletes.md").write_text(
        "# Deletes\n\nWhen a file is deleted, mmrag removes every chunk of the document from "
        "the index within about a second, and keeps a tombstone with the revision."
    )
    (folder / "freshness.md").write_text(
        "# Freshness\n\nEvery change becomes searchable within about a second: the worker "
        "writes with refresh wait_for."
    )
    documents.pdf_with_picture(folder / "report.pdf")
    (folder / "sunset.jpg").write_bytes(documents.jpeg_bytes("orange"))
    return sorted(folder.iterdir())


async def _index(settings: IndexerSettings, encoders: Encoders, files: list[Path]) -> None:
    store = ElasticsearchStore(settings)
    pipeline = IndexingPipeline(settings, store, encoders, ContentReader(settings))
    await pipeline.setup()
    events = [
        ChangeEvent(
            event_id=uuid.uuid4().hex,
            source="fs:e2e",
            doc_id=derive_doc_id("fs:e2e", path.name),
            op="upsert",
            uri=path.as_uri(),
            revision=1,
            emitted_at=utc_now(),
        )
        for path in files
    ]
    result = await pipeline.process(events)
    await store.close()
    assert not failed_outcomes(result), failed_outcomes(result)


@pytest.fixture
def api_url(es_url: str, unique_name: str, tiny_random_clip: Path, tmp_path: Path) -> Iterator[str]:
    settings = IndexerSettings(
        elasticsearch_url=es_url,
        chunks_alias=f"test-{unique_name}-chunks",
        documents_index=f"test-{unique_name}-documents",
        allowed_roots=(tmp_path,),  # events made here declare no watched root
    )
    encoders = load_encoders(EncoderSettings(clip_model=str(tiny_random_clip)))
    asyncio.run(_index(settings, encoders, _corpus(tmp_path / "docs")))
    app = create_app(
        ApiSettings(),
        store_settings=settings,
        encoders_factory=lambda: encoders,
        generation_settings=GenerationSettings(),
        change_log_settings=ChangeLogSettings(),
        llm_factory=lambda _settings: None,
    )
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started, "the API did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        client = Elasticsearch(es_url)
        client.options(ignore_status=404).indices.delete(
            index=f"{settings.chunks_alias}-000001,{settings.documents_index}"
        )
        client.close()


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        pytest.fail(
            "the browser test needs Debian's chromium and chromium-driver "
            "(`make system-deps` installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_search_shows_an_image_hit_and_ask_streams_a_cited_answer(
    api_url: str, browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    assert isinstance(driver, WebDriver)
    wait = WebDriverWait(driver, 30)
    try:
        _use_the_page(driver, wait, api_url, tmp_path)
    except Exception as error:
        # The original failure (which assertion, which wait) stays the error; what the
        # page showed is added to its report.
        driver.save_screenshot(str(tmp_path / "failure.png"))
        state = driver.execute_script(
            "return ['search-status','answer','generator'].map(id => id + ': ' + "
            "(document.getElementById(id) || {}).textContent).join(' | ')"
        )
        error.add_note(f"page state: {state} (screenshot: {tmp_path / 'failure.png'})")
        raise


def _use_the_page(driver: Any, wait: Any, api_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until

    driver.get(api_url + "/")
    assert "mmrag" in driver.title

    query = driver.find_element(By.ID, "query")
    query.send_keys("red circle diagram")
    driver.find_element(By.ID, "search-button").click()
    wait.until(
        until.presence_of_element_located((By.CSS_SELECTOR, "#image-results .image-hit img"))
    )
    wait.until(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('#image-results img')]"
            ".some(img => img.complete && img.naturalWidth > 0)"
        )
    )
    status = driver.find_element(By.ID, "search-status").text
    assert "results" in status
    captions = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#image-results figcaption")]
    assert any("report.pdf" in caption for caption in captions)

    driver.find_element(By.ID, "question").send_keys("What happens when a file is deleted?")
    driver.find_element(By.ID, "ask-button").click()
    wait.until(until.presence_of_element_located((By.CSS_SELECTOR, "#citations li")))
    wait.until(lambda d: "answered by" in d.find_element(By.ID, "generator").text)
    answer = driver.find_element(By.ID, "answer").text
    assert "[1]" in answer
    links = driver.find_elements(By.CSS_SELECTOR, "#answer a.cite")
    assert links
    cited = {
        item.get_attribute("id") for item in driver.find_elements(By.CSS_SELECTOR, "#citations li")
    }
    assert {f"citation-{link.get_attribute('data-number')}" for link in links} <= cited
    sources = driver.find_element(By.ID, "citations").text
    assert "deletes.md" in sources

    screenshot = tmp_path / "web-page.png"
    assert driver.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000
