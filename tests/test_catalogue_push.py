"""The catalogue from the county down (issue 14 part 5): items and guides maintained once at the
county, published as kept versions, adopted by halls that keep their local fields, applied at
once or at the next day start, and the guide a ticket was issued with shown later."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from live_hall import ROUND_THE_CLOCK, SMALL, LiveHall
from sqlalchemy import text

from hall.guide import guide_path
from queue_server import catalogue, cli
from queue_server.hall_definition import Material
from queue_server.hall_service import HallService
from queue_server.hall_toml import HallFileInvalid, describe, dump_hall, load_hall, parse_hall
from queue_server.store import county_catalogue, hall_records
from queue_server.store.database import migrate, open_engine

HALLS = Path(__file__).parent.parent / "assets" / "halls"
ITEM = "T-SB-001"   # the small hall's one item
HOUSEHOLD = Material("户口簿", "original")


def _with_mode(hall_text: str, mode: str) -> str:
    return hall_text.replace("[hall]\n", f'[hall]\ncatalogue_updates = "{mode}"\n', 1)


def _county_file(folder: Path, name: str = "county.toml", **changes) -> Path:
    """The small hall's file as a county would publish it, its one item changed by `changes`."""
    definition = parse_hall(SMALL)
    item = replace(definition.items[0], **changes)
    path = folder / name
    hall = replace(definition.hall, level="county")
    path.write_text(dump_hall(replace(definition, hall=hall, items=(item,))), encoding="utf-8")
    return path


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def _until(check, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


# --- publishing ----------------------------------------------------------------------------------

def test_versions_are_kept_and_an_identical_publish_makes_none(db_url, tmp_path, capsys):
    db = db_url
    first = _county_file(tmp_path)
    code, out, _ = _run(capsys, "catalogue", "publish", str(first), "--db", db)
    assert code == 0 and "第 1 版" in out
    code, out, _ = _run(capsys, "catalogue", "publish", str(first), "--db", db)
    assert code == 0 and "未生成新版本" in out
    item = parse_hall(SMALL).items[0]
    second = _county_file(tmp_path, "v2.toml", materials=(*item.materials, HOUSEHOLD))
    code, out, _ = _run(capsys, "catalogue", "publish", str(second), "--db", db,
                        "--note", "县数据局 张三")
    assert code == 0 and "第 2 版" in out
    # A change of a local field only (the phone) is no new county version.
    third = _county_file(tmp_path, "v3.toml", materials=(*item.materials, HOUSEHOLD),
                         phone="0000-7777777")
    assert "未生成新版本" in _run(capsys, "catalogue", "publish", str(third), "--db", db)[1]
    code, out, _ = _run(capsys, "catalogue", "list", "--db", db)
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith("第 1 版") and "county.toml" in lines[0]
    assert lines[1].startswith("第 2 版") and "县数据局 张三" in lines[1]
    engine = open_engine(db)
    with engine.connect() as conn:
        kept = county_catalogue.items_of(conn, 1)[ITEM]
        assert [m["name"] for m in kept["materials"]] == ["居民身份证"]
        assert set(kept) == set(catalogue.SHARED_FIELDS)


def test_bad_input_is_refused_in_chinese_and_changes_nothing(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'county.db'}"
    assert _run(capsys, "catalogue", "publish", str(_county_file(tmp_path)), "--db", db)[0] == 0
    broken = tmp_path / "broken.toml"
    broken.write_text(SMALL.replace("[[items]]", "[[items]\n", 1), encoding="utf-8")
    code, out, err = _run(capsys, "catalogue", "publish", str(broken), "--db", db)
    assert code == 1 and "语法错误" in err and "未导入任何内容" in err
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes(SMALL.encode("gbk"))
    code, _, err = _run(capsys, "catalogue", "publish", str(gbk), "--db", db)
    assert code == 1 and "不是 UTF-8 编码" in err
    no_items = tmp_path / "no-items.toml"
    no_items.write_text(SMALL.split("[[items]]")[0].replace("[hall]\n", '[hall]\nlevel = "county"\n', 1),
                        encoding="utf-8")
    code, _, err = _run(capsys, "catalogue", "publish", str(no_items), "--db", db)
    assert code == 1 and "没有 [[items]] 事项" in err
    township = tmp_path / "township.toml"     # a township's file, published by mistake
    township.write_text(SMALL, encoding="utf-8")
    code, _, err = _run(capsys, "catalogue", "publish", str(township), "--db", db)
    assert code == 1 and "不是县级政务服务中心的文件" in err
    out = _run(capsys, "catalogue", "list", "--db", db)[1]
    assert len(out.strip().splitlines()) == 1

    with pytest.raises(HallFileInvalid) as refused:
        parse_hall(_with_mode(SMALL, "weekly"), "hall.toml")
    assert 'hall.catalogue_updates: 应为 next_day / at_once 之一，实际为 "weekly"' in str(refused.value)
    unknown = tmp_path / "unknown-mode.toml"
    unknown.write_text(_with_mode(SMALL, "weekly"), encoding="utf-8")
    code, _, err = _run(capsys, "import-hall", str(unknown), "--db", db)
    assert code == 1 and "catalogue_updates" in err
    engine = open_engine(db)
    with engine.connect() as conn:
        assert county_catalogue.count(conn) == 1
        with pytest.raises(hall_records.HallNotFound):
            hall_records.hall_codes(conn)


# --- adopting -----------------------------------------------------------------------------------

def test_a_township_adopts_county_items_and_keeps_its_local_fields(db_url, tmp_path, capsys,
                                                                  monkeypatch):
    """The county's shared fields (materials, time limits) reach a township's items of the same
    code, a re-import's copies of them included; its department, category, phone, summary and
    steps stay its own; items only it has are untouched; a county item later removed is kept and
    flagged. On SQLite and on PostgreSQL."""
    db = db_url
    county = load_hall(HALLS / "county.toml")
    township_path = HALLS / "townships" / "qinglan-baisha.toml"
    township = load_hall(township_path)
    shared = [i for i in township.items if i.code in county.item_by_code]
    local_only = [i for i in township.items if i.code not in county.item_by_code]
    assert shared and local_only

    assert _run(capsys, "catalogue", "publish", str(HALLS / "county.toml"), "--db", db)[0] == 0
    note = f"其中 {len(shared)} 个事项认领县级事项目录（第 1 版）"
    code, out, _ = _run(capsys, "check-hall", str(township_path), "--db", db)
    assert code == 0 and "文件正确" in out and note in out
    monkeypatch.delenv("QUEUE_DB", raising=False)
    assert "认领" not in _run(capsys, "check-hall", str(township_path))[1]   # no database named
    empty = f"sqlite:///{tmp_path / 'empty.db'}"   # one not initialised: the check alone
    assert _run(capsys, "check-hall", str(township_path), "--db", empty)[:2] == (
        0, f"文件正确 / file is valid: {describe(township)}\n")
    code, out, _ = _run(capsys, "import-hall", str(township_path), "--db", db)
    assert code == 0 and note in out

    # The county changes one item's materials and time limit, and removes another.
    changed, removed = shared[0].code, shared[1].code
    before = county.item_by_code[changed]
    promised = replace(before, materials=(*before.materials, HOUSEHOLD), type="promised",
                       statutory_days=20, promised_days=10, steps=("县里写的流程",))
    items = tuple(promised if i.code == changed else i for i in county.items if i.code != removed)
    v2 = tmp_path / "county-v2.toml"
    v2.write_text(dump_hall(replace(county, items=items)), encoding="utf-8")
    assert "第 2 版" in _run(capsys, "catalogue", "publish", str(v2), "--db", db)[1]

    engine = open_engine(db)
    with engine.begin() as conn:
        hall_id = hall_records.hall_id_for(conn, "qinglan-baisha")
        assert hall_records.apply_county_version(conn, hall_id, 2, None, datetime.now(UTC)) == 2
        served = hall_records.load_definition(conn, hall_id).item_by_code
    mine, theirs = township.item_by_code[changed], promised
    for name in catalogue.LOCAL_FIELDS:
        assert getattr(served[changed], name) == getattr(mine, name), name
    for name in catalogue.SHARED_FIELDS:
        assert getattr(served[changed], name) == getattr(theirs, name), name
    assert served[removed] == township.item_by_code[removed]      # kept, as it last was
    for item in local_only:
        assert served[item.code] == item
    for item in shared[2:]:
        assert served[item.code] == township.item_by_code[item.code]

    # A re-import of the unchanged file: the county's fields stay, and it says so.
    code, out, _ = _run(capsys, "import-hall", str(township_path), "--db", db)
    assert code == 0 and "无变化" in out and "第 2 版" in out and changed in out
    with engine.connect() as conn:
        assert hall_records.load_definition(conn, hall_id).item_by_code[changed] == served[changed]

    code, out, _ = _run(capsys, "catalogue", "status", "--db", db)
    line = next(li for li in out.splitlines() if li.startswith("qinglan-baisha"))
    assert code == 0 and "已应用第 2 版" in line and "已是最新" in line and "次日应用" in line
    assert f"县级目录已删除但本大厅仍在办理：{removed}" in line


def test_a_hall_taken_after_a_publish_applies_it_by_its_mode(tmp_path):
    """A server taking the hall applies a pending version at once (at_once), or when it was
    published before today (next_day); a next_day hall does not mid-day."""
    engine = open_engine(f"sqlite:///{tmp_path / 'hall.db'}")
    migrate(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        hall_id, _ = hall_records.save_definition(conn, parse_hall(SMALL), now)
    item = parse_hall(SMALL).items[0]
    with engine.begin() as conn:
        county_catalogue.publish(conn, catalogue.county_items(
            [replace(item, materials=(HOUSEHOLD,))]), "test", now)
    assert HallService(engine, None, now, epoch=0).county_version == 0   # next_day, same day
    later = datetime(2099, 1, 5, 2, tzinfo=UTC)
    service = HallService(engine, None, later, epoch=0)
    assert service.county_version == 1 and service.catalogue_version == 2
    assert service.definition.item_by_code[ITEM].materials == (HOUSEHOLD,)
    with engine.connect() as conn:     # the version before is kept
        assert hall_records.items_at(conn, hall_id, 1)[0].materials == item.materials


def test_the_core_serves_new_items_from_the_next_command_and_keeps_the_days_tickets():
    """`HallState.take_items`: tickets issued after record the new version, those before keep
    theirs, their queue and their place; categories and windows are untouched."""
    from zoneinfo import ZoneInfo

    from queue_server import commands as cmd
    from queue_server.hall_state import HallState

    definition = parse_hall(SMALL)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    state = HallState(definition, monday.date(), 0, catalogue_version=1)
    [before] = state.handle(cmd.TakeTicket("A", service=ITEM), monday)
    item = definition.items[0]
    pushed = replace(definition, items=(replace(item, materials=(HOUSEHOLD,)),))
    state.take_items(pushed, 2)
    [after] = state.handle(cmd.TakeTicket("A", service=ITEM), monday)
    assert (before.data.catalogue_version, after.data.catalogue_version) == (1, 2)
    assert state.tickets["A001"].catalogue_version == 1
    assert [t.number for t in state.queues["A"].ordered(state.seen_at)] == ["A001", "A002"]
    assert state.definition.item_by_code[ITEM].materials == (HOUSEHOLD,)
    assert state.definition.windows_by_category == definition.windows_by_category
    assert state.consistency_problems() == []


# --- a running server -----------------------------------------------------------------------------

def _catalogue(kiosk, since: int | None = None) -> dict:
    reply = kiosk.request("catalogue", **({"since_version": since} if since else {}))
    assert reply["ok"], reply
    return reply


def test_at_once_a_running_hall_serves_a_new_version_between_two_tickets(tmp_path):
    hall = LiveHall(tmp_path, hall_text=_with_mode(ROUND_THE_CLOCK, "at_once"))
    try:
        kiosk = hall.hello("kiosk")
        assert kiosk.hello["catalogue_version"] == 1
        before = kiosk.request("take_ticket", category="A", service=ITEM)["ticket"]
        assert before["catalogue_version"] == 1 and before["guide_url"].endswith(f"/guide/{ITEM}?v=1")

        item = parse_hall(SMALL).items[0]
        county = _county_file(tmp_path, materials=(*item.materials, HOUSEHOLD),
                              statutory_days=15, phone="0000-9999999", steps=("县里的流程",))
        assert "第 1 版" in hall.cli("catalogue", "publish", str(county))
        _until(lambda: _catalogue(kiosk, since=1).get("version") == 2, 15)
        assert kiosk.wait_event("catalogue") == {"ev": "catalogue", "version": 2}
        pushed = next(i for i in _catalogue(kiosk)["items"] if i["code"] == ITEM)
        assert [m["name"] for m in pushed["materials"]] == ["居民身份证", "户口簿"]
        assert pushed["statutory_days"] == 15
        assert (pushed["category"], pushed["department"], pushed["phone"], pushed["steps"]) == (
            item.category, item.department, item.phone, list(item.steps))

        after = kiosk.request("take_ticket", category="A", service=ITEM)["ticket"]
        assert after["catalogue_version"] == 2 and after["number"] == "A002"
        # The ticket taken before is still in the queue, and is called first.
        clerk = hall.hello("clerk", badge="1001", pin="1111")
        assert clerk.request("sign_in", window=1, post="A")["ok"]
        assert clerk.request("call_next")["ticket"]["number"] == before["number"]

        old_code, old = _fetch(f"{hall.http}/guide/{ITEM}?v=1")
        new_code, new = _fetch(f"{hall.http}/guide/{ITEM}")
        assert old_code == new_code == 200
        assert "户口簿" not in old and "第 1 版" in old and "户口簿" in new
        assert _fetch(f"{hall.http}/guide/{ITEM}?v=2")[1] == new
        for unknown in ("9", "0", "x", "-1", "99999999999999999999"):
            assert _fetch(f"{hall.http}/guide/{ITEM}?v={unknown}")[0] == 404, unknown

        citizen = hall.hello("citizen", ticket=before["token"])
        assert citizen.hello["ticket"]["guide"] == f"guide/{ITEM}?v=1"
        assert "已应用第 1 版" in hall.cli("catalogue", "status")
        assert "立即应用" in hall.cli("catalogue", "status")
    finally:
        hall.stop()


def test_next_day_a_running_hall_applies_a_new_version_when_the_day_changes(tmp_path):
    hall = LiveHall(tmp_path, "--simulate-from", "2026-11-23T23:59:00", "--speed", "6",
                    hall_text=ROUND_THE_CLOCK)
    try:
        kiosk = hall.hello("kiosk")
        item = parse_hall(SMALL).items[0]
        county = _county_file(tmp_path, materials=(HOUSEHOLD,))
        hall.cli("catalogue", "publish", str(county))
        time.sleep(2)   # a dozen ticks of the simulated clock, still on the 23rd
        assert hall.health()["service_day"] == "2026-11-23"
        assert _catalogue(kiosk, since=1)["unchanged"] is True
        assert "尚未应用\t待应用第 1 版" in hall.cli("catalogue", "status")
        ticket = kiosk.request("take_ticket", category="A", service=ITEM)["ticket"]
        assert ticket["catalogue_version"] == 1

        _until(lambda: hall.health()["service_day"] == "2026-11-24", 20)
        _until(lambda: hall.hello("kiosk").hello["catalogue_version"] == 2, 10)
        pushed = next(i for i in _catalogue(kiosk)["items"] if i["code"] == ITEM)
        assert [m["name"] for m in pushed["materials"]] == ["户口簿"]
        assert pushed["category"] == item.category
        assert "已是最新" in hall.cli("catalogue", "status")
    finally:
        hall.stop()


def test_a_hall_started_after_a_publish_gets_it(tmp_path):
    hall = LiveHall(tmp_path, hall_text=_with_mode(ROUND_THE_CLOCK, "at_once"))
    try:
        assert hall.hello("kiosk").hello["catalogue_version"] == 1
        hall.stop()
        hall.cli("catalogue", "publish", str(_county_file(tmp_path, materials=(HOUSEHOLD,))))
        hall.start()
        kiosk = hall.hello("kiosk")
        assert kiosk.hello["catalogue_version"] == 2
        pushed = next(i for i in _catalogue(kiosk)["items"] if i["code"] == ITEM)
        assert [m["name"] for m in pushed["materials"]] == ["户口簿"]
    finally:
        hall.stop()


def test_the_mode_is_exported_only_when_it_is_not_the_default():
    assert parse_hall(SMALL).hall.catalogue_updates == "next_day"
    assert "catalogue_updates" not in dump_hall(parse_hall(SMALL))
    at_once = parse_hall(_with_mode(SMALL, "at_once"))
    assert 'catalogue_updates = "at_once"' in dump_hall(at_once)
    assert parse_hall(dump_hall(at_once)).hall == at_once.hall   # (PINs are never exported)



def test_an_upgraded_database_keeps_each_halls_present_items_as_its_version(tmp_path):
    """Migration 0009 on a database of an older release: each hall's items become the snapshot of
    its present catalogue version, nothing is applied from a county yet, and the tickets of its
    log, which recorded no version, link to the current guide."""
    import shutil

    from sqlalchemy import select

    from queue_server import events
    from queue_server.store.schema import EventRow

    path = tmp_path / "hall.db"
    shutil.copy(Path(__file__).parent / "data" / "hall-0005.db", path)
    assert cli.main(["init", "--db", f"sqlite:///{path}"]) == 0
    engine = open_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, None)
        definition = hall_records.load_definition(conn, hall_id)
        version = hall_records.catalogue_version(conn, hall_id)
        assert hall_records.items_at(conn, hall_id, version) == definition.items
        assert county_catalogue.applied(conn, hall_id) == 0
        rows = conn.execute(select(EventRow.data).where(
            EventRow.hall_id == hall_id, EventRow.kind == "ticket_issued")).scalars().all()
    issued = [events.record("ticket_issued", data) for data in rows]
    old = [record for record in issued if record.service]
    assert old and all(record.catalogue_version is None for record in issued)
    assert guide_path(old[0].service, None) == f"guide/{old[0].service}"   # no "?v=None"


def test_a_version_whose_items_did_not_change_shows_its_predecessors_guides(tmp_path):
    """A re-import that changes only a clerk makes a new catalogue version but keeps no copy of
    the same items: the guide of that version is its predecessor's, and a version not yet made
    has none."""
    engine = open_engine(f"sqlite:///{tmp_path / 'hall.db'}")
    migrate(engine)
    first = parse_hall(SMALL)
    clerk = replace(first.clerks[0], name=first.clerks[0].name + "某")
    second = replace(first, clerks=(clerk, *first.clerks[1:]))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        hall_id, _ = hall_records.save_definition(conn, first, now)
        assert hall_records.save_definition(conn, second, now) == (hall_id, True)
        version = hall_records.catalogue_version(conn, hall_id)
        assert version == 2 and county_catalogue.count(conn) == 0
        kept = conn.execute(text("select count(*) from hall_catalogues")).scalar()
        assert kept == 1                          # version 1's items only
        assert hall_records.items_at(conn, hall_id, 2) == first.items
        assert hall_records.items_at(conn, hall_id, 1) == first.items
    engine.dispose()


def test_aliases_are_shared_and_an_older_version_without_them_keeps_the_halls():
    """What a service is called goes with its name: the county's aliases reach its halls; a
    version published before items had aliases leaves a hall's own in place."""
    assert "aliases" in catalogue.SHARED_FIELDS and "aliases" not in catalogue.LOCAL_FIELDS
    county = load_hall(HALLS / "county.toml")
    mine = replace(county.item_by_code["GG-mzj-001"], aliases=("吃低保",), phone="0000-1")
    published = catalogue.county_items([county.item_by_code["GG-mzj-001"]])
    (adopted,) = catalogue.adopt([mine], published)
    assert adopted.aliases == ("低保", "吃低保") and adopted.phone == "0000-1"
    older = {code: {k: v for k, v in fields.items() if k != "aliases"}
             for code, fields in published.items()}
    (kept,) = catalogue.adopt([mine], older)
    assert kept.aliases == ("吃低保",)
