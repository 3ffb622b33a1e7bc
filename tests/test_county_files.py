"""The county's hall files: 青岚县's 政务服务中心 and its township 便民服务中心 (issue 14).

The files are generated (`assets/halls/make_county.py`, `make_townships.py`) and committed; these
tests hold the committed files to their generators, to the hall-file checks, and to what one
database of the whole county needs: hall codes and clerk badges unique across it.
"""

from __future__ import annotations

import importlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from queue_server.hall_toml import load_hall, parse_hall
from queue_server.store import hall_records
from queue_server.store.database import migrate, open_engine

HALLS = Path(__file__).parent.parent / "assets" / "halls"
TOWNSHIPS = HALLS / "townships"


@pytest.fixture(scope="module")
def generators():
    """The two generator scripts as modules; make_townships imports make_county by name, as it
    does when run from its folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(HALLS))
        yield importlib.import_module("make_county"), importlib.import_module("make_townships")


@pytest.fixture(scope="module")
def county_files() -> dict[str, str]:
    files = {"county.toml": (HALLS / "county.toml").read_text(encoding="utf-8")}
    for path in sorted(TOWNSHIPS.glob("*.toml")):
        files[f"townships/{path.name}"] = path.read_text(encoding="utf-8")
    return files


@pytest.fixture(scope="module")
def halls(county_files):
    return {name: parse_hall(text, name) for name, text in county_files.items()}


def test_the_generators_reproduce_the_committed_files(generators, county_files):
    make_county, make_townships = generators
    generated = {"county.toml": make_county.render(make_county.build())}
    generated |= {f"townships/{name}": text for name, text in make_townships.files().items()}
    assert sorted(generated) == sorted(county_files), "a township file is missing or left over"
    for name, text in generated.items():
        assert text == county_files[name], f"{name} differs from what its generator writes"


def test_a_county_hall_and_at_least_fifteen_township_halls(halls):
    county = halls["county.toml"]
    townships = {name: hall for name, hall in halls.items() if name != "county.toml"}
    assert len(county.windows) == 142
    assert len(townships) >= 15
    sizes = set()
    for name, hall in townships.items():
        info = hall.hall
        assert info.name.endswith(("镇便民服务中心", "乡便民服务中心")), name
        assert not info.demo and not any(c.pin for c in hall.clerks), f"{name} is not a demo file"
        assert info.holidays == county.hall.holidays, name
        assert info.makeup_workdays == county.hall.makeup_workdays, name
        assert 6 <= len(hall.windows) <= 12, name
        assert all(1 <= len(w.b_posts) <= 2 for w in hall.windows), f"{name}: A/B posts"
        assert any(w.name.startswith("综合") for w in hall.windows), f"{name} has no 综合窗口"
        assert len({c.prefix for c in hall.categories}) == len(hall.categories), name
        assert len(hall.items) >= 40, name
        for item in hall.items:
            assert item.conditions and item.steps and item.fee and item.certificate, (name, item.code)
            assert 2 <= len(item.materials) <= 5, (name, item.code)
        sizes.add(len(hall.windows))
    assert len(sizes) >= 4, "the townships differ in size"


def test_hall_codes_badges_addresses_and_phones_are_unique_across_the_county(halls):
    every = list(halls.values())
    for what, values in {
        "hall code": [h.hall.code for h in every],
        "hall name": [h.hall.name for h in every],
        "address": [h.hall.address for h in every],
        "phone": [p for h in every for p in (h.hall.consultation_phone, h.hall.complaint_phone,
                                              *(d.phone for d in h.departments))],
        "badge": [c.badge for h in every for c in h.clerks],
    }.items():
        repeated = [v for v, n in Counter(values).items() if n > 1]
        assert not repeated, f"{what} used twice in the county: {repeated}"


def test_a_shared_item_code_means_the_same_service_everywhere(halls):
    """An item code names one service in the whole county: a township item that has a county
    item's code has its name, and the township-only items keep one name across townships."""
    county = {i.code: i for i in halls["county.toml"].items}
    names: dict[str, set[str]] = {}
    for hall in halls.values():
        for item in hall.items:
            names.setdefault(item.code, set()).add(item.name)
    assert {code: n for code, n in names.items() if len(n) > 1} == {}
    shared = {i.code for name, h in halls.items() if name != "county.toml" for i in h.items} & set(county)
    assert len(shared) >= 30, "most township items are the county's services"
    for name, hall in halls.items():
        for item in hall.items:
            if item.code in county and name != "county.toml":
                source = county[item.code]
                assert (item.type, item.statutory_days, item.promised_days, item.materials) == (
                    source.type, source.statutory_days, source.promised_days, source.materials), (
                    name, item.code)


def test_all_halls_import_into_one_database_and_read_back(tmp_path, county_files):
    engine = open_engine(f"sqlite:///{tmp_path / 'county.db'}")
    migrate(engine)
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    saved = {}
    with engine.begin() as conn:
        for name in county_files:
            definition = load_hall(HALLS / name)
            hall_id, changed = hall_records.save_definition(conn, definition, now)
            assert changed, name
            saved[hall_id] = definition
    assert len(saved) == len(county_files), "each file is a hall of its own"
    with engine.connect() as conn:
        for hall_id, definition in saved.items():
            assert hall_records.load_definition(conn, hall_id) == definition
