"""Opening the database: where the default SQLite file lives, its durability settings, migrations.

SQLite runs in WAL mode with `synchronous=FULL`: a transaction is on disk when its commit
returns, so a reply sent after the commit never confirms a ticket that a power cut could lose.
PostgreSQL is used when the URL says so (`postgresql+psycopg://…`).

A database that cannot be used as it is (a file that is not SQLite, a server that does not
answer, a database that refuses writes) is described in one line by `explain`, and
`check_writable` finds the last kind before a server starts rather than at its first write.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine, Table, create_engine, event, false, insert, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class DatabaseUrlError(ValueError):
    pass


class DatabaseUnusable(Exception):
    """The database cannot be used as it is; the message is one line saying what to do."""


def data_dir() -> Path:
    if "QUEUE_DATA" in os.environ:
        return Path(os.environ["QUEUE_DATA"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "hall-queue"


def default_url() -> str:
    return os.environ.get("QUEUE_DB") or f"sqlite:///{data_dir() / 'hall.db'}"


POOL_SIZE = 5   # SQLAlchemy's default: connections for reads, reports and pages
# A database machine that dies or a link that is cut must fail a statement in seconds, not
# after the kernel's TCP timeouts (15 minutes; hours when idle): the servers then fail over
# to the promoted standby, and a leader cut off from the database stops leading. A URL that
# sets one of these keeps its own.
PG_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                 "keepalives_count": 3, "tcp_user_timeout": 15_000}


def open_engine(url: str | None = None, kept: int = 0) -> Engine:
    """`kept`: connections the caller will hold for good on top of the pool's usual ones (a
    served hall keeps one for its commits and one for its revocation check), so that a server
    of many halls does not take the pool's every connection for them."""
    url = url or default_url()
    pool = {"pool_size": POOL_SIZE + kept}
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(f"数据库地址格式不对：{url}（应如 sqlite:///路径/hall.db 或 "
                               "postgresql+psycopg://用户:密码@主机/库名）") from None
    if parsed.get_backend_name() == "sqlite":
        # A `file:` URI (`sqlite:///file:path?mode=ro&uri=true`) names its file itself and
        # says whether it may be created: make no folder for it.
        file = sqlite_file(parsed)
        if file is not None:
            folder = file.parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseUrlError(f"无法创建数据目录 {folder}：{error.strerror}") from None
        engine = create_engine(parsed, connect_args={"timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        try:
            url.encode("utf-8")
        except UnicodeEncodeError:
            raise DatabaseUrlError("数据库地址中有不是 UTF-8 的字符；请检查 --db 或 QUEUE_DB 的写法"
                                   " / the database URL is not valid UTF-8") from None
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        keepalive = {k: v for k, v in PG_KEEPALIVES.items() if k not in parsed.query}
        return create_engine(parsed, pool_pre_ping=True, connect_args=keepalive, **pool)
    raise DatabaseUrlError(f"不支持的数据库：{parsed.get_backend_name()}（只支持 SQLite 和 PostgreSQL）")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it on an empty database), then fold
    the facts of the closed days that lack current ones (`day_facts.fill`): after an upgrade,
    or a change of `day_facts.FACTS_VERSION`, the first yearly report does not fold a year of
    events itself. With the facts in place this is one query per hall. (Alembic and the
    facts' fold and the hall's schema, which loads SQLAlchemy's ORM, are imported here, not
    with the module: a process that only opens the database, as a village point's server,
    does without them, about 10 MB less.)"""
    from alembic import command
    from alembic.config import Config

    from queue_server.store import day_facts
    from queue_server.store.schema import HallRow

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with engine.connect() as connection:
        halls = connection.execute(select(HallRow.id)).scalars().all()
    for hall_id in halls:
        day_facts.fill(engine, hall_id)


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("halls")


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names; None for another database, an in-memory one, or a `file:`
    URI (which names its file itself and says whether it may be created)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or _is_uri(url):
        return None
    return Path(url.database).expanduser()


def _is_uri(url: URL) -> bool:
    return url.query.get("uri") in ("true", "1") and (url.database or "").startswith("file:")


def _where(url: URL) -> str:
    """The database as a person names it: the SQLite file's path, or the URL without password."""
    if url.get_backend_name() == "sqlite":
        if _is_uri(url):
            return unquote(urlsplit(url.database).path)
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def one_line(text: object) -> str:
    """Error text folded into one line (psycopg's messages, pg_dump's output span several)."""
    return " ".join(str(text).split())


def explain(error: DBAPIError, url: URL) -> str | None:
    """One line that says what is wrong with the database and what to do, for the errors that
    come from the database or its file being unusable (not from a mistake in the code); None
    for the others."""
    where, detail = _where(url), one_line(error.orig)
    name = getattr(error.orig, "sqlite_errorname", "")
    sqlstate = getattr(error.orig, "sqlstate", None)
    if name.startswith("SQLITE_READONLY"):
        return (f"数据库拒绝写入（{detail}）：{where}；请检查数据库文件及其文件夹的写权限、"
                "磁盘是否只读，以及 --db 中是否有 mode=ro")
    if sqlstate == "25006":    # read_only_sql_transaction
        return (f"数据库拒绝写入（{detail}）：{where}；请检查库或账号的 "
                "default_transaction_read_only 设置（ALTER DATABASE … SET … = off）")
    if sqlstate == "42501":    # insufficient_privilege
        return f"数据库账号权限不足（{detail}）：{where}；请给该账号授予所需的表权限"
    if name.startswith("SQLITE_NOTADB"):
        return f"{where} 不是 SQLite 数据库文件（{detail}），未做任何改动；请检查 --db 路径"
    if name.startswith("SQLITE_CORRUPT"):
        return (f"{where} 已损坏（{detail}），未做任何改动；请从备份恢复"
                "（queue-server backup 做的副本）")
    if name.startswith("SQLITE_CANTOPEN"):
        return f"无法打开数据库文件 {where}（{detail}）；请检查路径、文件夹是否存在及其权限、磁盘是否只读"
    if name.startswith("SQLITE_BUSY"):
        return f"数据库 {where} 被另一个程序占用（{detail}）；请稍后再试，或先停止正在写它的程序"
    if url.get_backend_name() == "postgresql" and isinstance(error, OperationalError):
        return (f"无法连接 PostgreSQL 数据库 {where}（{detail}）；请检查 --db 中的主机、端口、"
                "库名和账号，以及数据库服务是否在运行")
    if isinstance(error, OperationalError):
        return f"无法使用数据库 {where}（{detail}）；请检查 --db 地址、路径权限或数据库服务"
    return None


def backup_sqlite(database: str, target: Path) -> None:
    """A consistent copy of the SQLite file `database` at `target`, taken with SQLite's online
    backup while servers may be writing to it (a hall's `backup`, a point's `point backup`)."""
    source = sqlite3.connect(database)
    try:
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()


def check_writable(engine: Engine) -> None:
    """Raise `DatabaseUnusable` unless the database takes writes, and change nothing.

    Inserts no rows into `events` (the table every command writes) in a transaction that is
    rolled back: the statement is a real write to the database (SQLite takes its write lock,
    PostgreSQL checks a read-only transaction and the INSERT privilege) that adds nothing. A
    read-only SQLite file (or `mode=ro`), a read-only PostgreSQL database or a role without
    INSERT fails here, so the server refuses to start instead of saying "ok" on /healthz and
    failing every command. (The schema is imported here, as in `migrate`.)
    """
    from queue_server.store.schema import EventRow

    table = EventRow.__table__
    assert isinstance(table, Table)   # a declarative class's __table__
    columns = [c for c in table.c if not c.primary_key]
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            conn.execute(insert(table).from_select(
                [c.name for c in columns], select(*columns).where(false())))
            transaction.rollback()
    except DBAPIError as error:
        raise DatabaseUnusable(explain(error, engine.url)
                               or f"数据库不能写入（{one_line(error.orig)}）：{_where(engine.url)}"
                               ) from None
