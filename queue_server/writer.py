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
whatever the batch woke (its submitters building their replies, by a task or a done callback;
the readers waiting in `settled`) runs against the committed state first. Readers wait at most
one commit; they are never starved, however busy the hall. Had we instead applied the state
after the commit, the core would have to decide on a copy of the whole day's state for every
batch.

The next batch is not decided while one is being committed: replies are built from the live
state right after their commit, so with two batches ahead of the disk a reply could show the
second one before it is durable. One batch at a time keeps that true by construction, and costs
little: what arrives during a commit is queued and becomes the next batch at once.

A failed commit tells nobody "done": every submitter of the batch gets `WriterFailed`, and the
commit thread has rebuilt the state from the store (`HallService.commit`) before anyone may read
it again. If the store cannot be read either (the database is away), the state stays ahead of
the disk (`HallService.ahead`) and readers keep waiting: the next batch (at the latest the
hall's next tick, a few seconds later) rebuilds it on the commit thread before anything else,
and lets them in once that worked. `/healthz` does not wait: it says the state is owed a
rebuild.

**A revoked session gets nothing written.** Before each batch the writer drops the commands of
any session that has ended since it sent them (sessions are ended by the server's check for
revoked credentials, queue_server.revocation), and the commit writes the batch only if the
hall's `credentials_version` is still the one those sessions were checked against, in the same
statement as the events (`event_log.append`: on PostgreSQL one round trip, where a read before
each batch cost one more). If the version moved, nothing was written: the writer runs the check
(ending the sessions the change revoked) and, when none of the batch's senders was ended,
commits the same events again; otherwise the state is reverted and the rest of the batch
decided anew. So a kiosk revoked a moment ago gets no ticket, even with its request already
queued, and a credentials change that touches no one in the batch costs one more statement. A
batch of refusals only has nothing to write: the check is then a read of its own, so that an
ended session is told so rather than answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
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


class Credentials(Protocol):
    """What the writer asks of the server's check for revoked credentials (`revocation`)."""

    version: int
    """The hall's `credentials_version` every open session has been checked against."""

    def check(self) -> None:
        """Read the version; if it moved, end the sessions it no longer allows."""


@dataclass(slots=True)
class _Pending:
    command: cmd.Command
    now: datetime
    done: asyncio.Future[Outcome]
    by: Submitter | None


class Writer:
    def __init__(self, service: HallService,
                 observe: Callable[[HallState, list[Event]], Any],
                 publish: Callable[[Any], None],
                 credentials: Credentials | None = None,
                 on_fenced: Callable[[], None] = lambda: None,
                 answered: Callable[[], None] = lambda: None):
        self.service = service
        self.credentials = credentials
        self.on_fenced = on_fenced   # another server took the hall: this one must stop serving it
        # Run once the submitters of a batch have been told, after their outcomes' callbacks in
        # the same turn of the loop: the server writes the replies they made (`fanout.Replies`).
        self.answered = answered
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
        return await self.enqueue(command, by)

    def enqueue(self, command: cmd.Command, by: Submitter | None = None
                ) -> asyncio.Future[Outcome]:
        """Queue a command now; its outcome is set once its batch has committed (else the
        future holds `WriterFailed` or `SessionEnded`)."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait(_Pending(command, self.clock(), done, by))   # never full
        return done

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
            # Let whatever this batch woke (its replies, the readers in `settled`) run before
            # the next batch changes the state again: they are already queued on the loop.
            await asyncio.sleep(0)

    def abandon(self, batch: Sequence[_Pending] = ()) -> None:
        """The hall is no longer served here: every command waiting (and those of `batch`, in
        flight) is answered that it did not happen, so that nobody waits for ever. A batch
        whose commit was already running may still land: its tickets are in the log, and the
        next leader has them."""
        waiting = list(batch)
        while not self.queue.empty():
            waiting.append(self.queue.get_nowait())
        for pending in waiting:
            if not pending.done.done():
                pending.done.set_exception(WriterFailed("本大厅已转由另一台服务器服务"))

    def close(self) -> None:
        """Wait for a commit still running (the server is stopping), then end the thread."""
        self.committer.shutdown(wait=True)

    async def _write(self, batch: list[_Pending]) -> None:
        self._landed.clear()
        try:
            while True:
                batch = _without_ended(batch)
                if not batch:
                    self._land()
                    return
                commands = [(p.command, p.now) for p in batch]
                if self.service.ahead:   # a revert failed: rebuilt first, off the event loop
                    await asyncio.get_running_loop().run_in_executor(
                        self.committer, self.service.revert, commands[-1][1])
                outcomes, events = self.service.decide(commands, self.observe)
                if await self._commit(batch, events, commands[-1][1]):
                    break
        except asyncio.CancelledError:   # the hall is no longer served here (Server.lose)
            self._land(given_up=True)
            self.abandon(batch)
            raise
        except Exception as error:   # the database failed: nobody is told "done"
            log.exception("batch of %d commands not committed", len(batch))
            self.failed = f"{type(error).__name__}: {error}"[:300]
            self._land()
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(WriterFailed(str(error)))
            self._told()
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
        self._told()

    def _told(self) -> None:
        """The batch's outcomes are set; their callbacks run at the next turn of the loop, and
        `answered` right after them, in that turn. (Scheduled by the callbacks themselves,
        the replies' write waited one more turn: docs/performance.md, replies a turn sooner.)"""
        asyncio.get_running_loop().call_soon(self.answered)

    async def _commit(self, batch: list[_Pending], events: list[Event], now: datetime) -> bool:
        """Commit a decided batch on the commit thread, against the credentials version its
        senders were checked against; False if a sender was ended meanwhile, the state then
        as on disk for the rest of the batch to be decided again."""
        loop = asyncio.get_running_loop()
        credentials = self.credentials
        if credentials is None:
            await loop.run_in_executor(self.committer, self.service.commit, events, now, None)
            return True
        if not events:   # refusals only: nothing to write, and an ended sender is told so
            try:
                credentials.check()
            except Exception:   # the database is away: the refusals stand
                log.exception("checking for revoked credentials failed")
            return not _ended(batch)
        while not await loop.run_in_executor(self.committer, self.service.commit, events, now,
                                             credentials.version):
            resend = False
            try:
                credentials.check()               # ends the sessions the change revoked
                resend = not _ended(batch)
            finally:
                if not resend:   # a sender was ended, or the check failed: undo the decision
                    await loop.run_in_executor(self.committer, self.service.revert, now)
            if not resend:
                return False
        return True

    def _land(self, given_up: bool = False) -> None:
        """The state is the disk's again (committed, or rebuilt after a failed commit): readers
        may go on. Not while a rebuild is still owed, unless the hall is given up here (its
        sessions are ended; nobody must wait for ever)."""
        if self.service.ahead and not given_up:
            return
        self.committed_seq = self.service.state.seq
        self._landed.set()


def _sender_ended(pending: _Pending) -> bool:
    return pending.by is not None and bool(pending.by.ended)


def _ended(batch: list[_Pending]) -> bool:
    """Whether a command of the batch was sent by a session that has ended since."""
    return any(_sender_ended(p) for p in batch)


def _without_ended(batch: list[_Pending]) -> list[_Pending]:
    """The batch without the commands of sessions that have ended, which are refused."""
    kept = []
    for pending in batch:
        if _sender_ended(pending):
            if not pending.done.done():
                pending.done.set_exception(SessionEnded())
        else:
            kept.append(pending)
    return kept
