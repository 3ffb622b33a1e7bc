"""Every kind of event has its entry in every table that says what it means (queue_server.events).

Adding a kind to `events.KINDS` without saying how it changes the hall, what it stores, who
hears of it and how the KPIs read it fails here, before anything runs with it.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest

from queue_server import events, hall_state, kpis, views
from queue_server.store import event_log

TABLES = {
    "hall_state.APPLY": hall_state.APPLY,
    "store.event_log.STORED": event_log.STORED,
    "views.AUDIENCES": views.AUDIENCES,
    "kpis.FOLD": kpis.FOLD,
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_kind_has_an_entry(name):
    assert events.missing(TABLES[name]) == [], f"{name} lacks these kinds"
    assert set(TABLES[name]) == set(events.KINDS), f"{name} has kinds that are not events"


def test_missing_names_a_kind_left_out():
    partial = {kind: None for kind in events.KINDS if kind is not events.TicketHeld}
    assert events.missing(partial) == ["ticket_held"]


def test_kinds_have_one_name_each():
    tags = [kind.tag for kind in events.KINDS]
    assert len(set(tags)) == len(tags)
    assert set(events.BY_TAG) == set(tags)


@pytest.mark.parametrize("kind", events.KINDS, ids=lambda k: k.tag)
def test_a_record_goes_through_the_log_unchanged(kind):
    """What `fields` stores, `record` reads back as an equal record."""
    hints = typing.get_type_hints(kind)
    sample = {}
    for f in dataclasses.fields(kind):
        hint = str(hints[f.name])
        sample[f.name] = (("原因甲", "原因乙") if "tuple" in hint else 3 if "int" in hint
                          else True if "bool" in hint else f"{f.name}-值")
    made = kind(**sample)
    assert events.record(kind.tag, made.fields()) == made


def test_the_kpi_fold_loads_only_the_kinds_it_reads():
    assert set(kpis.FOLDED_KINDS) == {
        kind.tag for kind, read in kpis.FOLD.items() if read is not None}
    assert "warning" not in kpis.FOLDED_KINDS and "ticket_finished" in kpis.FOLDED_KINDS
