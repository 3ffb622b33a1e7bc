"""Opening the database: where the default SQLite file lives, its durability settings, migrations.

SQLite runs in WAL mode with `synchronous=FULL`: a transaction is on disk when its commit
returns, so a reply sent after the commit never confirms a ticket that a power cut could lose.
PostgreSQL is used when the URL says so (`postgresql+psycopg://…`).
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class DatabaseUrlError(ValueError):
    pass


def data_dir() -> Path:
    if "QUEUE_DATA" in os.environ:
        return Path(os.environ["QUEUE_DATA"])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "hall-queue"


def default_url() -> str:
    return os.environ.get("QUEUE_DB") or f"sqlite:///{data_dir() / 'hall.db'}"


def open_engine(url: str | None = None) -> Engine:
    url = url or default_url()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(f"数据库地址格式不对：{url}（应如 sqlite:///路径/hall.db 或 "
                               "postgresql+psycopg://用户:密码@主机/库名）") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseUrlError(f"无法创建数据目录 {folder}：{error.strerror}") from None
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise DatabaseUrlError(f"不支持的数据库：{parsed.get_backend_name()}（只支持 SQLite 和 PostgreSQL）")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it on an empty database)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("halls")
