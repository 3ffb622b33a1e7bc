"""The demo's clock (`queue-server demo-clock`): real time while the demo hall issues tickets,
else a simulated clock from its next opening, by the hall file's own calendar."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from queue_server.demo_clock import demo_clock_line, demo_start
from queue_server.hall_toml import load_hall

DEMO = Path(__file__).parent.parent / "assets" / "halls" / "demo-town.toml"
HALL = load_hall(DEMO).hall


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=HALL.zone)


@pytest.mark.parametrize(("now", "start", "why"), [
    ("2026-12-07T08:30", None, None),                     # Monday, the morning opens
    ("2026-12-07T16:00", None, None),                     # Monday afternoon
    ("2026-12-07T06:00", "2026-12-07T08:30", "尚未开始办公"),
    ("2026-12-07T12:30", "2026-12-07T14:00", "午间休息"),
    ("2026-12-07T17:30", "2026-12-08T08:30", "已下班"),
    ("2026-12-11T23:00", "2026-12-14T08:30", "已下班"),   # Friday night: Monday next
    ("2026-12-05T10:00", "2026-12-07T08:30", "周六，非工作日"),
    ("2027-01-01T10:00", "2027-01-04T08:30", "法定节假日"),  # 元旦 and its weekend
    ("2026-10-10T07:00", "2026-10-10T08:30", "尚未开始办公"),  # a Saturday worked (调休)
])
def test_demo_clock_follows_the_hall_calendar(now, start, why):
    got = demo_start(HALL, at(now))
    if start is None:
        assert got is None
        return
    assert got == at(start)
    line = demo_clock_line(HALL, at(now), got)
    assert why in line and line.startswith("现在大厅不在办公时间（")
    assert f"{got.month}月{got.day}日 {got:%H:%M} 开始运行" in line


def test_a_moment_in_another_zone_is_read_in_the_hall_s():
    # 22:00 UTC on Sunday is 06:00 on Monday in Beijing.
    assert demo_start(HALL, datetime(2026, 12, 6, 22, 0, tzinfo=UTC)) == at("2026-12-07T08:30")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "queue_server.cli", "demo-clock", str(DEMO),
                           *args], capture_output=True, text=True, timeout=60, env=os.environ)


def test_the_command_prints_the_simulate_from_value_or_nothing():
    closed = run("--at", "2026-12-05T22:00")
    assert closed.returncode == 0, closed.stderr
    assert closed.stdout == "2026-12-07T08:30\n"
    assert closed.stderr.count("\n") == 1 and "12月7日 08:30" in closed.stderr
    open_ = run("--at", "2026-12-07T10:00")
    assert (open_.returncode, open_.stdout, open_.stderr) == (0, "", "")
    bad = run("--at", "tonight")
    assert bad.returncode == 1 and "tonight" in bad.stderr and "Traceback" not in bad.stderr
