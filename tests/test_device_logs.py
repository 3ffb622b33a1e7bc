"""What a device logs as it runs (issue 15): one line when it connects, naming the device; a
lost server once, however many retries fail; none of kivy's start-up report."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time

import pytest

from hall.client import HallClient
from tests.conftest import free_port
from tests.live_hall import LiveHall


@pytest.fixture
def hall(tmp_path):
    live = LiveHall(tmp_path)
    yield live
    live.stop()


async def _until(condition, timeout: float) -> None:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "timed out"
        await asyncio.sleep(0.01)


def test_connecting_logs_one_line_naming_the_device(hall, caplog):
    async def scenario() -> None:
        client = HallClient([hall.ws], {"role": "kiosk", "token": hall.tokens["kiosk"]})
        runner = asyncio.create_task(client.run())
        await _until(lambda: client.connected, 5)
        await client.request("take_ticket", category="B")   # messages log nothing
        await client.stop()
        await asyncio.wait_for(runner, 5)

    with caplog.at_level(logging.DEBUG, logger="hall.client"):
        asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records if r.name == "hall.client"]
    assert lines == [f"取号机 kiosk-1 已连接 {hall.ws}"]


def test_retries_against_a_lost_server_are_logged_once(caplog):
    async def scenario() -> list[str]:
        statuses: list[str] = []
        client = HallClient([f"ws://127.0.0.1:{free_port()}/ws"],
                            {"role": "display", "token": "t"},
                            on_status=lambda ok, text: statuses.append(text),
                            first_delay=0.01, max_delay=0.02)
        runner = asyncio.create_task(client.run())
        await _until(lambda: len(statuses) >= 5, 5)
        await client.stop()
        await asyncio.wait_for(runner, 5)
        return statuses

    with caplog.at_level(logging.DEBUG, logger="hall.client"):
        statuses = asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records if r.name == "hall.client"]
    assert lines == [f"显示屏：{statuses[0]}"]
    assert [r.levelno for r in caplog.records if r.name == "hall.client"] == [logging.WARNING]


@pytest.mark.parametrize(("module", "role", "name"), [
    ("display_board.cli", "display", "显示屏 board-1"),
    ("satisfaction_pad.cli", "pad", "评价器 pad-1"),
])
def test_a_device_command_logs_its_connection_and_no_kivy_noise(hall, tmp_path, module, role,
                                                                name):
    done = subprocess.run(
        [sys.executable, "-m", module, "--server", hall.ws, "--token", hall.tokens[role],
         "--screenshot", str(tmp_path / "shot.png")],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    assert [line for line in lines if "已连接" in line] == [f"{name} 已连接 {hall.ws}"]
    assert not [line for line in lines if "INFO" in line or "DEBUG" in line], done.stderr
