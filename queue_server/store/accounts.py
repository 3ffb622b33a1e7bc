"""Logging in: clerks by badge and PIN, managers by user and password, with a lockout.

Five wrong tries lock an account name for five minutes, whatever is typed meanwhile, so a PIN of
four digits cannot be guessed by trying. The rules, and why each holds under concurrency:

- A try is *reserved* before the slow hash, in one atomic statement in the database (an upsert
  on `login_guards` that only succeeds while the wrong answers and the tries being checked
  right now make fewer than five, and no lock is on). Thirty simultaneous hellos for one badge
  therefore get at most five wrong PINs evaluated, however many server processes answer them;
  the rest are told the account is locked. (A right PIN among the five frees only its own
  place: the account is then logged in, and a sixth try may be checked.)
- The count is kept per account *name tried*, whether that account exists or not, and an
  unknown name costs the same hash (against a dummy): a wrong PIN for a real badge and any PIN
  for an unknown badge get the same answer, the same count of tries left and the same lock, so
  badges cannot be enumerated.
- A right answer clears the count of wrong ones; the fifth wrong one sets the lock; a lock that
  has run out lets the next try start a fresh count. A reserved try whose check never ends
  (the process was killed) stops holding its place a minute after the name's last try. Counts
  are forgotten a day after the last try.
- Setting a new PIN or password lifts the lock (`hall_records.set_pin`, `add_manager`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Connection, Engine, and_, case, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from queue_server.credentials import hash_pin, verify_pin
from queue_server.store.hall_records import county_hall, credentials_changed, lift_lock
from queue_server.store.schema import ClerkRow, LoginGuardRow, ManagerRow

LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=5)
FORGET_AFTER = timedelta(days=1)
FORGET_PENDING = timedelta(minutes=1)   # a check takes ~50 ms; one still "running" after this died
MIN_PASSWORD = 8


class AccountError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Login:
    ok: bool
    message: str = ""
    name: str = ""
    stamp: tuple = ()
    """What the session was opened with (role, account row id, secret hash, and a manager's
    scope): the session ends when the stored account no longer matches it
    (queue_server.revocation)."""
    scope: str = ""           # a manager's (`SCOPE_NAMES`)
    account: str = ""         # the account name, when not the one typed (a county pass)
    hashed: bool = False    # whether a hash was evaluated for this try


@dataclass(frozen=True, slots=True)
class AccountKind:
    role: str
    table: type[ClerkRow] | type[ManagerRow]
    key: str          # the column holding the account name
    secret: str       # the column holding the slow hash
    wrong: str        # the answer to a wrong name or secret
    extra: tuple[str, ...] = ()   # columns whose change ends the sessions too

    def stamp(self, row) -> tuple:
        return (self.role, row.id, getattr(row, self.secret),
                *(getattr(row, name) for name in self.extra))


CLERK = AccountKind("clerk", ClerkRow, "badge", "pin_hash", "工号或密码不正确")
MANAGER = AccountKind("manager", ManagerRow, "user", "password_hash", "用户名或密码不正确",
                      ("scope",))
KINDS = {kind.role: kind for kind in (CLERK, MANAGER)}
SCOPE_NAMES = {"hall": "本大厅", "county": "全县"}
"""A manager account's reach (`ManagerRow.scope`)."""


def login(engine: Engine, hall_id: int, kind: AccountKind, account: str, secret: str,
          now: datetime) -> Login:
    """Check one try: reserve it, then hash outside any transaction, then record the result."""
    with engine.begin() as conn:
        if not _reserve(conn, hall_id, kind.role, account, now):
            return Login(False, _locked_message(conn, hall_id, kind.role, account, now))
        row = conn.execute(select(kind.table).where(
            kind.table.hall_id == hall_id, getattr(kind.table, kind.key) == account)).first()
    stored = getattr(row, kind.secret) if row is not None else None
    # The same hash whether the account exists, has a secret, or not: no timing tells them apart.
    matches = verify_pin(secret, stored or _dummy_hash()) and stored is not None
    guard = LoginGuardRow
    done = case((guard.pending > 0, guard.pending - 1), else_=0)
    mine = (guard.hall_id == hall_id, guard.role == kind.role, guard.account == account)
    with engine.begin() as conn:
        if matches:
            conn.execute(update(guard).where(*mine).values(failures=0, pending=done,
                                                           locked_until=None))
            assert row is not None   # `matches` needs a stored hash
            return Login(True, name=row.name, stamp=kind.stamp(row), hashed=True,
                         scope=getattr(row, "scope", ""))
        failures, pending = conn.execute(update(guard).where(*mine).values(
            failures=guard.failures + 1, pending=done,
            locked_until=case((guard.failures + 1 >= LOCK_AFTER, now + LOCK_FOR),
                              else_=guard.locked_until),
        ).returning(guard.failures, guard.pending)).one()
    if failures >= LOCK_AFTER:
        return Login(False, f"密码连续输错 {LOCK_AFTER} 次，账号已锁定 "
                            f"{LOCK_FOR.seconds // 60} 分钟", hashed=True)
    return Login(False, f"{kind.wrong}（还可再试 {LOCK_AFTER - failures - pending} 次）",
                 hashed=True)


def _reserve(conn: Connection, hall_id: int, role: str, account: str, now: datetime) -> bool:
    """Take a place for one more try of this name: False when the name is locked, or when its
    wrong answers and the tries being checked right now already make five. One statement:
    atomic in the database, whatever the concurrency."""
    guard = LoginGuardRow
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    lapsed = and_(guard.locked_until.is_not(None), guard.locked_until <= now)
    # tries left "being checked" by a check that never ended (its process was killed)
    stale = guard.last_try_at < now - FORGET_PENDING
    statement = dialect.insert(guard).values(
        hall_id=hall_id, role=role, account=account, failures=0, pending=1, locked_until=None,
        last_try_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[guard.hall_id, guard.role, guard.account],
        set_={"failures": case((lapsed, 0), else_=guard.failures),
              "pending": case((or_(lapsed, stale), 1), else_=guard.pending + 1),
              "locked_until": case((lapsed, None), else_=guard.locked_until),
              "last_try_at": statement.excluded.last_try_at},
        where=or_(lapsed, and_(guard.locked_until.is_(None),
                               guard.failures + case((stale, 0), else_=guard.pending)
                               < LOCK_AFTER)),
    ).returning(guard.pending)
    return conn.execute(statement).first() is not None


def _locked_message(conn: Connection, hall_id: int, role: str, account: str,
                    now: datetime) -> str:
    until = conn.execute(select(LoginGuardRow.locked_until).where(
        LoginGuardRow.hall_id == hall_id, LoginGuardRow.role == role,
        LoginGuardRow.account == account)).scalar_one_or_none()
    if until is None:   # five tries of this name are being checked at this very moment
        return f"密码连续输错 {LOCK_AFTER} 次，账号已锁定，请 {LOCK_FOR.seconds // 60} 分钟后再试"
    minutes = max(1, round((until - now).total_seconds() / 60))
    return f"密码连续输错 {LOCK_AFTER} 次，账号已锁定，请 {minutes} 分钟后再试"


def forget_old_tries(conn: Connection, hall_id: int, now: datetime) -> int:
    """Drop the counts of names last tried over a day ago and not locked now (the table would
    otherwise keep every unknown name anyone ever typed)."""
    before = now - FORGET_AFTER
    return conn.execute(delete(LoginGuardRow).where(
        LoginGuardRow.hall_id == hall_id, LoginGuardRow.last_try_at < before,
        or_(LoginGuardRow.locked_until.is_(None), LoginGuardRow.locked_until < now))).rowcount


def current_stamps(conn: Connection, hall_id: int) -> set[tuple]:
    """The stamp of every account that may open a session at the hall, as stored now (its own,
    and the county's accounts): a session whose stamp is not among them was opened by a
    credential since removed or changed."""
    stamps: set[tuple] = set()
    county = county_hall(conn)
    for kind in KINDS.values():
        table = kind.table
        mine = table.hall_id == hall_id
        if table is ManagerRow and county is not None:
            mine = or_(mine, and_(ManagerRow.hall_id == county.id, ManagerRow.scope == "county"))
        rows = conn.execute(select(table.id, getattr(table, kind.secret).label(kind.secret),
                                   *(getattr(table, name) for name in kind.extra)).where(mine))
        stamps.update(kind.stamp(row) for row in rows)
    return stamps


def county_login(engine: Engine, account: str, secret: str, now: datetime) -> Login:
    """A try at `/county`: a manager account of the county's own hall, with the county's
    scope. Counted and locked as that hall's manager logins are (it is the same account)."""
    with engine.connect() as conn:
        county = county_hall(conn)
    if county is None:
        return Login(False, "数据库中还没有县级政务服务中心（大厅文件 level = \"county\"），"
                            "无法使用全县页面")
    result = login(engine, county.id, MANAGER, account, secret, now)
    if result.ok and result.scope != "county":
        return Login(False, "此账号只能管理本大厅，不能查看全县；请使用县级管理账号",
                     hashed=True)
    return result


@cache
def _dummy_hash() -> str:
    return hash_pin("0000")


def add_manager(conn: Connection, hall_id: int, user: str, name: str, password: str,
                scope: str | None = None) -> str:
    """Add a manager, or set an existing one's name, password and scope (None: an existing
    account keeps its own, a new one is the hall's): that ends the sessions the account had
    open and lifts its lock. A county account (`scope` "county") belongs to the county's own
    hall and opens every hall's dashboard. Returns the account's scope."""
    if not user.strip() or len(user) > 60:
        raise AccountError("用户名不能为空，且不超过 60 个字符")
    if not name.strip() or len(name) > 100:
        raise AccountError("姓名不能为空，且不超过 100 个字符")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")
    exists = conn.execute(select(ManagerRow.id, ManagerRow.scope).where(
        ManagerRow.hall_id == hall_id, ManagerRow.user == user)).first()
    scope = scope or (exists.scope if exists else "hall")
    if scope not in SCOPE_NAMES:
        raise AccountError(f"账号范围应为 {' / '.join(SCOPE_NAMES)} 之一")
    if scope == "county":
        county = county_hall(conn)
        if county is None or county.id != hall_id:
            where = f"县级政务服务中心 {county.code}" if county is not None else (
                "县级政务服务中心（大厅文件 level = \"county\" 的大厅，尚未导入）")
            raise AccountError(f"县级管理账号只能建在{where}")
    if exists:
        conn.execute(update(ManagerRow).where(ManagerRow.id == exists.id).values(
            name=name, password_hash=hash_pin(password), scope=scope))
        lift_lock(conn, hall_id, "manager", user)
        credentials_changed(conn, None if "county" in (scope, exists.scope) else hall_id)
    else:
        conn.execute(insert(ManagerRow).values(hall_id=hall_id, user=user, name=name,
                                               password_hash=hash_pin(password), scope=scope))
    return scope


def remove_manager(conn: Connection, hall_id: int, user: str) -> None:
    """Remove a manager account; its open sessions end (a county account's, in every hall)."""
    gone = conn.execute(delete(ManagerRow).where(ManagerRow.hall_id == hall_id,
                                                 ManagerRow.user == user)
                        .returning(ManagerRow.scope)).first()
    if gone is None:
        raise AccountError(f"没有用户名为 {user} 的管理账号")
    lift_lock(conn, hall_id, "manager", user)
    credentials_changed(conn, None if gone.scope == "county" else hall_id)


def list_managers(conn: Connection, hall_id: int) -> list[tuple[str, str, str]]:
    """Each manager account of the hall: user name, name and scope."""
    return [(r.user, r.name, r.scope) for r in conn.execute(
        select(ManagerRow.user, ManagerRow.name, ManagerRow.scope)
        .where(ManagerRow.hall_id == hall_id).order_by(ManagerRow.user))]
