"""Headless Chromium driven through Playwright, for the tests of the HTML viewer.

Debian's chromium (/usr/bin/chromium, apt-get installed when missing), launched by Playwright
through ``executable_path`` with the flags this closed machine needs: no browser download
(never ``playwright install``). Console messages, page errors and requests are kept for checks.

    python tests/chromium.py page.html shot.png [FRAGMENT]   # a screenshot of a page, as the docs use
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def install() -> str | None:
    """None once /usr/bin/chromium is there (apt-get installing it if need be), else why not."""
    if Path(CHROMIUM).exists():
        return None
    if not shutil.which("apt-get"):
        return "Chromium is not installed and there is no apt-get to install it with"
    for command in (["apt-get", "install", "-y", "-q", "chromium"], ["apt-get", "update", "-q"],
                    ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if Path(CHROMIUM).exists():
            return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return f"Chromium could not be installed with apt-get: {lines[-1] if lines else 'no output'}"


class Browser:
    """One page of the system's Chromium; ``problems`` lists what went wrong since the last ``open``."""

    def __init__(self, width: int = 1100, height: int = 800):
        self.playwright = sync_playwright().start()
        try:
            self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        except Exception:
            self.playwright.stop()
            raise
        self.page = self.browser.new_page(viewport={"width": width, "height": height})
        self.found: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.found.append(f"exception: {error}"))
        self.page.on("request", self._request)

    def _console(self, message) -> None:
        if message.type in ("error", "warning", "assert"):
            self.found.append(f"console.{message.type}: {message.text}")

    def _request(self, request) -> None:
        if not request.url.startswith(("file:", "data:")):
            self.found.append(f"request: {request.url}")

    def open(self, path: Path, fragment: str = "") -> None:
        """Load a page afresh (even the same one with another fragment), forgetting the problems
        of the one before."""
        for url in ("about:blank", path.resolve().as_uri() + (f"#{fragment}" if fragment else "")):
            self.found.clear()
            self.page.goto(url, wait_until="load")

    def evaluate(self, expression: str):
        return self.page.evaluate(expression)

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) at the middle of the element."""
        self.page.click(selector)

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and any request for something other
        than a file: or data: URL (the page must need nothing else)."""
        return list(self.found)

    def screenshot(self, path: Path) -> None:
        self.page.screenshot(path=str(path))

    def close(self) -> None:
        self.browser.close()
        self.playwright.stop()


if __name__ == "__main__":
    reason = install()
    if reason:
        sys.exit(reason)
    browser = Browser()
    try:
        browser.open(Path(sys.argv[1]), *sys.argv[3:])
        browser.screenshot(Path(sys.argv[2]))
    finally:
        browser.close()
