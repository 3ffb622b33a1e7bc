"""What the simulator itself saw, day by day: the ground truth the KPI tests compare with.

Counts come from the simulator's own requests that the server accepted (a ticket is issued
when `take_ticket` said so, finished when `finish` did) and, for what only the server decides
(warnings, tickets sent back from an empty window, the day's close), from the events it
observed. `issued = finished + no_show + cancelled + open` must hold for every day; `check`
says so or names the difference.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

FINAL = ("finished", "no_show", "cancelled")


def _counter_dict(counter: Counter) -> dict[str, int]:
    return {str(k): v for k, v in sorted(counter.items(), key=lambda kv: str(kv[0]))}


def _score_key(score: int | None) -> str:
    return "null" if score is None else str(score)


class DayRecord:
    def __init__(self, plan_figures: dict[str, Any], day: str, hall: str):
        self.day, self.hall = day, hall
        self.plan = plan_figures
        self.status: dict[str, str] = {}
        self.category: dict[str, str] = {}          # the category a ticket is in now
        self.issued_by: dict[str, Counter] = {k: Counter() for k in (
            "category", "kind", "priority", "hour", "kiosk")}
        self.named_service = 0
        self.refused: Counter = Counter()
        self.finished_by: dict[str, Counter] = {k: Counter() for k in ("outcome", "category", "window")}
        self.counts: Counter = Counter()
        self.waits: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])   # category: [n, seconds]
        self.ratings: dict[str, Counter] = {k: Counter() for k in ("score", "channel", "pad", "citizen",
                                                                  "reason")}
        self.clerks: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        self.windows: dict[int, Counter] = defaultdict(Counter)
        self.presence: dict[str, Counter] = {k: Counter() for k in (
            "sign_in", "takeover", "sign_out", "pause", "day_end")}
        self.warnings: dict[str, Counter] = defaultdict(Counter)
        self.unattended: list[dict[str, Any]] = []
        self.devices: Counter = Counter()
        self.unexpected: list[dict[str, Any]] = []
        self.lags: list[float] = []
        self.lag_by_hour: dict[str, float] = {}

    # --- the simulator's own accepted requests ----------------------------------------------

    def issued(self, ticket: dict[str, Any], kiosk: int) -> None:
        number = ticket["number"]
        self.status[number] = "waiting"
        self.category[number] = ticket["category"]
        at = datetime.fromisoformat(ticket["issued_at"])
        for key, value in (("category", ticket["category"]), ("kind", ticket["kind"]),
                           ("priority", ticket["priority"]), ("hour", f"{at.hour:02d}"),
                           ("kiosk", kiosk)):
            self.issued_by[key][value] += 1
        self.named_service += ticket.get("service") is not None

    def refused_ticket(self, code: str) -> None:
        self.refused[code] += 1

    def watching(self) -> None:
        self.counts["watching"] += 1

    def arrival_lag(self, seconds: float, planned: datetime) -> None:
        """How much later (simulated seconds) than planned the server issued a ticket: 0 in the
        direct driver (up to the second the wire rounds to), the replay's slack in the protocol
        driver."""
        self.lags.append(seconds)
        hour = f"{planned.hour:02d}"
        self.lag_by_hour[hour] = max(self.lag_by_hour.get(hour, 0.0), round(seconds, 1))

    def called(self, number: str, first_wait_s: float | None, category: str, clerk: str, post: str) -> None:
        self.status[number] = "called"
        self.counts["calls"] += 1
        self.clerks[clerk][post]["called"] += 1
        if first_wait_s is not None:
            entry = self.waits[category]
            entry[0] += 1
            entry[1] += first_wait_s

    def recalled(self) -> None:
        self.counts["recalls"] += 1

    def no_show(self, number: str, window: int, clerk: str, post: str) -> None:
        self.status[number] = "no_show"
        self.counts["no_show"] += 1
        self.clerks[clerk][post]["no_show"] += 1
        self.windows[window]["no_show"] += 1

    def held(self, number: str, window: int, clerk: str, post: str) -> None:
        self.status[number] = "held"
        self.counts["held"] += 1
        self.clerks[clerk][post]["held"] += 1
        self.windows[window]["held"] += 1

    def resumed(self, number: str) -> None:
        self.counts["resumed"] += 1

    def transferred(self, number: str, to_category: str | None, to_window: int | None,
                    clerk: str, post: str) -> None:
        self.status[number] = "waiting"
        self.counts["transferred"] += 1
        self.counts["transferred_to_category" if to_category else "transferred_to_window"] += 1
        self.clerks[clerk][post]["transferred"] += 1
        if to_category:
            self.category[number] = to_category

    def finished(self, number: str, window: int, clerk: str, post: str, outcome: str) -> None:
        self.status[number] = "finished"
        self.finished_by["outcome"][outcome] += 1
        self.finished_by["category"][self.category[number]] += 1
        self.finished_by["window"][window] += 1
        self.clerks[clerk][post]["finished"] += 1
        self.windows[window]["finished"] += 1

    def rated(self, score: int | None, channel: str, window: int, clerk: str, post: str,
              reasons: list[str]) -> None:
        key = _score_key(score)
        self.ratings["score"][key] += 1
        self.ratings["channel"][channel] += 1
        self.ratings[channel][key] += 1
        for reason in reasons:
            self.ratings["reason"][reason] += 1
        self.clerks[clerk][post][f"rated_{key}"] += 1
        self.windows[window][f"rated_{key}"] += 1

    def signed_in(self, window: int, post: str, takeover: bool, label: str) -> None:
        self.presence["takeover" if takeover else "sign_in"][f"{post}:{label}"] += 1
        self.windows[window]["takeovers" if takeover else "sign_ins"] += 1

    def signed_out(self, window: int, label: str) -> None:
        self.presence["sign_out"][label] += 1

    def paused(self, window: int, reason: str) -> None:
        self.presence["pause"][reason] += 1
        self.windows[window]["pauses"] += 1

    def device(self, printer: str) -> None:
        self.devices[printer] += 1

    def unexpected_refusal(self, actor: tuple, op: str, code: str, message: str) -> None:
        self.unexpected.append({"actor": list(actor[:2]), "op": op, "code": code, "message": message})

    # --- what only the server decides, seen in its events ------------------------------------

    def observed(self, kind: str, data: dict[str, Any], at: datetime) -> None:
        if kind == "warning":
            self.warnings[data.get("kind", "?")][data.get("level", "?")] += 1
            if data.get("kind") == "unattended":
                self.unattended.append({"window": data["window"], "level": data["level"],
                                        "minutes": data.get("minutes"),
                                        "at": at.isoformat(timespec="seconds")})
        elif kind == "ticket_returned":
            self.counts["returned"] += 1
        elif kind == "ticket_cancelled" and data["number"] in self.status:
            self.status[data["number"]] = "cancelled"
        elif kind == "clerk_signed_out" and data.get("reason") == "day_end":
            self.presence["day_end"][data["clerk"]] += 1

    # --- the day's figures ------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        statuses = Counter(self.status.values())
        open_at_end = {s: n for s, n in sorted(statuses.items()) if s not in FINAL}
        issued = len(self.status)
        waits = {c: {"first_calls": n, "wait_s": round(s, 1)} for c, (n, s) in sorted(self.waits.items())}
        total_n = sum(n for n, _ in self.waits.values())
        total_s = sum(s for _, s in self.waits.values())
        return {
            "day": self.day, "hall": self.hall, "plan": self.plan,
            "tickets": {
                "issued": issued,
                "issued_by_category": _counter_dict(self.issued_by["category"]),
                "issued_by_kind": _counter_dict(self.issued_by["kind"]),
                "issued_by_priority": _counter_dict(self.issued_by["priority"]),
                "issued_by_hour": _counter_dict(self.issued_by["hour"]),
                "issued_by_kiosk": _counter_dict(self.issued_by["kiosk"]),
                "naming_a_service": self.named_service,
                "refused": _counter_dict(self.refused),
                "finished": statuses["finished"],
                "finished_by_outcome": _counter_dict(self.finished_by["outcome"]),
                "finished_by_category": _counter_dict(self.finished_by["category"]),
                "finished_by_window": _counter_dict(self.finished_by["window"]),
                "no_show": statuses["no_show"],
                "cancelled": statuses["cancelled"],
                "open": sum(open_at_end.values()),
                "open_by_status": open_at_end,
                "final_category": _counter_dict(Counter(self.category.values())),
                "calls": self.counts["calls"], "recalls": self.counts["recalls"],
                "transfers": self.counts["transferred"],
                "transfers_to_category": self.counts["transferred_to_category"],
                "transfers_to_window": self.counts["transferred_to_window"],
                "returned": self.counts["returned"],
                "holds": self.counts["held"], "resumed": self.counts["resumed"],
                "followed_on_phone": self.counts["watching"],
            },
            "waits": {"first_calls": total_n, "wait_s": round(total_s, 1),
                      "mean_wait_s": round(total_s / total_n, 1) if total_n else None,
                      "by_category": waits},
            "ratings": {
                "total": sum(self.ratings["score"].values()),
                "by_score": _counter_dict(self.ratings["score"]),
                "by_channel": _counter_dict(self.ratings["channel"]),
                "pad_by_score": _counter_dict(self.ratings["pad"]),
                "citizen_by_score": _counter_dict(self.ratings["citizen"]),
                "reasons": _counter_dict(self.ratings["reason"]),
            },
            "clerks": {badge: {post: _counter_dict(c) for post, c in sorted(posts.items())}
                       for badge, posts in sorted(self.clerks.items())},
            "windows": {str(w): _counter_dict(c) for w, c in sorted(self.windows.items())},
            "presence": {k: _counter_dict(c) for k, c in self.presence.items()},
            "warnings": {k: _counter_dict(c) for k, c in sorted(self.warnings.items())},
            "unattended_warnings": self.unattended,
            "device_reports": _counter_dict(self.devices),
            "replay": {"arrival_lag_s": {
                "mean": round(sum(self.lags) / len(self.lags), 1) if self.lags else None,
                "p95": round(sorted(self.lags)[int(0.95 * (len(self.lags) - 1))], 1) if self.lags else None,
                "max": round(max(self.lags), 1) if self.lags else None,
                "max_by_hour": dict(sorted(self.lag_by_hour.items()))}},
            "unexpected_refusals": self.unexpected,
        }


def check(day: dict[str, Any]) -> list[str]:
    """What does not add up in one day's summary (empty when all is well)."""
    t = day["tickets"]
    problems = []
    if t["issued"] != t["finished"] + t["no_show"] + t["cancelled"] + t["open"]:
        problems.append(f"{day['day']}: 取号 {t['issued']} ≠ 办结 {t['finished']} + 过号 {t['no_show']}"
                        f" + 日终作废 {t['cancelled']} + 未结 {t['open']}")
    if sum(t["issued_by_category"].values()) != t["issued"]:
        problems.append(f"{day['day']}: 各类别取号之和与总数不符")
    if sum(t["finished_by_outcome"].values()) != t["finished"]:
        problems.append(f"{day['day']}: 各办理结果之和与办结数不符")
    return problems


def add_up(days: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over days: every number summed, key by key, at every depth (lists are dropped)."""
    def merge(into: dict[str, Any], other: dict[str, Any]) -> None:
        for key, value in other.items():
            if isinstance(value, bool) or key in ("day", "hall", "mean_wait_s", "staffed_windows"):
                continue
            if isinstance(value, int | float):
                into[key] = into.get(key, 0) + value
            elif isinstance(value, dict):
                merge(into.setdefault(key, {}), value)

    total: dict[str, Any] = {}
    for day in days:
        merge(total, day)
    waits = total.get("waits", {})
    if waits.get("first_calls"):
        waits["mean_wait_s"] = round(waits["wait_s"] / waits["first_calls"], 1)
    total["days"] = len(days)
    return total
