"""Random frames thrown at a live server for a bounded time: it never crashes, every reply has
`re`, and the hall's rules still hold for the connections that keep working."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from hall.protocol import OPS
from tests.live_hall import LiveHall

FUZZ_SECONDS = 20
FRAMES = 3_000          # at most, in runs of a hundred: Hypothesis stops within a run of the
RUN = 100               # deadline, not after making the rest of the frames to throw away

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=30), st.sampled_from(["A", "B", "A001", "handle", "elderly"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8)
requests = st.fixed_dictionaries(
    {"op": st.one_of(st.sampled_from(sorted(OPS)), st.text(max_size=12))},
    optional={"id": st.one_of(st.integers(), st.text(max_size=10), st.none(), st.floats()),
              "category": values, "kind": values, "priority": values, "window": values,
              "post": values, "number": values, "score": values, "ticket": values,
              "reasons": values, "text": values, "since_version": values, "role": values,
              "token": values, "badge": values, "pin": values, "outcome": values,
              "to_window": values, "to_category": values, "reason": values})
frames = st.one_of(requests.map(json.dumps), st.text(max_size=60),
                   st.lists(values, max_size=3).map(json.dumps))


# websockets draws its frame masks from `random`, which Hypothesis notices and warns about.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_random_frames_never_break_the_server(tmp_path):
    hall = LiveHall(tmp_path, "--take-limit", "0")
    clients = {"kiosk": hall.hello("kiosk"), "clerk": hall.hello("clerk", badge="1001", pin="1111"),
               "pad": hall.hello("pad"), "anonymous": hall.client()}
    clients["clerk"].request("sign_in", window=1, post="A")
    deadline = time.monotonic() + FUZZ_SECONDS

    @settings(max_examples=RUN, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(who=st.sampled_from(sorted(clients)), frame=frames)
    def throw(who, frame):
        if time.monotonic() > deadline:
            return
        client = clients[who]
        try:
            client.send(frame)
            reply = client.reply()
        except ConnectionClosed as closed:
            # Only a connection that never said hello is closed, after its 10 s of grace.
            assert who == "anonymous" and closed.rcvd.code == 1008
            clients["anonymous"] = hall.client()
            return
        assert "re" in reply and isinstance(reply["ok"], bool)
        if not reply["ok"]:
            assert reply["error"]["code"] in (
                "bad_request", "unknown_op", "unauthorized", "forbidden", "not_found",
                "conflict", "closed", "rate_limited")
            assert reply["error"]["message"]

    try:
        for _ in range(FRAMES // RUN):
            if time.monotonic() > deadline:
                break
            throw()
        assert hall.process.poll() is None, "the server died"
        assert hall.health()["database"] == "ok"
        fresh = hall.hello("kiosk")
        assert fresh.request("take_ticket", category="B")["ok"]
    finally:
        assert hall.stop() == 0
