"""The watcher's runtime: watchdog events → debouncer → planning → Kafka → state.

Reconciliations (the scan on start, SIGHUP, the periodic rescan, ``--resend``) are bulk
work and go to the backfill lane; changes seen while watching go to the live lane
(``stream.lanes``)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from indexer.dead_letters import DeadLetter
from indexer.events import ChangeEvent, derive_doc_id, utc_now
from stream.lanes import Lane, Trigger, lane_for
from stream.producer import ProducerUnavailable
from stream.watcher.debounce import Debouncer
from stream.watcher.events import change_to_event
from stream.watcher.filters import PathFilter
from stream.watcher.observe import FileProblem, observe_file, walk_files
from stream.watcher.planning import KnownFile, ObservedFile, plan_changes
from stream.watcher.settings import WatchSettings
from stream.watcher.state import WatchState, state_file_for

logger = logging.getLogger(__name__)

RETRY_DELAY_S = 2.0
ProgressCallback = Callable[[int, int], None]


class EventSink(Protocol):
    """Where the watcher writes (a ``ChangeProducer``); both calls wait for Kafka's ack."""

    async def send_many(self, events: Iterable[ChangeEvent], *, lane: Lane) -> None: ...

    async def send_dead_letter(self, letter: DeadLetter) -> None: ...


@dataclass(frozen=True)
class RawEvent:
    kind: str
    path: str
    destination: str | None
    is_directory: bool


@dataclass
class Outcome:
    """What one pass (a reconciliation or a debounced batch) emitted."""

    events: list[ChangeEvent]
    problems: int = 0

    def count(self, op: str) -> int:
        return sum(1 for event in self.events if event.op.value == op)


class _Forwarder(FileSystemEventHandler):
    """Runs in watchdog's thread; hands each event to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[RawEvent | None]):
        self._loop = loop
        self._queue = queue

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in {"opened", "closed_no_write"}:
            return
        destination = getattr(event, "dest_path", "") or None
        raw = RawEvent(
            event.event_type,
            os.fsdecode(event.src_path),
            os.fsdecode(destination) if destination else None,
            event.is_directory,
        )
        self._loop.call_soon_threadsafe(self._queue.put_nowait, raw)


class DirectoryWatcher:
    """Watches one root directory; its documents have the source ``fs:<name>``."""

    def __init__(
        self,
        root: Path,
        sink: EventSink,
        settings: WatchSettings,
        source_name: str | None = None,
    ) -> None:
        self.root = root.resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"{root} is not a directory")
        self.source = f"fs:{source_name or self.root.name or 'root'}"
        self._sink = sink
        self._settings = settings
        self._filter = PathFilter.from_settings(settings)
        self._state = WatchState(state_file_for(settings.state_dir, self.source), self.root)
        self._debouncer: Debouncer[str] = Debouncer(settings.debounce_ms / 1000)
        self._queue: asyncio.Queue[RawEvent | None] = asyncio.Queue()
        self._reconcile_requested = False
        self._stopping = False
        self.ready = asyncio.Event()
        """Set by :meth:`run` once file events are being observed and the initial
        reconciliation has been sent: a change made after that is seen live."""
        self.sent: dict[Lane, int] = {Lane.LIVE: 0, Lane.BACKFILL: 0}
        """Change events this watcher had acknowledged, per lane."""

    def close(self) -> None:
        self._state.close()

    def request_reconcile(self) -> None:
        """Ask the running watcher to rescan the whole tree (e.g. on SIGHUP)."""
        self._reconcile_requested = True
        self._queue.put_nowait(None)

    def stop(self) -> None:
        self._stopping = True
        self._queue.put_nowait(None)

    # -- reconciliation ------------------------------------------------------------------

    async def reconcile(
        self,
        on_progress: ProgressCallback | None = None,
        *,
        resend: bool = False,
        trigger: Trigger = Trigger.INITIAL_SCAN,
    ) -> Outcome:
        """Compare the whole tree with the state and emit exactly what differs
        (``resend``: every present file again, e.g. after the index was lost), on the
        backfill lane."""
        started = time.monotonic()
        paths = await asyncio.to_thread(lambda: list(walk_files(self.root, self._filter)))
        known = self._state.known()
        wanted = set(paths) | {path for path, entry in known.items() if not entry.deleted}
        outcome = await self._process(
            sorted(wanted),
            on_progress,
            resend=resend,
            trigger=Trigger.RESEND if resend else trigger,
        )
        logger.info(
            "reconciled source=%s files=%d upserts=%d deletes=%d moves=%d problems=%d ms=%.0f",
            self.source,
            len(paths),
            outcome.count("upsert"),
            outcome.count("delete"),
            outcome.count("move"),
            outcome.problems,
            (time.monotonic() - started) * 1000,
        )
        return outcome

    async def _process(
        self,
        paths: list[str],
        on_progress: ProgressCallback | None = None,
        *,
        resend: bool = False,
        trigger: Trigger = Trigger.LIVE_CHANGE,
    ) -> Outcome:
        known = self._state.known(paths)
        observed, problems = await asyncio.to_thread(self._observe, paths, known, on_progress)
        self._state.clear_problems(path for path, now in observed.items() if now is not None)
        reported = 0
        for problem in problems:
            reported += await self._report(problem)
        plan = plan_changes(
            known, observed, lambda path: derive_doc_id(self.source, path), resend=resend
        )
        emitted_at = utc_now()
        events = [
            change_to_event(change, source=self.source, root=self.root, emitted_at=emitted_at)
            for change in plan.changes
        ]
        lane = lane_for(trigger)
        if events:
            await self._sink.send_many(events, lane=lane)
            self.sent[lane] += len(events)
        self._state.record(plan.changes, plan.content_unchanged)
        for event in events:
            logger.info(
                "emitted op=%s lane=%s doc_id=%s uri=%s revision=%d",
                event.op.value,
                lane.value,
                event.doc_id,
                event.new_uri or event.uri,
                event.revision,
            )
        return Outcome(events, reported)

    def _observe(
        self,
        paths: list[str],
        known: dict[str, KnownFile],
        on_progress: ProgressCallback | None,
    ) -> tuple[dict[str, ObservedFile | None], list[FileProblem]]:
        """Runs in a worker thread: stat and hash files (no state access here)."""
        observed: dict[str, ObservedFile | None] = {}
        problems = []
        for done, path in enumerate(paths, start=1):
            result = observe_file(self.root, path, known.get(path), self._settings.max_file_bytes)
            if isinstance(result, FileProblem):
                problems.append(result)
            else:
                observed[path] = result
            if on_progress is not None:
                on_progress(done, len(paths))
        return observed, problems

    async def _report(self, problem: FileProblem) -> int:
        if not self._state.problem_is_new(problem.path, problem.signature):
            return 0
        logger.warning(
            "skipped source=%s path=%s reason=%s", self.source, problem.path, problem.reason
        )
        await self._sink.send_dead_letter(
            DeadLetter(
                stage="watch",
                reason=problem.reason,
                source=self.source,
                uri=(self.root / problem.path).as_uri(),
            )
        )
        return 1

    # -- live watching ---------------------------------------------------------------------

    def _start_observer(self, handler: FileSystemEventHandler) -> BaseObserver:
        """inotify (or the platform's native API); polling when asked for, or when the
        native observer cannot start (e.g. the inotify watch limit is reached)."""
        if not self._settings.polling:
            native = Observer()
            try:
                native.schedule(handler, str(self.root), recursive=True, follow_symlink=False)
                native.start()
            except OSError as error:
                logger.warning(
                    "native file events unavailable (%s): polling every %.1fs instead",
                    error,
                    self._settings.poll_interval_s,
                )
            else:
                return native
        # lstat, not stat: a symbolic link to a directory is not walked into, so the
        # snapshot never leaves the root and a loop (``ln -s . x``) is never followed.
        polling = PollingObserverVFS(
            os.lstat, os.scandir, polling_interval=self._settings.poll_interval_s
        )
        polling.schedule(handler, str(self.root), recursive=True)
        polling.start()
        return polling

    async def run(self, on_progress: ProgressCallback | None = None) -> None:
        """Watch until :meth:`stop`; the tree is reconciled first (events arriving during
        the scan are queued and processed after it)."""
        observer = self._start_observer(_Forwarder(asyncio.get_running_loop(), self._queue))
        try:
            await self.reconcile(on_progress)
            self.ready.set()
            await self._loop()
        finally:
            observer.stop()
            await asyncio.to_thread(observer.join, 5)

    async def _loop(self) -> None:
        rescan_every = self._settings.rescan_interval_s
        next_rescan = time.monotonic() + rescan_every if rescan_every else None
        while not self._stopping:
            deadlines = [d for d in (self._debouncer.next_deadline(), next_rescan) if d]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            try:
                raw = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                raw = None
            while True:
                if raw is not None:
                    self._note(raw)
                if self._queue.empty():
                    break
                raw = self._queue.get_nowait()
            if self._stopping:
                break
            now = time.monotonic()
            if self._reconcile_requested or (next_rescan is not None and now >= next_rescan):
                self._reconcile_requested = False
                next_rescan = now + rescan_every if rescan_every else None
                await self._guarded(self.reconcile(trigger=Trigger.RECONCILE))
            due = self._debouncer.due(time.monotonic())
            if due and not await self._guarded(self._process(due)):
                for path in due:
                    self._debouncer.touch(path, time.monotonic(), delay_s=RETRY_DELAY_S)

    async def _guarded(self, work: Coroutine[object, object, object]) -> bool:
        try:
            await work
        except ProducerUnavailable as error:
            logger.error("kafka unavailable, will retry in %.0fs: %s", RETRY_DELAY_S, error)
            return False
        return True

    def _relative(self, path: str) -> str | None:
        relative = os.path.relpath(path, self.root)
        if relative == "." or relative.startswith(".." + os.sep) or relative == "..":
            return None
        return relative.replace(os.sep, "/")

    def _note(self, raw: RawEvent) -> None:
        now = time.monotonic()
        for path in (raw.path, raw.destination):
            if path is None:
                continue
            relative = self._relative(path)
            if relative is None:
                continue
            if raw.is_directory:
                self._note_directory(relative, now)
            elif self._filter.wants_file(relative) or self._state.known([relative]):
                self._debouncer.touch(relative, now)

    def _note_directory(self, relative: str, now: float) -> None:
        for known_path in self._state.live_paths_under(relative):
            self._debouncer.touch(known_path, now)
        directory = self.root / relative
        if directory.is_symlink():  # never walked into: it may lead out of the root
            return
        if directory.is_dir() and self._filter.wants_directory(relative):
            for path in walk_files(self.root, self._filter, relative):
                self._debouncer.touch(path, now)
