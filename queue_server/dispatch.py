"""Which waiting ticket a window gets next: a pure choice over the queues.

The rules, in order:
1. Tickets transferred to this very window come first (a clerk sent the citizen here).
2. Then the window's categories in its order of preference: the first category with a waiting
   ticket gives it.
3. Within a category, 绿色通道 tickets come before elderly and disabled ones and checked-in
   bookings (预约) whose slot has begun, and those before normal ones; oldest first within each
   class, where a booking counts from its slot's start, not from its check-in (so bookings are
   served in slot order, and one checked in early does not pass those whose time has come), and
   a transferred ticket keeps its original issue time, so it is not sent to the back. A booking
   checked in before its slot has no claim on anyone yet: it is called only when no other
   ticket of any of the window's categories waits (an idle window may serve it early), so it
   never passes a walk-in who came before its time.
4. The ratio rule keeps priority from starving normal tickets: once `ratio` priority tickets
   have been called in a row from a category while a normal ticket of it was waiting, the next
   call from that category takes the oldest normal ticket. Bookings count in the streak like
   elderly tickets: a stream of bookings cannot starve the walk-ins either.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, islice
from typing import Generic, Protocol, TypeVar

PRIORITY_CLASS = {"green": "green", "elderly": "priority", "disabled": "priority",
                  "normal": "normal"}
CLASS_RANK = {"green": 0, "priority": 1, "normal": 2}


class Queued(Protocol):
    number: str
    priority: str
    issued_at: datetime
    order: int
    slot_at: datetime | None
    """A checked-in booking's slot start (预约); None for a walk-in."""


def klass(ticket: Queued) -> str:
    """The ticket's class: its priority's, and a normal checked-in booking's is "priority"."""
    named = PRIORITY_CLASS[ticket.priority]
    return "priority" if named == "normal" and ticket.slot_at is not None else named


Q = TypeVar("Q", bound=Queued)
"""The tickets a queue holds: any `Queued` (the hall's `Ticket`), kept as that type."""


def queue_key(ticket: Queued) -> tuple[datetime, int]:
    return ticket.slot_at or ticket.issued_at, ticket.order


def targeted_key(ticket: Queued) -> tuple[int, datetime, int]:
    return CLASS_RANK[klass(ticket)], ticket.issued_at, ticket.order


@dataclass(slots=True)
class CategoryQueue(Generic[Q]):
    """One category's waiting tickets, by priority class, each list oldest first."""

    green: list[Q] = field(default_factory=list)
    priority: list[Q] = field(default_factory=list)
    normal: list[Q] = field(default_factory=list)
    streak: int = 0
    """Priority tickets called in a row from this queue while a normal one waited."""

    def lane(self, ticket: Q) -> list[Q]:
        return getattr(self, klass(ticket))

    def add(self, ticket: Q) -> None:
        insort(self.lane(ticket), ticket, key=queue_key)

    def remove(self, ticket: Q) -> None:
        lane = self.lane(ticket)
        if lane[0] is ticket:   # the usual case: the oldest is called
            del lane[0]
        else:
            lane.remove(ticket)

    def __len__(self) -> int:
        return len(self.green) + len(self.priority) + len(self.normal)

    def pick(self, ratio: int, now: datetime) -> Q | None:
        # The priority lane is ordered by `queue_key`: elderly tickets (issued by now) and
        # bookings whose slot has begun come before the bookings whose slot is still ahead.
        due = self.priority[0] if self.priority and queue_key(self.priority[0])[0] <= now else None
        first_priority = self.green[0] if self.green else due
        if first_priority is not None and (not self.normal or self.streak < ratio):
            return first_priority
        if self.normal:
            return self.normal[0]
        return first_priority   # None: nobody, or only bookings whose slot is still ahead

    def _due(self, at: datetime) -> int:
        """How many of the priority lane are due at `at`: its elderly and disabled tickets and
        the bookings whose slot has begun (the lane is ordered by `queue_key`)."""
        return bisect_right(self.priority, at, key=lambda t: queue_key(t)[0])

    def first(self, count: int, now: datetime) -> list[Q]:
        """The first `count` of `ordered(now)`, without copying the whole queue."""
        due = self._due(now)
        return list(islice(chain(self.green, islice(self.priority, due), self.normal,
                                 islice(self.priority, due, None)), count))

    def ordered(self, now: datetime) -> list[Q]:
        """The order tickets would be called in from `now` if nothing else happened (for boards
        and a ticket's place in line; the ratio rule aside): a booking whose slot is still ahead
        after the walk-ins, as `pick` calls it."""
        due = self._due(now)
        return [*self.green, *self.priority[:due], *self.normal, *self.priority[due:]]

    def ahead_of(self, klass: str, now: datetime, slot_at: datetime | None = None) -> int:
        """How many already wait before a new ticket of this class (`klass`; ratio aside) at
        `now`; `slot_at`: a checked-in booking's slot start (before it, everyone waiting now)."""
        if klass == "green":
            return len(self.green)
        if slot_at is not None:
            return len(self) if slot_at > now else len(self.green) + self._due(slot_at)
        if klass == "priority":
            return len(self.green) + self._due(now)
        return len(self.green) + self._due(now) + len(self.normal)


def choose_next(categories: Sequence[str], queues: Mapping[str, CategoryQueue[Q]],
                targeted: Sequence[Q], ratio: int, now: datetime) -> Q | None:
    """The ticket a window serving `categories` (in order of preference) calls next at `now`."""
    if targeted:
        return targeted[0]
    for prefix in categories:
        queue = queues.get(prefix)
        if queue:
            ticket = queue.pick(ratio, now)
            if ticket is not None:
                return ticket
    # nobody due in any of the window's categories: a booking checked in before its slot
    for prefix in categories:
        queue = queues.get(prefix)
        if queue and queue.priority:
            return queue.priority[0]
    return None


def add_targeted(targeted: list[Q], ticket: Q) -> None:
    insort(targeted, ticket, key=targeted_key)
