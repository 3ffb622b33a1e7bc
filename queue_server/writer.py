"""The hall's single writer: commands from every connection, in arrival order, group-committed.

Connections submit commands and await their outcome. One task takes whatever has queued up
(up to `MAX_BATCH`), runs it through `HallService.execute_batch` — one transaction, one fsync
for all — and only after the commit hands the batch's wire messages to the hub and resolves
each submitter. Commands that arrive while a batch is being written form the next batch, so
under load the fsync is shared by many kiosks without giving up `synchronous=FULL`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from queue_server import commands as cmd
from queue_server.events import Event
from queue_server.hall_service import HallService, Outcome
from queue_server.hall_state import HallState

MAX_BATCH = 512
log = logging.getLogger("queue_server.writer")


class WriterFailed(Exception):
    """The batch could not be committed; nothing of it happened."""


@dataclass(slots=True)
class _Pending:
    command: cmd.Command
    now: datetime
    done: asyncio.Future


class Writer:
    def __init__(self, service: HallService,
                 observe: Callable[[HallState, list[Event]], Any],
                 publish: Callable[[Any], None]):
        self.service = service
        zone = service.definition.hall.zone
        self.clock: Callable[[], datetime] = lambda: datetime.now(zone)  # wire times in hall time
        self.observe = observe
        self.publish = publish
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self.batches = 0
        self.commands = 0

    async def submit(self, command: cmd.Command) -> Outcome:
        done = asyncio.get_running_loop().create_future()
        await self.queue.put(_Pending(command, self.clock(), done))
        return await done

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            outcomes = self.service.execute_batch([(p.command, p.now) for p in batch],
                                                  self.observe)
        except Exception as error:   # the database failed: nobody is told "done"
            log.exception("batch of %d commands not committed", len(batch))
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(WriterFailed(str(error)))
            return
        self.batches += 1
        self.commands += len(batch)
        try:   # the messages of the whole batch at once, so that the hub can merge them
            self.publish([message for o in outcomes if o.observed for message in o.observed])
        except Exception:    # committed all the same: a send problem must not stop the hall
            log.exception("publishing the events of a batch of %d commands failed", len(batch))
        for pending, outcome in zip(batch, outcomes, strict=True):
            if not pending.done.done():
                pending.done.set_result(outcome)
