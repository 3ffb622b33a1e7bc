"""Debian's chromium, driven by Playwright, for the tests of the web pages.

The test set-up installs chromium (`scripts/setup.sh --with-tests`); Playwright's own browser
download is never used. The flags keep chromium off the network (it would otherwise try
Google's hosts at every start) and let it run as root in a container.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
                         "has_touch": True}
"""A phone's screen, for the citizens' pages."""


@contextlib.contextmanager
def phone_page(browser: Browser, http: str) -> Iterator[Page]:
    """A page at phone size that must load nothing but from the hall server at `http`."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    yield page
    context.close()
    hosts = {urlsplit(url).netloc for url in fetched}
    assert hosts <= {urlsplit(http).netloc}, f"the page fetched from elsewhere: {hosts}"


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()
