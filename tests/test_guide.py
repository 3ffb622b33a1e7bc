"""The guide's sections and the guide web page, from the demo town's catalogue."""

from __future__ import annotations

from pathlib import Path

from hall import guide
from queue_server import views
from queue_server.hall_toml import load_hall
from queue_server.web_pages import guide_html

DEMO = Path(__file__).resolve().parent.parent / "assets" / "halls" / "demo-town.toml"


def catalogue():
    return views.catalogue_view(load_hall(DEMO), 1)


def test_every_field_of_an_item_is_in_a_section():
    c = catalogue()
    item = c["items"][0]
    windows = [w for w in c["hall"]["windows"] if item["category"] in w["categories"]]
    text = "\n".join(line for _, lines in guide.sections(item, windows, c["hall"])
                     for line in lines)
    for field in ("summary", "certificate"):
        assert item[field] in text
    for key in ("conditions", "steps", "legal_basis", "notes"):
        assert all(entry in text for entry in item[key])
    assert all(m["name"] in text for m in item["materials"])
    assert "1 号窗口" in text and item["phone"] in text


def test_the_page_escapes_what_the_hall_file_says():
    c = catalogue()
    item = {**c["items"][0], "name": "<script>alert(1)</script>", "notes": ["a & b"]}
    page = guide_html(item, c["hall"])
    assert "<script>" not in page and "&lt;script&gt;" in page and "a &amp; b" in page
    assert page.startswith("<!doctype html>") and 'lang="zh-CN"' in page
