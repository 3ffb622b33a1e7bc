"""The rules of who leads which hall (queue_server.leadership.plan), without a database: single
cases, then servers joining, dying and pausing, played round by round with the lock as the
arbiter, until every hall has exactly one leader and the halls are spread fairly."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from queue_server.leadership import HallSeen, Moves, plan


def seen(*halls: tuple[int, bool, bool]) -> list[HallSeen]:
    return [HallSeen(*hall) for hall in halls]


def test_a_lone_server_takes_every_free_hall():
    assert plan(seen((1, False, False), (2, False, False)), frozenset(), 1) == Moves(
        [1, 2], [], [])


def test_a_hall_whose_lock_a_live_server_holds_is_left_alone():
    assert plan(seen((1, True, True)), frozenset(), 2).take == []


def test_a_hall_whose_leader_died_is_taken_at_once():
    """its lock is free the moment its session ends"""
    assert plan(seen((1, False, False)), frozenset(), 2).take == [1]


def test_a_paused_leaders_hall_is_taken_after_ending_its_session():
    moves = plan(seen((1, True, False), (2, False, False)), frozenset(), 1)
    assert moves.take == [1, 2] and moves.fence_off == [1]


def test_a_server_takes_only_its_fair_share_and_hands_back_one_extra_per_round():
    halls = seen(*((n, False, False) for n in range(1, 6)))
    assert plan(halls, frozenset(), 2).take == [1, 2, 3]     # ceil(5 / 2)
    led = seen(*((n, True, True) for n in range(1, 6)))
    assert plan(led, frozenset(range(1, 6)), 2).hand_back == [5]
    assert plan(led, frozenset(range(1, 6)), 1).hand_back == []


def test_a_hall_nobody_else_takes_is_taken_beyond_the_share_and_kept():
    """the other server serves other halls (`--halls`): the hall must not stay without a
    leader, nor go round between being handed back and taken again"""
    halls = seen((1, True, True), (2, False, False), (3, False, False))
    assert plan(halls, frozenset({1}), 2).take == [2]                         # ceil(3/2) = 2
    assert plan(halls, frozenset({1}), 2, overdue=frozenset({3})).take == [2, 3]
    led = seen((1, True, True), (2, True, True), (3, True, True))
    assert plan(led, frozenset({1, 2, 3}), 2, kept=frozenset({3})).hand_back == [2]
    assert plan(led, frozenset({1, 3}), 2, kept=frozenset({3})).hand_back == []


def _play(halls: int, servers: list[str], rounds: int, order: list[int], dead: set[str],
          paused: set[str], serving: dict[str, set[int]] | None = None) -> dict[int, str]:
    """Rounds of `plan`, each server once a round (in `order`), with the locks as PostgreSQL keeps
    them: a hall's lock is free when its holder's session ended (a dead server) or was ended
    (fence_off); a paused server does nothing and stops being live. `serving`: the halls each
    server may lead (all by default). The overdue count is the real one's."""
    from queue_server.leadership import OVERDUE_ROUNDS
    holder: dict[int, str] = {}              # hall → the server whose session holds its lock
    free_rounds: dict[str, dict[int, int]] = {s: {} for s in servers}
    kept: dict[str, set[int]] = {s: set() for s in servers}
    for _ in range(rounds):
        for index in order:          # each server once a round, as each runs one every 0.5 s
            if index >= len(servers):
                continue
            me = servers[index]
            if me in dead or me in paused:
                continue
            for hall, who in list(holder.items()):
                if who in dead:
                    del holder[hall]          # its session ended with the process
            live = {s for s in servers if s not in dead and s not in paused}
            mine = frozenset(h for h, who in holder.items() if who == me)
            mine_to_serve = (serving or {}).get(me, set(range(1, halls + 1)))
            seen_now = [HallSeen(h, h in holder, holder.get(h) in live)
                        for h in sorted(mine_to_serve)]
            free_rounds[me] = {h.hall_id: free_rounds[me].get(h.hall_id, 0) + 1
                               for h in seen_now if not h.locked}
            overdue = frozenset(h for h, n in free_rounds[me].items() if n > OVERDUE_ROUNDS)
            moves = plan(seen_now, mine, len(live), overdue, frozenset(kept[me] & mine))
            for hall in moves.hand_back:
                del holder[hall]
            for hall in moves.fence_off:    # pg_terminate_backend: all its locks go
                gone = holder.get(hall)
                for other, who in list(holder.items()):
                    if who == gone:
                        del holder[other]
            for hall in moves.take:
                if hall not in holder:       # pg_try_advisory_lock
                    holder[hall] = me
                    if hall in overdue:
                        kept[me].add(hall)
    return holder


@settings(max_examples=200, deadline=None)
@given(halls=st.integers(1, 20), servers=st.integers(1, 4),
       order=st.permutations([0, 1, 2, 3]), dead=st.integers(0, 3), paused=st.integers(0, 3))
def test_every_hall_ends_up_with_one_leader_and_a_fair_spread(halls, servers, order, dead, paused):
    names = [f"s{n}" for n in range(servers)]
    gone = {names[dead]} if dead < servers - 1 else set()           # one server dies, one stays
    stopped = {names[paused]} if paused < servers - 1 and names[paused] not in gone else set()
    holder = _play(halls, names, rounds=3 * halls + 10, order=order, dead=gone, paused=stopped)
    assert set(holder) == set(range(1, halls + 1)), "a hall has no leader"
    working = [s for s in names if s not in gone and s not in stopped]
    assert set(holder.values()) <= set(working)
    fair = math.ceil(halls / len(working))
    assert all(list(holder.values()).count(s) <= fair for s in working)


def test_halls_served_by_one_server_only_still_get_a_leader_and_stay_put():
    """s1 serves hall 1 only (`--halls`), s0 all five: s0 takes the four, hall 1 is s1's or
    s0's, and after settling nothing moves any more"""
    serving = {"s0": {1, 2, 3, 4, 5}, "s1": {1}}
    holder = _play(5, ["s0", "s1"], rounds=30, order=[0, 1], dead=set(), paused=set(),
                   serving=serving)
    assert set(holder) == {1, 2, 3, 4, 5}
    again = _play(5, ["s0", "s1"], rounds=31, order=[0, 1], dead=set(), paused=set(),
                  serving=serving)
    assert again == holder
