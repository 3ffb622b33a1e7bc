"""The database tables. Every row carries its hall, so one database can hold a county's halls.

The event log (`events`) is the record of truth: append-only, numbered per hall by `seq`.
Reports fold it (`kpis.fold`); `day_facts` keeps that fold for each closed service day, so
that a year's report need not read a year of events. Times are stored in UTC (see
`UtcDateTime`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware (UTC) datetimes out, on SQLite (which has no zones) as on PG."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def _hall_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), index=False)


class HallRow(Base):
    __tablename__ = "halls"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]]
    catalogue_version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]
    secret: Mapped[str] = mapped_column(String(64), default="")
    """Signs the citizens' ticket tokens; made at the first import, never exported."""
    credentials_version: Mapped[int] = mapped_column(default=0)
    """Goes up whenever a device is revoked, a PIN reset or a manager account changed: a
    running server reads it to end the sessions those credentials opened."""
    epoch: Mapped[int] = mapped_column(default=0)
    """The fencing epoch: goes up each time a server takes the hall; a commit of the hall's
    events checks it in its own transaction (queue_server.leadership)."""
    leader: Mapped[str | None] = mapped_column(String(100))
    """The name of the server that took the hall last (`servers.name`)."""
    county_version: Mapped[int] = mapped_column(default=0)
    """The county catalogue version whose shared fields the hall's adopted items have
    (`county_catalogue.version`); 0 before it applied any (queue_server.catalogue)."""


class ServerRow(Base):
    """A `serve` process, by the name it runs under: where devices reach it, when it last said
    it was alive (every half second while it runs), and the PostgreSQL session that holds its
    halls' locks (gone the moment the process dies)."""

    __tablename__ = "servers"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    url: Mapped[str] = mapped_column(String(300))
    seen_at: Mapped[datetime]
    backend: Mapped[int | None]


class DepartmentRow(Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    code: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
    """Order in the hall file, kept so that an export reads like the import."""
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40), default="")


class CategoryRow(Base):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("hall_id", "prefix"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    prefix: Mapped[str] = mapped_column(String(2))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    daily_cap: Mapped[int]
    kinds: Mapped[list[Any]]
    department: Mapped[str] = mapped_column(String(40), default="")
    booking: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """Its [categories.booking] rules (`hall_toml.booking_settings`); None: no bookings."""


class ClerkRow(Base):
    __tablename__ = "clerks"
    __table_args__ = (UniqueConstraint("hall_id", "badge"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    badge: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(100))
    photo: Mapped[str] = mapped_column(String(300), default="")
    department: Mapped[str] = mapped_column(String(40), default="")
    pin_hash: Mapped[str | None] = mapped_column(String(200))


class WindowRow(Base):
    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("hall_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(40))
    categories: Mapped[list[Any]]
    a_post: Mapped[str] = mapped_column(String(16))
    b_posts: Mapped[list[Any]]
    zone: Mapped[str] = mapped_column(String(100), default="")
    floor: Mapped[str] = mapped_column(String(100), default="")
    short_name: Mapped[str] = mapped_column(String(20), default="")


class ItemRow(Base):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    code: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(2))
    guide: Mapped[dict[str, Any]]


class CountyCatalogueRow(Base):
    """One published version of the county's catalogue: the shared fields of every county item,
    by item code (queue_server.catalogue). Every version is kept."""

    __tablename__ = "county_catalogue"
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    published_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(300), default="")
    """Who published it and from what file."""
    items: Mapped[dict[str, Any]]


class HallCatalogueRow(Base):
    """A hall's items as they were at one of its catalogue versions (`halls.catalogue_version`),
    so that the guide a ticket was issued with can be shown later (`/guide/<code>?v=N`). The
    items are stored as the `items` table holds them: code, name, department, category, guide."""

    __tablename__ = "hall_catalogues"
    __table_args__ = (UniqueConstraint("hall_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    version: Mapped[int]
    made_at: Mapped[datetime]
    county_version: Mapped[int] = mapped_column(default=0)
    items: Mapped[list[Any]]


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("hall_id", "seq"), Index("ix_events_hall_day", "hall_id", "day"),
                      Index("ix_events_hall_kind", "hall_id", "kind", "day"))
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    seq: Mapped[int]
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    ticket: Mapped[str | None] = mapped_column(String(8))
    window: Mapped[int | None] = mapped_column(Integer)
    clerk: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict[str, Any]]


class DayFactsRow(Base):
    """The folded facts of one closed service day (`store.day_facts`), so that a report over
    months reads a row per day rather than every event. Derived from the log, never the truth:
    rows of another `version` are recomputed from the events."""

    __tablename__ = "day_facts"
    __table_args__ = (UniqueConstraint("hall_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    day: Mapped[date] = mapped_column(Date)
    version: Mapped[int]
    data: Mapped[str] = mapped_column(Text)


class ManagerRow(Base):
    __tablename__ = "managers"
    __table_args__ = (UniqueConstraint("hall_id", "user"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    user: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(10), default="hall", server_default="hall")
    """"hall": this hall's dashboard only; "county": an account of the county's own hall (the
    hall file's `level = "county"`) that sees every hall: `/county` and each hall's dashboard
    (queue_server.county)."""


class HallLiveRow(Base):
    """A hall's live figures as its leader last wrote them (every `county.LIVE_SECONDS`), so
    that `/county` on any server shows every hall, whichever server leads it."""

    __tablename__ = "hall_live"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"),
                                         primary_key=True)
    server: Mapped[str] = mapped_column(String(100))
    epoch: Mapped[int]
    """The epoch the hall was led with (`halls.epoch`): a write of an older one is dropped."""
    at: Mapped[datetime]
    data: Mapped[dict[str, Any]]


class PhoneSaltRow(Base):
    """The random salt of a hall's service day that the mobile 取号 page's phone keys are made
    with; deleted once the day is over (queue_server.store.phone_salts)."""

    __tablename__ = "phone_salts"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"),
                                         primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))


class BookingSaltRow(Base):
    """The random salt of a period of bookings (from `since`, `bookings.SALT_DAYS` days) that
    their phone and ID keys are made with; deleted once nothing needs those keys
    (queue_server.store.booking_salts)."""

    __tablename__ = "booking_salts"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"),
                                         primary_key=True)
    since: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))


class LoginGuardRow(Base):
    """The lockout counter of one account name tried at one hall, whether the account exists or
    not (so that the answers never tell a real badge from an unknown one)."""

    __tablename__ = "login_guards"
    __table_args__ = (UniqueConstraint("hall_id", "role", "account"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    role: Mapped[str] = mapped_column(String(10))
    account: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(default=0)
    """Wrong answers since the last right one or the end of the last lock."""
    pending: Mapped[int] = mapped_column(default=0)
    """Tries reserved and still being checked (their hash runs now)."""
    locked_until: Mapped[datetime | None]
    last_try_at: Mapped[datetime]


class DeviceRow(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("hall_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(10))
    window: Mapped[int | None]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ComplaintContactRow(Base):
    """A complainant's name and phone number, kept beside the append-only log (which never holds
    them) so that they can be purged: `complaint_contact_days` after the complaint is closed
    (queue_server.complaint_contacts). Only when the hall keeps contacts at all
    (`complaint_keep_contact`)."""

    __tablename__ = "complaint_contacts"
    __table_args__ = (UniqueConstraint("hall_id", "complaint"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    complaint: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(40), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")


class PointRow(Base):
    """A village point enrolled at a town's hall (`queue-server point enrol`, docs/points.md).
    The secret is kept as it was given (as the hall's own `secret`): the town verifies the
    point's HMAC proof with it. `installation`: the PC that first used the enrolment code;
    another is refused. An enrolment made again (`--again`) revokes the old row."""

    __tablename__ = "points"
    __table_args__ = (Index("ix_points_live", "hall_id", "code", unique=True,
                            sqlite_where=text("revoked_at IS NULL"),
                            postgresql_where=text("revoked_at IS NULL")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = _hall_fk()
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(60))
    secret: Mapped[str] = mapped_column(String(64))
    installation: Mapped[str | None] = mapped_column(String(64))
    enrolled_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class _PointLog:
    """The columns of one log of a point, the point's or the town's: an entry by its number."""

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"),
                                         primary_key=True)
    point: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    seen: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    case_no: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]


class PointUpRow(_PointLog, Base):
    """A point's log as the town received it: stored once by (hall, point, seq), in order; with
    the town's clock when it arrived and the clock offset measured in that session."""

    __tablename__ = "point_up"
    __table_args__ = (Index("ix_point_up_case", "hall_id", "point", "case_no"),)
    received_at: Mapped[datetime]
    clock_offset: Mapped[int | None]
    """Seconds, the town's clock minus the point's, as measured when this entry arrived."""


class PointDownRow(_PointLog, Base):
    """The town's log for one point: its answers (received, accepted, asked, finished)."""

    __tablename__ = "point_down"
    __table_args__ = (Index("ix_point_down_case", "hall_id", "point", "case_no"),)


class PointSyncRow(Base):
    """Where the sync with one point stands, as the town sees it."""

    __tablename__ = "point_sync"
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"),
                                         primary_key=True)
    point: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_contact: Mapped[datetime | None]
    up_last: Mapped[int] = mapped_column(default=0)
    """The last entry of the point's log the town holds."""
    down_acked: Mapped[int] = mapped_column(default=0)
    """The last entry of the town's log the point said it holds."""
    clock_offset: Mapped[int | None]
    """Seconds, the town's clock minus the point's, at the last session."""
