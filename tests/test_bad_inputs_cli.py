"""`queue-server` given things that are broken: a file that is not a database, a PostgreSQL
server that does not answer, a database that refuses writes, a hall file that is too big or
not UTF-8, arguments that are not UTF-8. Each is one line on stderr, exit status 1, and
nothing is changed. Real processes, as an administrator runs them."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SMALL_HALL, free_port

ROOT = Path(__file__).resolve().parent.parent


def _env(db: str | None) -> dict[str, str]:
    # this checkout's queue_server, whatever the working folder
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("QUEUE_DB", None)
    if db is not None:
        env["QUEUE_DB"] = db
    return env


def cli(*args: str | bytes, db: str | None = None, cwd: Path | None = None,
        stdin: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "queue_server.cli", *args], env=_env(db),
                          cwd=cwd, input=stdin, capture_output=True, timeout=timeout)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    """The run failed with exit status 1 and exactly one line on stderr, which is returned."""
    stderr = done.stderr.decode("utf-8", "backslashreplace")
    assert done.returncode == 1, (done.returncode, done.stdout, stderr)
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("错误 / error: "), stderr
    return lines[0]


def serve_fails(db: str, cwd: Path | None = None) -> str:
    """`serve` on `db` must exit by itself; a server that starts is a failure."""
    server = subprocess.Popen([sys.executable, "-m", "queue_server.cli", "serve", "--port", "0"],
                              env=_env(db), cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        stdout, stderr = server.communicate()
        pytest.fail(f"the server started on a database that refuses writes: {stdout.decode()}")
    return one_error_line(subprocess.CompletedProcess(server.args, server.returncode, stdout,
                                                      stderr))


# --- a file that is not a database ------------------------------------------------------------

@pytest.mark.parametrize("content", [random.Random(2026).randbytes(4096),
                                     "这不是数据库 / not a database\n".encode() * 150],
                         ids=["random-bytes", "text"])
@pytest.mark.parametrize("command", [["init"], ["device", "list"], ["serve", "--port", "0"]],
                         ids=["init", "device-list", "serve"])
def test_a_file_that_is_not_a_database_is_one_line_and_left_alone(tmp_path, content, command):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(content)
    line = one_error_line(cli("--db", f"sqlite:///{garbage}", *command, timeout=30))
    assert f"{garbage} 不是 SQLite 数据库文件（file is not a database）" in line
    assert "请检查 --db 路径" in line
    assert garbage.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.db"]   # no -wal, no -shm


# --- PostgreSQL that cannot be reached --------------------------------------------------------

def test_postgresql_with_nothing_listening_is_one_line():
    # psycopg says this in two lines ("…Connection refused" and "\tIs the server running…")
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/hall"
    line = one_error_line(cli("--db", url, "init"))
    assert "无法连接 PostgreSQL 数据库" in line and "Connection refused" in line
    assert "Is the server running" in line and "请检查 --db" in line


@pytest.mark.postgres
def test_postgresql_without_the_database_is_one_line(postgres_server):
    line = one_error_line(cli("--db", f"{postgres_server}/no_such_hall_db", "device", "list"))
    assert 'database "no_such_hall_db" does not exist' in line
    assert "无法连接 PostgreSQL 数据库" in line


# --- a database that refuses writes -----------------------------------------------------------

def _imported(tmp_path: Path) -> Path:
    db = tmp_path / "hall.db"
    done = cli("import-hall", str(SMALL_HALL), db=f"sqlite:///{db}")
    assert done.returncode == 0, done.stderr.decode()
    return db


def test_serve_refuses_a_sqlite_database_opened_read_only(tmp_path):
    """SQLite's own read-only mode (a `file:` URI with mode=ro) refuses writes to everyone,
    root included."""
    db = _imported(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    line = serve_fails(f"sqlite:///file:{db}?mode=ro&uri=true", cwd=work)
    assert f"数据库拒绝写入（attempt to write a readonly database）：{db}" in line
    assert list(work.iterdir()) == [], "a file: URI is not a folder to create"


@pytest.fixture
def read_only_file(tmp_path):
    """Make a file read-only even for root: `chmod 444` for a normal user; root ignores that,
    so for root the file is made immutable (`chattr +i`, as with a file on a read-only disk)."""
    made: list[Path] = []

    def make(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o444)
            return
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: cannot make a file read-only")
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"running as root where chattr +i fails: {done.stderr.strip()}")
        made.append(path)

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_serve_refuses_a_read_only_sqlite_file(tmp_path, read_only_file):
    db = _imported(tmp_path)
    before = db.read_bytes()
    read_only_file(db)
    line = serve_fails(f"sqlite:///{db}")
    assert f"数据库拒绝写入（attempt to write a readonly database）：{db}" in line
    assert "写权限" in line
    assert db.read_bytes() == before


@pytest.mark.postgres
def test_serve_refuses_a_read_only_postgresql_database(postgres_server, postgres_url):
    import psycopg

    done = cli("import-hall", str(SMALL_HALL), db=postgres_url)
    assert done.returncode == 0, done.stderr.decode()
    name = postgres_url.rsplit("/", 1)[1]
    plain = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    line = serve_fails(postgres_url)
    assert "数据库拒绝写入（cannot execute INSERT in a read-only transaction）" in line
    assert "default_transaction_read_only" in line


@pytest.mark.postgres
def test_serve_refuses_a_postgresql_role_that_may_only_read(postgres_server, postgres_url):
    import psycopg

    done = cli("import-hall", str(SMALL_HALL), db=postgres_url)
    assert done.returncode == 0, done.stderr.decode()
    name = postgres_url.rsplit("/", 1)[1]
    role = f"reader_{name}"
    plain = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/{name}", autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
    line = serve_fails(postgres_url.replace("//postgres@", f"//{role}@"))
    assert "数据库账号权限不足（permission denied for table events）" in line


def test_the_write_probe_passes_on_a_writable_database_and_adds_nothing(db_url, tmp_path):
    from sqlalchemy import text

    from queue_server.store.database import check_writable, open_engine

    done = cli("import-hall", str(SMALL_HALL), db=db_url)
    assert done.returncode == 0, done.stderr.decode()
    engine = open_engine(db_url)
    check_writable(engine)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from events")).scalar() == 0
    engine.dispose()


# --- hall files -------------------------------------------------------------------------------

def test_a_huge_hall_name_is_refused_in_a_short_message(tmp_path):
    db = tmp_path / "hall.db"
    hall = tmp_path / "hall.toml"
    hall.write_text(SMALL_HALL.read_text(encoding="utf-8").replace(
        'name = "测试镇便民服务中心"', f'name = "{"大" * 1_000_000}"'), encoding="utf-8")
    done = cli("import-hall", str(hall), db=f"sqlite:///{db}")
    stderr = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in stderr
    assert "hall.name: 太长：最多 60 个字符，实际 1000000 个字符" in stderr
    assert len(stderr) < 500, "the message must not repeat the name"
    assert not db.exists()


def test_a_hall_file_saved_by_notepad_with_a_bom_is_read(tmp_path):
    hall = tmp_path / "hall.toml"
    hall.write_bytes(b"\xef\xbb\xbf" + SMALL_HALL.read_bytes().replace(b"\n", b"\r\n"))
    done = cli("check-hall", str(hall))
    assert done.returncode == 0, done.stderr.decode()
    assert "文件正确" in done.stdout.decode()


def test_a_gbk_hall_file_is_named_as_such(tmp_path):
    hall = tmp_path / "hall.toml"
    hall.write_bytes(SMALL_HALL.read_text(encoding="utf-8").encode("gbk"))
    done = cli("check-hall", str(hall))
    stderr = done.stderr.decode()
    assert done.returncode == 1 and "Traceback" not in stderr
    assert "文件不是 UTF-8 编码（可能是 GBK）" in stderr and "另存为 UTF-8" in stderr


# --- arguments that are not UTF-8 -------------------------------------------------------------

@pytest.mark.parametrize(("args", "option"), [
    (["device", "add", "--role", "kiosk", "--name", b"kiosk-\xff1"], "--name"),
    (["device", "revoke", b"kiosk-\xff1"], "name"),
    (["clerk", "set-pin", b"10\xe901", "--pin", "2468"], "badge"),
    (["manager", "add", b"zhu\xe9", "--password", "a-long-password"], "user"),
    (["--hall", b"sm\xe9ll", "device", "list"], "--hall"),
], ids=["device-add", "device-revoke", "clerk-set-pin", "manager-add", "hall"])
def test_arguments_that_are_not_utf8_are_one_line(tmp_path, args, option):
    db = f"sqlite:///{_imported(tmp_path)}"
    line = one_error_line(cli(*args, db=db))
    assert f"{option} 的值" in line and "不是 UTF-8 文本" in line
    assert "\\x" in line, "the message shows the bytes that are wrong"
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        assert conn.execute("select count(*) from devices").fetchone() == (0,)
        assert conn.execute("select count(*) from managers").fetchone() == (0,)


def test_a_password_on_standard_input_that_is_not_utf8_is_one_line(tmp_path):
    db = f"sqlite:///{_imported(tmp_path)}"
    line = one_error_line(cli("manager", "add", "zhuren", db=db, stdin=b"long-pass\xe9word\n"))
    assert "输入的不是 UTF-8 文本" in line


def test_a_postgresql_url_that_is_not_utf8_is_one_line():
    line = one_error_line(cli("--db", b"postgresql://postgres@127.0.0.1:1/h\xe9ll", "init"))
    assert "数据库地址中有不是 UTF-8 的字符" in line


def test_a_file_name_that_is_not_utf8_still_works(tmp_path):
    """File names on Linux are bytes: those options keep what they are given."""
    hall = Path(os.fsdecode(bytes(tmp_path) + b"/hall-\xe9.toml"))
    shutil.copy(SMALL_HALL, hall)
    done = cli("check-hall", os.fsencode(hall))
    assert done.returncode == 0, done.stderr.decode()


@pytest.mark.postgres
def test_healthz_says_unhealthy_while_writes_fail_and_healthy_again_after(postgres_server,
                                                                          postgres_url, tmp_path):
    """The database turns read-only under a running server (a failed-over standby, an
    administrator's mistake): the server answers the kiosk with a clear refusal, `/healthz`
    says 503 with the cause, and both recover once writes work again."""
    import json
    import urllib.error
    import urllib.request

    import psycopg
    from websockets.sync.client import connect

    from tests.live_hall import ROUND_THE_CLOCK

    hall_file = tmp_path / "hall.toml"
    hall_file.write_text(ROUND_THE_CLOCK, encoding="utf-8")
    assert cli("import-hall", str(hall_file), db=postgres_url).returncode == 0
    added = cli("device", "add", "--role", "kiosk", "--name", "kiosk-1", "--json", db=postgres_url)
    token = json.loads(added.stdout)["token"]
    name = postgres_url.rsplit("/", 1)[1]
    admin = psycopg.connect(postgres_server.replace("postgresql+psycopg://", "postgresql://")
                            + "/postgres", autocommit=True)
    server = subprocess.Popen([sys.executable, "-m", "queue_server.cli", "serve", "--port", "0"],
                              env=_env(postgres_url), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def health() -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=10) as reply:
                return reply.status, json.load(reply)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def turn(read_only: bool) -> None:
        setting = "SET default_transaction_read_only = on" if read_only else "RESET ALL"
        admin.execute(f'ALTER DATABASE "{name}" {setting}')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))

    try:
        url = server.stdout.readline().split("serving at ")[1].split()[0]
        with connect(url.replace("http", "ws", 1) + "/ws") as kiosk:
            def ask(op: str, **params) -> dict:
                kiosk.send(json.dumps({"id": 1, "op": op, **params}))
                while "re" not in (reply := json.loads(kiosk.recv(timeout=30))):
                    pass
                return reply

            assert ask("hello", role="kiosk", token=token)["ok"]
            assert health()[0] == 200
            turn(read_only=True)
            refused = ask("take_ticket", category="A")
            assert refused["error"] == {"code": "internal",
                                        "message": "服务器暂时无法保存，请稍后重试；本次操作未生效"}
            status, body = health()
            assert status == 503 and "writes fail" in body["database"]
            assert "read-only transaction" in body["database"]
            turn(read_only=False)
            assert ask("take_ticket", category="A")["ticket"]["number"] == "A001"
            assert health()[0] == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        admin.execute(f'ALTER DATABASE "{name}" RESET ALL')
        admin.close()
