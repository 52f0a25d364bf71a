"""A small Chrome DevTools Protocol driver for Debian's headless Chromium (tests only).

It starts ``chromium --headless`` on a free loopback debugging port with a fresh profile,
opens one page over the DevTools WebSocket and records what a person's browser would show
in its console: ``console.error``/``console.assert`` calls, uncaught exceptions and the
browser's own error log entries (failed loads, blocked resources), plus every network request
the page made (a static report must not fetch anything).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
STARTUP_SECONDS = 20.0
COMMAND_SECONDS = 20.0


def chromium_binary() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


class HeadlessChromium:
    """One headless browser with one page. Use as a context manager."""

    def __init__(self, binary: str | None = None, *, width: int = 1280, height: int = 900) -> None:
        self.binary = binary or chromium_binary()
        if self.binary is None:
            raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
        self.width, self.height = width, height
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self._events: list[dict[str, Any]] = []
        self._next_id = 0
        self._profile = tempfile.mkdtemp(prefix="dropscore-chromium-")
        self._process: subprocess.Popen[bytes] | None = None
        self._socket = None

    # -- lifecycle

    def __enter__(self) -> HeadlessChromium:
        import websocket  # websocket-client

        self._process = subprocess.Popen(
            [self.binary, *CHROMIUM_FLAGS, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={self._profile}", f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        browser_url = self._wait_for_devtools_url()
        port = re.search(r":(\d+)/", browser_url).group(1)
        page_url = self._page_socket_url(int(port))
        self._socket = websocket.create_connection(page_url, timeout=COMMAND_SECONDS, suppress_origin=True)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height, deviceScaleFactor=1, mobile=False)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._socket is not None:
                self._socket.close()
        finally:
            if self._process is not None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
                if self._process.stderr:
                    self._process.stderr.close()
            shutil.rmtree(self._profile, ignore_errors=True)

    def _wait_for_devtools_url(self) -> str:
        assert self._process is not None and self._process.stderr is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        seen = []
        while time.monotonic() < deadline:
            line = self._process.stderr.readline().decode("utf-8", "replace")
            if not line:
                if self._process.poll() is not None:
                    break
                continue
            seen.append(line.rstrip())
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                return match.group(1)
        raise RuntimeError("chromium did not start its DevTools endpoint:\n" + "\n".join(seen[-20:]))

    def _page_socket_url(self, port: int) -> str:
        import urllib.request

        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:  # noqa: S310 - loopback
                targets = json.loads(response.read())
            pages = [target for target in targets if target.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.1)
        raise RuntimeError("chromium opened no page target")

    # -- protocol

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        assert self._socket is not None
        self._next_id += 1
        message_id = self._next_id
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + COMMAND_SECONDS
        while time.monotonic() < deadline:
            message = json.loads(self._socket.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._on_event(message)
        raise TimeoutError(f"{method}: no answer in {COMMAND_SECONDS} s")

    def _on_event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        self._events.append(message)
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            texts = [str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])]
            self.console_errors.append("console." + params["type"] + ": " + " ".join(texts))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console_errors.append("exception: " + str(details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.console_errors.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))

    def _wait_event(self, method: str, timeout: float = COMMAND_SECONDS) -> dict[str, Any]:
        assert self._socket is not None
        for index, event in enumerate(self._events):
            if event.get("method") == method:
                return self._events.pop(index)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self._socket.recv())
            if "id" in message:
                continue
            self._on_event(message)
            if message.get("method") == method:
                self._events.remove(message)
                return message
        raise TimeoutError(f"no {method} in {timeout} s")

    # -- what a test does

    def open(self, url: str) -> None:
        """Navigate and wait for the load event (static pages: everything is there then)."""
        self._events = [event for event in self._events if event.get("method") != "Page.loadEventFired"]
        self.send("Page.navigate", url=url)
        self._wait_event("Page.loadEventFired")
        # let late console messages arrive
        self.evaluate("new Promise(resolve => setTimeout(() => resolve(true), 100))")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluation failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        if full_page:
            height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)") or self.height)
            self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=min(height, 16000), deviceScaleFactor=1, mobile=False)
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height, deviceScaleFactor=1, mobile=False)
        return path


# JavaScript run in the page: every chart figure, whether it holds a drawn SVG, and its size.
CHART_PROBE = """
Array.from(document.querySelectorAll('figure.chart')).map(figure => {
  const svg = figure.querySelector('svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {
    name: figure.dataset.chart,
    marks: svg ? svg.querySelectorAll('[data-mark]').length : 0,
    width: box.width,
    height: box.height,
  };
})
"""


# JavaScript run in the page: every piece of text a person cannot fully read.
# - an SVG <text> whose box leaves its SVG's viewBox (cut at the edge of the chart);
# - an SVG drawn wider than the card holding it;
# - an HTML element whose content is wider than its box while the overflow is hidden;
# - the page itself scrolling sideways.
CLIPPED_TEXT_PROBE = """
(() => {
  const found = [];
  for (const svg of document.querySelectorAll('svg')) {
    const view = svg.viewBox && svg.viewBox.baseVal;
    const chart = (svg.closest('figure') || {dataset: {}}).dataset.chart || svg.getAttribute('aria-label');
    if (view && view.width) {
      for (const text of svg.querySelectorAll('text')) {
        const box = text.getBBox();
        const shown = text.textContent.replace(text.querySelector('title') ? text.querySelector('title').textContent : '', '');
        if (box.x < view.x - 1 || box.y < view.y - 1 || box.x + box.width > view.x + view.width + 1 || box.y + box.height > view.y + view.height + 1) {
          found.push(`svg text "${shown}" of ${chart} leaves the chart (${box.x.toFixed(0)},${box.y.toFixed(0)} ${box.width.toFixed(0)}x${box.height.toFixed(0)} in ${view.width}x${view.height})`);
        }
      }
    }
    const holder = svg.parentElement;
    if (holder && svg.getBoundingClientRect().width > holder.getBoundingClientRect().width + 1 && !svg.closest('.scroll')) {
      found.push(`svg ${chart} is wider than its card`);
    }
  }
  for (const element of document.querySelectorAll('body *')) {
    const style = getComputedStyle(element);
    const hides = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
    if (hides && element.scrollWidth > element.clientWidth + 1) {
      found.push(`${element.tagName.toLowerCase()} "${element.textContent.slice(0, 40)}" is cut (${element.scrollWidth} > ${element.clientWidth})`);
    }
  }
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth + 1) {
    found.push(`the page scrolls sideways (${document.documentElement.scrollWidth} > ${document.documentElement.clientWidth})`);
  }
  return found;
})()
"""

# Every text a person sees (HTML and SVG), tooltips excluded.
VISIBLE_TEXT_PROBE = """
(() => {
  const parts = [document.body.innerText];
  for (const text of document.querySelectorAll('svg text')) {
    const title = text.querySelector('title');
    parts.push(text.textContent.replace(title ? title.textContent : '', ''));
  }
  return parts.join('\\n');
})()
"""
