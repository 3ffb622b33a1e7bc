"""The hall's single writer: commands from every connection, in arrival order, group-committed.

Connections submit commands and await their outcome. One task takes whatever has queued up
(up to `MAX_BATCH`), lets the core decide it on the event loop (`HallService.decide`), and
commits its events on a thread of its own (`HallService.commit`: one transaction, one fsync for
all), so that while the disk or the database works, the loop goes on reading frames, queueing
the next commands and fanning out. Only after the commit does it hand the batch's wire messages
to the hub and resolve each submitter. Commands that arrive while a batch is being written form
the next batch, so under load the fsync is shared by many kiosks without giving up
`synchronous=FULL`.

**No reader sees what is not durable.** The core changes the hall state in place as it
decides, so between the decision and the commit the state holds a batch that may still fail.
Every reader on the loop (a hello's snapshot, a clerk's window, `stats`, the HTTP pages and
`/healthz`) first awaits `settled()`, which returns at once when no batch is in flight and
otherwise when the batch in flight has landed, and reads the state in that same step, with no
await in between. The writer, after each batch, yields once before deciding the next one, so
every task woken by the batch (its submitters building their replies, the readers waiting in
`settled`) runs against the committed state first. Readers wait at most one commit; they are
never starved, however busy the hall. Had we instead applied the state after the commit, the
core would have to decide on a copy of the whole day's state for every batch.

The next batch is not decided while one is being committed: replies are built from the live
state right after their commit, so with two batches ahead of the disk a reply could show the
second one before it is durable. One batch at a time keeps that true by construction, and costs
little: what arrives during a commit is queued and becomes the next batch at once.

A failed commit tells nobody "done": every submitter of the batch gets `WriterFailed`, and the
commit thread has rebuilt the state from the store (`HallService.commit`) before anyone may read
it again.

Before each batch the writer asks `before_batch` (the server's check for revoked credentials,
queue_server.revocation) and drops the commands of any session that has ended since it sent
them: a kiosk revoked a moment ago gets no ticket, even with its request already queued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from queue_server import commands as cmd
from queue_server.events import Event
from queue_server.hall_service import HallService, Outcome
from queue_server.hall_state import HallState
from queue_server.store.hall_records import Fenced

MAX_BATCH = 512
log = logging.getLogger("queue_server.writer")


class WriterFailed(Exception):
    """The batch could not be committed; nothing of it happened."""


class SessionEnded(Exception):
    """The session that sent the command ended (its credentials were revoked) before the
    command was written; it was not carried out."""


class Submitter(Protocol):
    ended: str | None
    """Why its session was ended, once it is (`sessions.Session.end`); None until then."""


@dataclass(slots=True)
class _Pending:
    command: cmd.Command
    now: datetime
    done: asyncio.Future
    by: Submitter | None


class Writer:
    def __init__(self, service: HallService,
                 observe: Callable[[HallState, list[Event]], Any],
                 publish: Callable[[Any], None],
                 before_batch: Callable[[], None] = lambda: None,
                 on_fenced: Callable[[], None] = lambda: None):
        self.service = service
        self.before_batch = before_batch
        self.on_fenced = on_fenced   # another server took the hall: this one must stop serving it
        zone = service.definition.hall.zone
        self.clock: Callable[[], datetime] = lambda: datetime.now(zone)  # wire times in hall time
        self.observe = observe
        self.publish = publish
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self.batches = 0
        self.commands = 0
        self.failed: str | None = None   # the last batch's database error, until one commits
        self.committed_seq = service.state.seq   # the log's last durable event
        self.committer = ThreadPoolExecutor(1, thread_name_prefix="hall-commit")
        self._landed = asyncio.Event()   # set while no batch is between decision and commit
        self._landed.set()

    async def submit(self, command: cmd.Command, by: Submitter | None = None) -> Outcome:
        done = asyncio.get_running_loop().create_future()
        await self.queue.put(_Pending(command, self.clock(), done, by))
        return await done

    async def settled(self) -> None:
        """Return once the hall state holds nothing uncommitted: at once when no batch is in
        flight, else when it has landed. Read the state in the same step as this returns."""
        while not self._landed.is_set():
            await self._landed.wait()

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            await self._write(batch)
            # Let every task this batch woke (its replies, the readers in `settled`) run before
            # the next batch changes the state again: they are already queued on the loop.
            await asyncio.sleep(0)

    def close(self) -> None:
        """Wait for a commit still running (the server is stopping), then end the thread."""
        self.committer.shutdown(wait=True)

    async def _write(self, batch: list[_Pending]) -> None:
        try:
            self.before_batch()
        except Exception:     # the database is away: the batch below will say so to everyone
            log.exception("checking for revoked credentials failed")
        ended = [p for p in batch if p.by is not None and p.by.ended]
        for pending in ended:
            if not pending.done.done():
                pending.done.set_exception(SessionEnded())
        if ended:
            batch = [p for p in batch if p.by is None or not p.by.ended]
            if not batch:
                return
        commands = [(p.command, p.now) for p in batch]
        self._landed.clear()
        try:
            outcomes, events = self.service.decide(commands, self.observe)
            await asyncio.get_running_loop().run_in_executor(
                self.committer, self.service.commit, events, commands[-1][1])
        except Exception as error:   # the database failed: nobody is told "done"
            log.exception("batch of %d commands not committed", len(batch))
            self.failed = f"{type(error).__name__}: {error}"[:300]
            self._land()
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(WriterFailed(str(error)))
            if isinstance(error, Fenced):
                self.on_fenced()
            return
        self._land()
        self.failed = None
        self.batches += 1
        self.commands += len(batch)
        try:   # the messages of the whole batch at once, so that the hub can merge them
            self.publish([message for o in outcomes if o.observed for message in o.observed])
        except Exception:    # committed all the same: a send problem must not stop the hall
            log.exception("publishing the events of a batch of %d commands failed", len(batch))
        for pending, outcome in zip(batch, outcomes, strict=True):
            if not pending.done.done():
                pending.done.set_result(outcome)

    def _land(self) -> None:
        """The state is the disk's again (committed, or rebuilt after a failed commit)."""
        self.committed_seq = self.service.state.seq
        self._landed.set()
