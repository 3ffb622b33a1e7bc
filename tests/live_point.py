"""A real village point server (`queue-server point serve`) in a subprocess, on 127.0.0.1 with a
real SQLite file enrolled by `queue-server point init`, for the live tests of issue 18.

The point is 李庄村便民服务站 (P07) of 城关镇便民服务中心, whose calendar has Tuesday
2026-12-08 as a holiday: a case recorded on Friday 2026-12-04 is due at the town on Thursday
2026-12-10 (three working days: Monday, Wednesday, Thursday).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

from queue_server.points import enrolment as enrol
from tests.live_hall import Client

ENROLMENT = enrol.Enrolment(
    town_url="wss://zhen.example.gov.cn/h/T03", hall="T03", hall_name="城关镇便民服务中心",
    point="P07", point_name="李庄村便民服务站", secret="ab" * 32, handover_days=3,
    calendar={"timezone": "Asia/Shanghai", "sessions": [["08:30", "12:00"], ["14:00", "17:30"]],
              "calendar": {"working_weekdays": [1, 2, 3, 4, 5], "holidays": ["2026-12-08"]}},
    catalogue_version=4,
    items=(enrol.CatalogueItem("X1", "最低生活保障申请", ("身份证", "户口簿", "收入证明")),
           enrol.CatalogueItem("X2", "城乡居民医疗保险参保登记", ("身份证", "户口簿")),
           enrol.CatalogueItem("X3", "残疾人证申领", ("身份证", "户口簿", "近期免冠照片 2 张",
                                                  "医院诊断证明")),
           enrol.CatalogueItem("X4", "高龄津贴申请", ("身份证", "银行卡复印件")),
           enrol.CatalogueItem("X5", "农村建房申请", ("身份证", "户口簿", "宅基地证明",
                                                "建房设计图")),
           enrol.CatalogueItem("X6", "独生子女父母奖励扶助", ("身份证", "结婚证")),
           enrol.CatalogueItem("X7", "临时救助申请", ("身份证", "困难情况说明")),
           enrol.CatalogueItem("X8", "老年人优待证办理", ("身份证", "近期免冠照片 1 张"))),
    issued_at="2026-12-01T09:00:00+08:00")
FRIDAY = "2026-12-04T09:00"


def waited(check: Callable[[], Any], what: str, seconds: float = 60.0) -> Any:
    """Wait for `check()` to hold and return what it gave: a bound on a hang, not a timing."""
    deadline = time.monotonic() + seconds
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.1)
    return found


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "queue_server", *args],
                          capture_output=True, text=True, timeout=60)


class LivePoint:
    """A point enrolled from `ENROLMENT`'s code in `folder/point.db`, served from `start`; or,
    given `db`, the point already in that file."""

    def __init__(self, folder: Path, enrolment: enrol.Enrolment = ENROLMENT,
                 db: Path | None = None) -> None:
        self.db = db or folder / "point.db"
        self.url = f"sqlite:///{self.db}"
        if db is None:
            code = folder / "code.txt"
            code.write_text(enrol.encode(enrolment), encoding="utf-8")
            done = cli("point", "init", "--code", str(code), "--db", self.url)
            assert done.returncode == 0, done.stderr
        self.clients = contextlib.ExitStack()
        self.process: subprocess.Popen | None = None

    def start(self, simulate_from: str | None = FRIDAY) -> None:
        """`simulate_from` None: on the real clock."""
        clock = [] if simulate_from is None else ["--simulate-from", simulate_from]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "queue_server", "point", "serve", "--db", self.url,
             "--port", "0", *clock],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
        assert self.process.stdout is not None and self.process.stderr is not None
        line = self.process.stdout.readline()
        if "serving at" not in line:
            raise RuntimeError(line + self.process.stderr.read())
        self.http = line.split("serving at ")[1].split()[0]

    def client(self) -> Client:
        connection = connect(self.http.replace("http", "ws", 1) + "/ws", open_timeout=5,
                             max_size=None)
        return Client(self.clients.enter_context(connection))

    def hello(self) -> Client:
        client = self.client()
        client.hello = client.request("hello", role="point")
        assert client.hello["ok"], client.hello
        return client

    def kill(self) -> None:
        """Stop the server the hard way, as a power cut would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> int:
        self.clients.close()
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout=10)
