"""The hall's single writer: commands from every connection, in arrival order, group-committed.

Connections submit commands and await their outcome. One task takes whatever has queued up
(up to `MAX_BATCH`), runs it through `HallService.execute_batch` — one transaction, one fsync
for all — and only after the commit hands the batch's wire messages to the hub and resolves
each submitter. Commands that arrive while a batch is being written form the next batch, so
under load the fsync is shared by many kiosks without giving up `synchronous=FULL`.

Before each batch the writer asks `before_batch` (the server's check for revoked credentials,
queue_server.revocation) and drops the commands of any session that has ended since it sent
them: a kiosk revoked a moment ago gets no ticket, even with its request already queued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from queue_server import commands as cmd
from queue_server.events import Event
from queue_server.hall_service import HallService, Outcome
from queue_server.hall_state import HallState

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
                 before_batch: Callable[[], None] = lambda: None):
        self.service = service
        self.before_batch = before_batch
        zone = service.definition.hall.zone
        self.clock: Callable[[], datetime] = lambda: datetime.now(zone)  # wire times in hall time
        self.observe = observe
        self.publish = publish
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self.batches = 0
        self.commands = 0
        self.failed: str | None = None   # the last batch's database error, until one commits

    async def submit(self, command: cmd.Command, by: Submitter | None = None) -> Outcome:
        done = asyncio.get_running_loop().create_future()
        await self.queue.put(_Pending(command, self.clock(), done, by))
        return await done

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
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
        try:
            outcomes = self.service.execute_batch([(p.command, p.now) for p in batch],
                                                  self.observe)
        except Exception as error:   # the database failed: nobody is told "done"
            log.exception("batch of %d commands not committed", len(batch))
            self.failed = f"{type(error).__name__}: {error}"[:300]
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(WriterFailed(str(error)))
            return
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
