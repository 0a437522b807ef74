"""A headless Chromium for every HTML test (report pages, the rubric grid): one browser per test session.

The fixtures live here, registered by the root conftest, because Playwright's sync API can run once per
thread: a second ``sync_playwright().start()`` while the first is alive fails ("Sync API inside the
asyncio loop"), which is what happened when two test folders each started their own.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def chromium_path() -> str | None:
    for cand in (os.environ.get("WIRETALE_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
                 shutil.which("chromium-browser")):
        if cand and Path(cand).is_file():
            return cand
    return None


@pytest.fixture(scope="session")
def browser():
    exe = chromium_path()
    if exe is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; no browser download needed)")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
    except Exception as e:  # a broken browser install is an environment problem, not a report bug
        pw.stop()
        pytest.skip(f"chromium did not start: {e}")
    yield b
    b.close()
    pw.stop()


class Page:
    """A page with its console messages and page errors collected."""

    def __init__(self, browser) -> None:
        self.ctx = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=True)
        self.page = self.ctx.new_page()
        self.messages: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.messages.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e))))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def open(self, path: Path):
        self.page.goto(Path(path).resolve().as_uri())
        self.page.wait_for_load_state("load")
        return self.page

    def errors(self) -> list[tuple[str, str]]:
        return [m for m in self.messages if m[0] in ("error", "pageerror", "warning")]

    def close(self) -> None:
        self.ctx.close()


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    p.close()
