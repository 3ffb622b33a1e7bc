"""One vocabulary: each word list lives in `hall.vocabulary` alone. The pages get it from the
server (`/common/vocabulary.js`), so no page may hold a copy, and the codes it names are the very
codes the protocol checks and the core's statuses."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hall import protocol, vocabulary
from queue_server.lifecycle import TicketStatus, WindowStatus
from queue_server.web_pages import vocabulary_js, vocabulary_lists
from tests.browser import chromium
from tests.live_hall import LiveHall

WEB = Path(__file__).resolve().parent.parent / "queue_server" / "web"


def _word_lists() -> Iterator[tuple[str, list[str]]]:
    """Each list of Chinese names in the vocabulary, by its name."""
    for name, value in vocabulary_lists().items():
        if isinstance(value, dict):
            words = [v[1] if isinstance(v, tuple) else v for v in value.values()]
        else:
            words = [entry[1] for entry in value if isinstance(entry, tuple)]
        if any(re.search(r"[\u4e00-\u9fff]", w) for w in words):   # not a table of codes
            yield name, words


def _literals(path: Path) -> list[str]:
    """The texts a page file spells out whole: a script's string literals, an HTML page's choices
    (its headings and labels are prose that may use a word of the hall's)."""
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        return re.findall(r"<option[^>]*>([^<]*)</option>", source)
    return [text for _, text in re.findall(r"""(["'`])((?:(?!\1)[^\\\n$]|\\.)*)\1""", source)]


def _copies(path: Path) -> list[str]:
    """What of the vocabulary `path` spells out itself: two or more names of one list (a copied
    list), or any one name of three characters or more (a copied entry)."""
    literals = set(_literals(path))
    found = []
    for name, words in _word_lists():
        spelled = [w for w in words if w in literals]
        if len(spelled) >= 2 or any(len(w) >= 3 for w in spelled):
            found.append(f"{name}: {'、'.join(spelled)}")
    return found


PAGE_FILES = sorted(p for p in WEB.rglob("*") if p.suffix in (".js", ".html"))


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: str(p.relative_to(WEB)))
def test_no_page_holds_a_copy_of_a_word_list(path):
    assert _copies(path) == []


def test_the_check_finds_a_copy(tmp_path):
    """The scan above would see the lists the pages used to hold."""
    clerk = tmp_path / "clerk.js"
    clerk.write_text('const PRIORITY_NAMES = { elderly: "老年人优先", green: "绿色通道" };\n'
                     'patch({ status_text: "暂停服务" });\n', encoding="utf-8")
    board = tmp_path / "index.html"
    board.write_text('<option value="day">按日</option><option value="week">按周</option>',
                     encoding="utf-8")
    assert _copies(clerk) == ["KIOSK_PRIORITY_NAMES: 老年人优先", "PRIORITY_NAMES: 老年人优先、绿色通道",
                              "WINDOW_STATUS_NAMES: 暂停服务", "WINDOW_STATE_NAMES: 暂停服务"]
    assert _copies(board) == ["PERIOD_NAMES: 按日、按周"]


def test_the_script_defines_the_vocabulary_and_the_protocols_constants_as_json():
    script = vocabulary_js()
    frozen = dict(re.findall(r"^const (\w+) = Object\.freeze\((.*)\);$", script, re.M))
    assert set(frozen) == {"VOCABULARY", "PROTOCOL"}
    body = json.loads(frozen["VOCABULARY"])
    assert body == json.loads(json.dumps(vocabulary_lists()))
    assert "KIOSK_PRIORITIES" in body and "Final" not in body
    assert json.loads(frozen["PROTOCOL"]) == {"CLOSE_REVOKED": protocol.CLOSE_REVOKED,
                                              "CLOSE_MOVED": protocol.CLOSE_MOVED,
                                              "HALL_PATH_PREFIX": protocol.HALL_PATH_PREFIX}


def test_the_codes_are_the_protocols_and_the_cores():
    ops = protocol.OPS
    assert ops["take_ticket"].optional["kind"]("pickup") == "pickup"
    with pytest.raises(ValueError):
        ops["take_ticket"].optional["priority"]("green")   # only a manager gives 绿色通道
    for value in vocabulary.OUTCOMES:
        assert ops["finish"].required["outcome"](value) == value
    assert set(vocabulary.TICKET_STATUS_NAMES) == {s.value for s in TicketStatus}
    assert set(vocabulary.WINDOW_STATUS_NAMES) == {s.value for s in WindowStatus}
    assert set(vocabulary.PRINTER_FAULTS) < set(vocabulary.PRINTER_STATES)
    assert set(vocabulary.KIOSK_PRIORITIES) < set(vocabulary.PRIORITY_NAMES)
    assert set(vocabulary.DEVICE_ROLES) < set(vocabulary.ROLES)
    assert [s for s, _ in vocabulary.SCORES] == [5, 4, 3, 2, 1]


def test_every_page_gets_the_servers_vocabulary(tmp_path):
    """Served at /common/vocabulary.js and loaded by each page before its own script."""
    hall = LiveHall(tmp_path)
    try:
        with urllib.request.urlopen(f"{hall.http}/common/vocabulary.js") as answer:
            assert answer.headers["Content-Type"] == "text/javascript; charset=utf-8"
            assert answer.read().decode() == vocabulary_js()
        ticket = hall.hello("kiosk").request("take_ticket", category="A")["ticket"]
        expected = json.loads(json.dumps(vocabulary_lists()))
        with chromium() as browser:
            page = browser.new_page()
            for address in (f"{hall.http}/clerk", f"{hall.http}/manager", ticket["url"]):
                page.goto(address)
                assert page.evaluate("VOCABULARY") == expected, address
            page.close()
    finally:
        assert hall.stop() == 0
