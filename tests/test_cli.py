"""`queue-server` as an administrator uses it: real processes, a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SMALL = DATA / "small-hall.toml"


def run(*args: str, db: Path, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "queue_server.cli", *args],
                          input=stdin, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QUEUE_DB": f"sqlite:///{db}"})
    assert "Traceback" not in done.stderr, done.stderr
    assert (done.returncode == 0) == ok, (done.returncode, done.stdout, done.stderr)
    if not ok:
        assert done.stderr.strip(), "an error must say what is wrong"
    return done


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "hall.db"


def test_help_is_in_chinese_and_english(db):
    out = run("--help", db=db).stdout
    assert "导入或更新大厅配置 / import or update a hall" in out
    device_help = run("device", "add", "--help", db=db).stdout
    assert "--role" in device_help and "评价器" in device_help


def test_import_export_round_trip(db, tmp_path):
    assert "已导入" in run("import-hall", str(SMALL), db=db).stdout
    assert "无变化" in run("import-hall", str(SMALL), db=db).stdout
    exported = tmp_path / "out.toml"
    run("export-hall", "-o", str(exported), db=db)
    assert "文件正确" in run("check-hall", str(exported), db=db).stdout
    assert "无变化" in run("import-hall", str(exported), db=db).stdout
    assert run("export-hall", db=db).stdout == exported.read_text(encoding="utf-8")


def test_bad_file_is_rejected_whole(db, tmp_path):
    run("import-hall", str(SMALL), db=db)
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.read_text(encoding="utf-8").replace('name = "综合窗口"', 'name = "新名字"')
                   .replace("daily_cap = 5", "daily_cap = 0"), encoding="utf-8")
    done = run("import-hall", str(bad), db=db, ok=False)
    assert "未导入任何内容" in done.stderr and "categories[3].daily_cap" in done.stderr
    names = sqlite3.connect(db).execute("select name from windows order by number").fetchall()
    assert ("综合窗口",) in names and ("新名字",) not in names


@pytest.mark.parametrize(("args", "message"), [
    (("export-hall",), "数据库尚未初始化"),
    (("--db", "mysql://x/y", "init"), "不支持的数据库"),
    (("check-hall", "/no/such/file.toml"), "文件不存在"),
])
def test_mistakes_are_one_clear_line(db, args, message):
    done = run(*args, db=db, ok=False)
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2


def test_a_command_on_a_database_that_is_not_there_creates_nothing(tmp_path):
    missing = tmp_path / "no" / "such" / "hall.db"
    for args in (("export-hall",), ("point", "list"), ("device", "list"), ("backup", str(tmp_path / "b.db"))):
        done = run(*args, db=missing, ok=False)
        assert f"数据库尚未初始化：{missing} 不存在；请先运行 queue-server init" in done.stderr, args
    assert not (tmp_path / "no").exists() and not (tmp_path / "b.db").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--month", "2026/11"), "--month 应为月份，如 2026-11"),
    (("--month", "2026-11", "--from", "2026-11-01"), "--month 与 --from/--to 只能选一种"),
    (("--from", "2026-11-01"), "请用 --from 和 --to 给出日期，或用 --month 给出月份"),
    (("--month", "2026-11", "--table", "ledger", "--table", "kpis", "--format", "xlsx"),
     "好差评台账须单独导出"),
    (("--month", "2026-11", "--table", "ledger"), "CSV 每次只能导出一张表"),
])
def test_report_mistakes_are_one_clear_line(db, args, message):
    run("import-hall", str(SMALL), db=db)
    done = run("report", *args, db=db, ok=False)
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_devices_and_pins(db):
    run("import-hall", str(SMALL), db=db)
    added = json.loads(run("device", "add", "--role", "pad", "--name", "pad-1", "--window", "1",
                           "--json", db=db).stdout)
    assert added["role"] == "pad" and len(added["token"]) >= 32
    plain = run("device", "add", "--role", "kiosk", "--name", "kiosk-1", db=db).stdout
    assert "只显示这一次" in plain
    assert "必须用 --window" in run("device", "add", "--role", "pad", "--name", "p", db=db,
                                    ok=False).stderr
    assert "没有 9 号窗口" in run("device", "add", "--role", "pad", "--name", "p", "--window", "9",
                                  db=db, ok=False).stderr
    listed = json.loads(run("device", "list", "--json", db=db).stdout)
    assert [(d["name"], d["revoked_at"]) for d in listed] == [("kiosk-1", None), ("pad-1", None)]
    run("device", "revoke", "pad-1", db=db)
    assert "没有名为 pad-1 的设备" in run("device", "revoke", "pad-1", db=db, ok=False).stderr
    listed = json.loads(run("device", "list", "--json", db=db).stdout)
    assert sum(d["revoked_at"] is not None for d in listed) == 1
    stored = sqlite3.connect(db).execute("select token_hash from devices").fetchall()
    assert all(added["token"] not in row[0] for row in stored)

    run("clerk", "set-pin", "1001", db=db, stdin="246810\n")
    assert "4 到 8 位数字" in run("clerk", "set-pin", "1001", "--pin", "12", db=db, ok=False).stderr
    assert "没有工号为 9999" in run("clerk", "set-pin", "9999", "--pin", "1234", db=db,
                                   ok=False).stderr


def test_manager_accounts(db):
    run("import-hall", str(SMALL), db=db)
    run("manager", "add", "zhuren", "--name", "王主任", db=db, stdin="a-long-password\n")
    assert "至少 8 个字符" in run("manager", "add", "x", "--password", "short", db=db,
                                 ok=False).stderr
    stored = sqlite3.connect(db).execute("select user, name, password_hash from managers").fetchall()
    assert stored[0][:2] == ("zhuren", "王主任") and stored[0][2].startswith("scrypt$")


def test_backup_is_a_consistent_copy(db, tmp_path):
    run("import-hall", str(SMALL), db=db)
    copy = tmp_path / "copy.db"
    run("backup", str(copy), db=db)
    assert sqlite3.connect(copy).execute("select code from halls").fetchall() == [("small",)]
    assert "已存在" in run("backup", str(copy), db=db, ok=False).stderr
    # A `file:` URI, as an administrator may give to open the file read-only, works too.
    done = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", "backup", str(tmp_path / "uri.db")],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "QUEUE_DB": f"sqlite:///file:{db}?mode=ro&uri=true"})
    assert done.returncode == 0, done.stderr
    assert sqlite3.connect(tmp_path / "uri.db").execute("select code from halls").fetchall() == [
        ("small",)]


@pytest.mark.postgres
def test_backup_of_postgresql_uses_pg_dump(postgres_url, tmp_path):
    env = {**os.environ, "QUEUE_DB": postgres_url}
    for args in (["import-hall", str(SMALL)], ["backup", str(tmp_path / "hall.dump")]):
        done = subprocess.run([sys.executable, "-m", "queue_server.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    listing = subprocess.run(["pg_restore", "--list", str(tmp_path / "hall.dump")],
                             capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA public events" in listing and "TABLE DATA public halls" in listing


def test_serve_reports_health_and_stops_cleanly(db):
    run("import-hall", str(SMALL), db=db)
    server = subprocess.Popen(
        [sys.executable, "-m", "queue_server.cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "QUEUE_DB": f"sqlite:///{db}"})
    try:
        line = server.stdout.readline()
        assert "排队服务器已启动" in line, server.stderr.read()
        url = line.split("serving at ")[1].split()[0]
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as reply:
            health = json.load(reply)
        assert health["database"] == "ok" and health["hall"] == "small"
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{url}/nothing-here", timeout=5)
        assert missing.value.code == 404
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0


def test_a_device_token_never_begins_like_an_option(monkeypatch):
    """`--token -x…` is read as an option by every command line: such tokens are not made."""
    from queue_server import credentials

    made = iter(["-starts-like-an-option", "_fine-token"])
    monkeypatch.setattr(credentials.secrets, "token_urlsafe", lambda n: next(made))
    assert credentials.new_token() == "_fine-token"
