"""The rules of who leads which hall (queue_server.leadership.plan), without a database: single
cases, then servers joining, dying and pausing, played round by round with the lock as the
arbiter, until every hall has exactly one leader and the halls are spread fairly."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.leadership import HallSeen, Moves, plan


def seen(*halls: tuple[int, str | None, bool]) -> list[HallSeen]:
    return [HallSeen(*hall) for hall in halls]


def test_a_lone_server_takes_every_free_hall():
    assert plan("a", seen((1, None, False), (2, None, False)), frozenset(), set()) == Moves(
        [1, 2], [], [])


def test_a_hall_whose_live_leader_holds_it_is_left_alone():
    assert plan("a", seen((1, "b", True)), frozenset(), {"b"}).take == []


def test_a_hall_whose_leader_died_is_taken_at_once():
    """its lock is free the moment its session ends, though its heartbeat is still fresh"""
    assert plan("a", seen((1, "b", False)), frozenset(), {"b"}).take == [1]


def test_a_paused_leaders_hall_is_taken_after_ending_its_session():
    moves = plan("a", seen((1, "b", True), (2, None, False)), frozenset(), set())
    assert moves.take == [1, 2] and moves.fence_off == [1]


def test_a_server_takes_only_its_fair_share_and_hands_back_one_extra_per_round():
    halls = seen(*((n, None, False) for n in range(1, 6)))
    assert plan("a", halls, frozenset(), {"b"}).take == [1, 2, 3]     # ceil(5 / 2)
    led = seen(*((n, "a", True) for n in range(1, 6)))
    assert plan("a", led, frozenset(range(1, 6)), {"b"}).hand_back == [5]
    assert plan("a", led, frozenset(range(1, 6)), set()).hand_back == []


def _play(halls: int, servers: list[str], rounds: int, order: list[int], dead: set[str],
          paused: set[str]) -> dict[int, str]:
    """Rounds of `plan`, each server in turn (in `order`), with the locks as PostgreSQL keeps
    them: a hall's lock is free when its holder's session ended (a dead server) or was ended
    (fence_off); a paused server does nothing and stops being live."""
    holder: dict[int, str] = {}              # hall → the server whose session holds its lock
    leader: dict[int, str | None] = dict.fromkeys(range(1, halls + 1))
    for _ in range(rounds):
        for index in order:
            me = servers[index % len(servers)]
            if me in dead or me in paused:
                continue
            for hall, who in list(holder.items()):
                if who in dead:
                    del holder[hall]          # its session ended with the process
            live = {s for s in servers if s not in dead and s not in paused}
            mine = frozenset(h for h, who in holder.items() if who == me)
            moves = plan(me, [HallSeen(h, leader[h], h in holder) for h in leader], mine,
                         live - {me})
            for hall in moves.hand_back:
                del holder[hall]
                leader[hall] = None
            for hall in moves.fence_off:    # pg_terminate_backend: all its locks go
                gone = holder.get(hall)
                for other, who in list(holder.items()):
                    if who == gone:
                        del holder[other]
            for hall in moves.take:
                if hall not in holder:       # pg_try_advisory_lock
                    holder[hall] = me
                    leader[hall] = me
    return holder


@settings(max_examples=200, deadline=None)
@given(halls=st.integers(1, 20), servers=st.integers(1, 4),
       order=st.lists(st.integers(0, 3), min_size=1, max_size=8),
       dead=st.integers(0, 3), paused=st.integers(0, 3))
def test_every_hall_ends_up_with_one_leader_and_a_fair_spread(halls, servers, order, dead, paused):
    names = [f"s{n}" for n in range(servers)]
    gone = {names[dead]} if dead < servers - 1 else set()           # one server dies, one stays
    stopped = {names[paused]} if paused < servers - 1 and names[paused] not in gone else set()
    holder = _play(halls, names, rounds=3 * halls + 10, order=order + list(range(servers)),
                   dead=gone, paused=stopped)
    assert set(holder) == set(range(1, halls + 1)), "a hall has no leader"
    working = [s for s in names if s not in gone and s not in stopped]
    assert set(holder.values()) <= set(working)
    fair = math.ceil(halls / len(working))
    assert all(list(holder.values()).count(s) <= fair for s in working)
