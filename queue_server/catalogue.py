"""The county catalogue: which fields of an item the county maintains, and how a hall adopts them.

A county's items and guides are maintained once, at the county, and published as numbered
versions (`queue-server catalogue publish`, queue_server.store.county_catalogue). A hall adopts
(认领) a county item by having an item of the same code: the item's *shared* fields then come
from the county version the hall has applied, its *local* fields stay the hall's own, from its
hall file. Items only the hall has are its own entirely, and county items a hall does not have
are not added to it.

Local are the fields that say who does it and where, which differ from hall to hall for the
same service (docs/hall-config.md#县级事项目录-the-county-catalogue):

- `department` and `category`: the office that takes it in and the queue (so the windows) a
  ticket for it joins; a push never moves a hall's tickets to other windows;
- `phone`: the local office's consultation phone;
- `summary` and `steps`: the guide's texts that name the implementing office and the window
  to go to ("申请人在大厅取号后到综合受理窗口提交申请材料"), written for each hall.

Shared is the rest, the part bound to law that must be the same everywhere: name, handling
and type, legal basis, conditions, materials, time limits, fee and its basis, the certificate,
notes.

Pure functions over `ServiceItem`s and JSON-ready dicts; the store and the server do the I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from queue_server.hall_definition import CATALOGUE_UPDATES, Material, ServiceItem

LOCAL_FIELDS = ("department", "category", "phone", "summary", "steps")
SHARED_FIELDS = tuple(f.name for f in dataclasses.fields(ServiceItem)
                      if f.name not in LOCAL_FIELDS and f.name != "code")

CountyItems = Mapping[str, Mapping[str, Any]]
"""A county catalogue version's items: item code → its shared fields, as JSON holds them."""


def shared_fields(item: ServiceItem) -> dict[str, Any]:
    """An item's shared fields as JSON-ready data (materials as dicts, tuples as lists)."""
    out: dict[str, Any] = {}
    for name in SHARED_FIELDS:
        value = getattr(item, name)
        if name == "materials":
            value = [dataclasses.asdict(m) for m in value]
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def county_items(items: Iterable[ServiceItem]) -> dict[str, dict[str, Any]]:
    """What a county hall file's items publish: the shared fields of each, by code, in order."""
    return {item.code: shared_fields(item) for item in items}


def _with_shared(item: ServiceItem, shared: Mapping[str, Any]) -> ServiceItem:
    values: dict[str, Any] = {}
    for name in SHARED_FIELDS:
        if name not in shared:   # a field added since the version was published: the hall's
            continue
        value = shared[name]
        if name == "materials":
            value = tuple(Material(**m) for m in value)
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return dataclasses.replace(item, **values)


def adopt(items: Iterable[ServiceItem], county: CountyItems) -> tuple[ServiceItem, ...]:
    """The hall's items with the county's shared fields on each item the county has; local
    fields, local-only items and the order stay the hall's."""
    return tuple(_with_shared(item, county[item.code]) if item.code in county else item
                 for item in items)


def adopted(items: Iterable[ServiceItem], county: CountyItems) -> list[str]:
    """The codes of the hall's items that take their shared fields from `county`."""
    return [item.code for item in items if item.code in county]


def overridden(items: Iterable[ServiceItem], county: CountyItems) -> list[str]:
    """The codes of adopted items whose copies of the shared fields (in a hall file) differ
    from the county's: those copies are not used, and an import says so."""
    return [item.code for item in items
            if item.code in county and shared_fields(item) != county[item.code]]


def dropped_by_county(codes: Iterable[str], county: CountyItems,
                      ever_published: Iterable[str]) -> list[str]:
    """A hall's item codes the county once published but no longer has: the hall keeps
    serving them (with the shared fields it last had) until its own file drops them."""
    known = set(ever_published)
    return [code for code in codes if code in known and code not in county]


def due(mode: str, noticed_on: date, today: date) -> bool:
    """Whether a county version the hall has not applied is to be applied now. `noticed_on`:
    the first service day it was pending for the hall (the day it was published, or the day
    the hall's server first saw it, whichever is earlier). "at_once": now; "next_day": at
    the start of a later service day, so that a day's guides stay those it began with."""
    assert mode in CATALOGUE_UPDATES
    return mode == "at_once" or today > noticed_on
