"""Headless Chromium driven over the DevTools protocol, for the tests of the HTML viewer.

Debian's chromium, started with the flags this closed machine needs; one page, reached
through websocket-client (a small pure-Python package), so no driver binary and no
browser download. Events (console messages, exceptions, requests) are kept for checks.

    python tests/chromium.py page.html shot.png [FRAGMENT]   # a screenshot of a page, as the docs use
"""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

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
    def __init__(self, width: int = 1100, height: int = 800):
        self.profile = tempfile.TemporaryDirectory()
        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile.name}", "--remote-debugging-port=0",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.ids, self.events = 0, []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")

    def send(self, method: str, **params):
        self.ids += 1
        self.ws.send(json.dumps({"id": self.ids, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.ids:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, event: str) -> dict:
        while True:
            message = json.loads(self.ws.recv())
            self.events.append(message)
            if message.get("method") == event:
                return message["params"]

    def open(self, path: Path, fragment: str = "") -> None:
        """Load a page afresh (even the same one with another fragment), forgetting the events
        of the one before."""
        for url in ("about:blank", path.resolve().as_uri() + (f"#{fragment}" if fragment else "")):
            self.events.clear()
            self.send("Page.navigate", url=url)
            self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) at the middle of the element."""
        box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, error log entries, and any request
        for something other than a file: or data: URL (the page must need nothing else)."""
        found = []
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and p["type"] in ("error", "warning", "assert"):
                found.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p['args']]}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {p['exceptionDetails'].get('exception', {}).get('description')}")
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                found.append(f"log: {p['entry']['text']}")
            elif method == "Network.requestWillBeSent" and not p["request"]["url"].startswith(("file:", "data:")):
                found.append(f"request: {p['request']['url']}")
        return found

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        if hasattr(self, "ws"):
            self.ws.close()
        self.process.terminate()
        self.process.wait(timeout=30)
        self.profile.cleanup()


if __name__ == "__main__":
    browser = Browser()
    try:
        browser.open(Path(sys.argv[1]), *sys.argv[3:])
        browser.screenshot(Path(sys.argv[2]))
    finally:
        browser.close()
