"""Shared fixtures: a real SQLite file per test, and a real PostgreSQL server for the session.

The PostgreSQL server is Debian's (`apt-get install postgresql`, which scripts/test.sh does),
started here in a temporary folder on a free port and stopped at the end. Without it the
PostgreSQL tests fail, saying how to install it, rather than being skipped unnoticed; set
QUEUE_TESTS_WITHOUT_POSTGRES=1 to skip them on purpose.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Kivy reads these when first imported: draw offscreen (Mesa), leave pytest's argv, the user's
# ~/.kivy and the console alone, and log through `logging` so that pytest captures it.
for _name, _value in {"SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1",
                      "KIVY_NO_CONSOLELOG": "1", "KIVY_NO_FILELOG": "1", "KIVY_NO_CONFIG": "1",
                      "KIVY_LOG_MODE": "PYTHON", "KIVY_HOME": tempfile.mkdtemp()}.items():
    os.environ.setdefault(_name, _value)

DATA = Path(__file__).parent / "data"
ARTIFACTS = Path(__file__).parent / "artifacts"   # screenshots and printouts to look at
SMALL_HALL = DATA / "small-hall.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class Cluster:
    """A PostgreSQL cluster of Debian's packages in a folder of its own, on a free port, run as
    the `postgres` user when the tests run as root; `options` are the server's `-c` settings."""

    def __init__(self, root: Path, options: str = "", data: Path | None = None):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            pytest.fail("PostgreSQL 未安装：请用 scripts/test.sh 运行测试（会 apt-get install postgresql）")
        self.bindir = Path(bins[-1]).parent
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        if os.geteuid() == 0:
            os.chown(root, pwd.getpwnam("postgres").pw_uid, -1)
        self.data = data or root / "data"
        self.port = free_port()
        self.options = options
        if data is None:
            self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E",
                     "UTF8", "--locale=C")

    def run(self, program: str, *args: str) -> None:
        subprocess.run(_as_postgres([str(self.bindir / program), *args]), check=True,
                       capture_output=True)

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start",
                 "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                       f"-c fsync=on {self.options}")

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                                     mode, "stop"]), capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A running PostgreSQL server; yields its base URL (without a database name)."""
    if os.environ.get("QUEUE_TESTS_WITHOUT_POSTGRES"):
        pytest.skip("QUEUE_TESTS_WITHOUT_POSTGRES is set")
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="hallq-pg-")))
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


_database_numbers = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A new, empty database on the session's PostgreSQL server."""
    import psycopg

    name = f"hall_test_{os.getpid()}_{next(_database_numbers)}"
    plain = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """A fresh, empty database of each kind: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hall.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def hall_0005(tmp_path):
    """A copy of `data/hall-0005.db` (the small hall's simulated days, written by the release of
    migration 0005), upgraded: its engine, hall id, definition and file."""
    from queue_server.store import hall_records
    from queue_server.store.database import migrate, open_engine

    path = tmp_path / "hall.db"
    shutil.copy(Path(__file__).parent / "data" / "hall-0005.db", path)
    engine = open_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        hall_id = hall_records.hall_id_for(conn, None)
        definition = hall_records.load_definition(conn, hall_id)
    yield engine, hall_id, definition, path
    engine.dispose()


@pytest.fixture(scope="module")
def window():
    """Kivy's window (offscreen in the tests), with the Chinese font: the kiosk's screens."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from hall.look import register_font

    register_font()
    EventLoop.ensure_window()
    return Window
