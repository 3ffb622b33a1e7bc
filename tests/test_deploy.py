"""The deployment files shipped in deploy/ (docs/deploy.md) say what the code accepts: the
systemd unit's commands parse with `queue-server`'s own options, with the example environment
file's values, and that file's multi-host database URL opens an engine."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

from queue_server.cli import _parser
from queue_server.store.database import open_engine

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "systemd"


def _environment() -> dict[str, str]:
    lines = (DEPLOY / "server.env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_units_commands_are_queue_servers_own():
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read(DEPLOY / "queue-server.service", encoding="utf-8")
    env = _environment()
    assert unit["Service"]["EnvironmentFile"] == "/etc/hall-queue/server.env"
    for key in ("ExecStartPre", "ExecStart"):
        command = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], unit["Service"][key])
        program, *args = shlex.split(command)
        assert program == "/opt/hall-queue/.venv/bin/queue-server"
        parsed = _parser().parse_args(args)      # exits (fails the test) on an unknown option
        if parsed.command == "serve":
            assert (parsed.name, parsed.advertise) == (env["SERVER_NAME"], env["SERVER_URL"])


def test_the_example_database_url_names_both_servers_and_asks_for_the_writable_one():
    engine = open_engine(_environment()["QUEUE_DB"])
    query = engine.url.query
    assert engine.url.drivername == "postgresql+psycopg"
    assert query["host"] == ("10.0.0.11:5432", "10.0.0.12:5432")
    assert query["target_session_attrs"] == "read-write"
    engine.dispose()
