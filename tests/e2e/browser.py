"""Open a page in headless Chromium and report what a reader would see.

:func:`check_page` drives a real Chromium over the DevTools protocol (a
``--remote-debugging-port`` and a websocket, ``websocket-client``): it loads a
``file://`` or ``http://`` URL, waits until a CSS selector is present in any frame
(the MLflow UI, for one, renders an HTML artifact inside an iframe after load),
then reads in every frame, through an isolated world so even a sandboxed iframe
can be inspected without running script in the page: each image's natural size,
the rows of a table, how many elements match a ``count`` selector, the URLs the
page requested and what it logged as an error or warning (uncaught exceptions
included). It also saves a full-page screenshot. No network access is needed
(``offline=True`` refuses every http(s) request, as a machine without a network
would); Chromium comes from Debian's ``chromium`` package (``make setup-test``
installs it).

Usage::

    page = check_page(Path("reports/report.html").resolve().as_uri(), tmp_path / "shot.png")
    assert page.images and all(img.natural_width > 0 for img in page.images)
    assert [row[0] for row in page.table_rows][:5] == ["pca", "tsne", "ae", "dae", "vae"]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from base64 import b64decode
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--hide-scrollbars", "--mute-audio",
                  "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")
WINDOW = (1280, 900)
MAX_SCREENSHOT_HEIGHT = 16000  # px; Chromium cannot capture taller pages in one bitmap

# Runs in an isolated world of each frame: the frame's DOM, none of its scripts' state.
_READ_FRAME = """
(() => {
  const table = document.querySelector(%(table)s);
  const rows = table ? [...table.querySelectorAll("tbody tr")].map(
      tr => [...tr.querySelectorAll("th, td")].map(td => td.textContent.trim())) : null;
  const images = [...document.images].map(img => ({
      src: img.currentSrc || img.src, alt: img.alt, complete: img.complete,
      natural_width: img.naturalWidth, natural_height: img.naturalHeight}));
  // where the first visible text node holding `text` sits (px from the viewport's top)
  const want = %(text)s;
  let textTop = null;
  if (want && document.body) {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (textTop === null && walker.nextNode()) {
      const box = walker.currentNode.textContent.includes(want)
          ? walker.currentNode.parentElement.getBoundingClientRect() : null;
      if (box && box.width > 0 && box.height > 0) textTop = box.top;
    }
  }
  const count = %(count)s ? document.querySelectorAll(%(count)s).length : 0;
  return JSON.stringify({url: location.href, title: document.title, rows, images, textTop, count,
                         found: document.querySelector(%(wait)s) !== null
                                && (!want || textTop !== null)});
})()
"""


class BrowserError(RuntimeError):
    """Chromium is missing, did not start, or the page did not load in time."""


@dataclass(frozen=True)
class Image:
    """One <img> element after loading (``natural_width`` 0: it failed to load)."""

    frame_url: str
    src: str
    alt: str
    complete: bool
    natural_width: int
    natural_height: int


@dataclass(frozen=True)
class PageCheck:
    """What the browser saw.

    Attributes
    ----------
    url : the URL loaded.
    title : the top frame's document title.
    images : every <img> of every frame.
    table_rows : the body rows (cell texts) of the first table matching ``table``,
        from the first frame that has one; None when no frame has it.
    requests : every URL the page and its frames requested (the page itself included).
    screenshot : the saved PNG (full page up to MAX_SCREENSHOT_HEIGHT px).
    frames : the URL of each frame inspected.
    text_top : with ``text``, how far below the viewport's top (CSS px) the first visible
        element holding it sits, in the first frame that has one; < WINDOW[1]: on the
        first screen. None without ``text``.
    count : with ``count``, how many elements match it, all frames together (else 0).
    console : the page's uncaught exceptions, console errors and warnings and logged
        errors (a failed or refused request, for one), each ``"<kind>: <text>"``.
    """

    url: str
    title: str
    images: list[Image]
    table_rows: list[list[str]] | None
    requests: list[str]
    screenshot: Path
    frames: list[str] = field(default_factory=list)
    text_top: float | None = None
    count: int = 0
    console: list[str] = field(default_factory=list)

    @property
    def broken_images(self) -> list[Image]:
        return [img for img in self.images if not (img.complete and img.natural_width > 0)]


def chromium_path() -> str:
    """The Chromium executable: ``$CHROMIUM``, else ``chromium`` (Debian) on the PATH."""
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise BrowserError("chromium not found: run `make setup-test` (it installs Debian's chromium "
                       "package) or set CHROMIUM to a Chromium executable")


class _DevTools:
    """A minimal DevTools-protocol client over one page target's websocket."""

    def __init__(self, ws_url: str, timeout: float):
        import websocket  # websocket-client, pinned in requirements.txt

        self._ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self._next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self._next_id += 1
        self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_event(self, method: str, deadline: float) -> dict:
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self._ws.settimeout(max(0.1, deadline - time.monotonic()))
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {method}")
            self.events.append(json.loads(self._ws.recv()))

    def close(self) -> None:
        self._ws.close()


def _start(user_data: Path, timeout: float) -> tuple[subprocess.Popen, int]:
    """Start Chromium on about:blank; return the process and its DevTools port."""
    log = open(user_data / "chromium.log", "wb")
    proc = subprocess.Popen([chromium_path(), *CHROMIUM_FLAGS, f"--user-data-dir={user_data}",
                             f"--window-size={WINDOW[0]},{WINDOW[1]}", "about:blank"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    port_file, deadline = user_data / "DevToolsActivePort", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrowserError(f"chromium exited with {proc.returncode}: "
                               + (user_data / "chromium.log").read_text(errors="replace")[-2000:])
        text = port_file.read_text() if port_file.exists() else ""
        if text.strip():
            return proc, int(text.split()[0])
        time.sleep(0.1)
    proc.kill()
    raise BrowserError(f"chromium did not open its DevTools port within {timeout:.0f} s")


def _page_target(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
        targets = json.load(response)
    return next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")


def _frames(tree: dict) -> list[dict]:
    frames = [tree["frame"]]
    for child in tree.get("childFrames", []):
        frames += _frames(child)
    return frames


def _read_frames(tools: _DevTools, table: str, wait_for: str,
                 text: str | None = None, count: str | None = None) -> list[dict]:
    """Run :data:`_READ_FRAME` in an isolated world of every frame."""
    script = _READ_FRAME % {"table": json.dumps(table), "wait": json.dumps(wait_for),
                            "text": json.dumps(text), "count": json.dumps(count)}
    results = []
    for frame in _frames(tools.call("Page.getFrameTree")["frameTree"]):
        try:
            world = tools.call("Page.createIsolatedWorld", frameId=frame["id"],
                               worldName="latentlab-check")
            value = tools.call("Runtime.evaluate", expression=script, returnByValue=True,
                               contextId=world["executionContextId"])
        except BrowserError:
            continue  # a frame that went away meanwhile
        if value.get("result", {}).get("type") == "string":
            results.append(json.loads(value["result"]["value"]))
    return results


def _console(events: list[dict]) -> list[str]:
    """The errors and warnings among DevTools events (Runtime and Log domains)."""
    lines = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            lines.append("exception: " + details.get("exception", {}).get("description",
                                                                          details["text"]))
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
            lines.append(f"console.{params['type']}: " + " ".join(
                str(arg.get("value", arg.get("description", ""))) for arg in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            entry = params["entry"]
            lines.append(f"log.{entry['level']}: {entry['text']} {entry.get('url', '')}".strip())
    return lines


def check_page(url: str, screenshot: str | Path, table: str = "#comparison-table",
               wait_for: str | None = None, timeout: float = 60.0,
               text: str | None = None, count: str | None = None, min_count: int = 0,
               offline: bool = False) -> PageCheck:
    """Load ``url`` in headless Chromium; return images, table rows, requests and a screenshot.

    Parameters
    ----------
    url : str
        ``file://`` or ``http://`` URL.
    screenshot : path
        Where to write the PNG (parent directories are created).
    table : str
        CSS selector of the table whose body rows are returned.
    wait_for : str, optional
        CSS selector that must appear in some frame before reading (default: ``table``);
        polled until ``timeout``, after the load event.
    timeout : float
        Seconds for Chromium to start and for the page to load and show ``wait_for``.
    text : str, optional
        Also wait until some frame shows this text in a visible element (a single-page
        app such as the MLflow UI renders after load); ``PageCheck.text_top`` says where.
    count : str, optional
        CSS selector whose matches are counted (``PageCheck.count``, all frames).
    min_count : int
        Once ``wait_for`` is there, keep polling until ``count`` matches at least this many
        elements or ``timeout`` runs out (no error then: the caller asserts on the count).
    offline : bool
        Refuse every http, https, ws and wss request (file:// and data: still load), so the
        page behaves as on a machine with no network; the refused URLs stay in
        ``PageCheck.requests``.

    Raises
    ------
    BrowserError
        Chromium is missing or failed, the navigation failed, or ``wait_for`` never
        appeared (the message lists the frames seen).
    """
    wait_for = wait_for or table
    screenshot = Path(screenshot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="latentlab-chromium-") as tmp:
        proc, port = _start(Path(tmp), timeout)
        tools = None
        try:
            tools = _DevTools(_page_target(port), timeout)
            tools.call("Page.enable")
            tools.call("Network.enable")
            tools.call("Runtime.enable")
            tools.call("Log.enable")
            if offline:
                tools.call("Network.setBlockedURLs",
                           urls=["http://*", "https://*", "ws://*", "wss://*"])
            deadline = time.monotonic() + timeout
            navigated = tools.call("Page.navigate", url=url)
            if navigated.get("errorText"):
                raise BrowserError(f"{url}: {navigated['errorText']}")
            tools.wait_event("Page.loadEventFired", deadline)
            frames = _read_frames(tools, table, wait_for, text, count)
            while not any(f["found"] for f in frames):
                if time.monotonic() > deadline:
                    raise BrowserError(f"{wait_for} {'and ' + repr(text) + ' ' if text else ''}"
                                       f"not found in {url} within {timeout:.0f} s; "
                                       f"frames: {[f['url'][:120] for f in frames]}")
                time.sleep(0.25)
                frames = _read_frames(tools, table, wait_for, text, count)
            while sum(f["count"] for f in frames) < min_count and time.monotonic() < deadline:
                time.sleep(0.25)
                frames = _read_frames(tools, table, wait_for, text, count)
            # every image decoded (or failed) before reading sizes: wait while any is pending
            while any(not img["complete"] for f in frames for img in f["images"]) \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
                frames = _read_frames(tools, table, wait_for, text, count)
            _screenshot(tools, screenshot)
            requests = [e["params"]["request"]["url"] for e in tools.events
                        if e.get("method") == "Network.requestWillBeSent"]
            console = _console(tools.events)
        finally:
            if tools is not None:
                try:
                    tools.call("Browser.close")
                except Exception:  # noqa: BLE001  (it may close before answering)
                    pass
                tools.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    table_rows = next((f["rows"] for f in frames if f["rows"] is not None), None)
    return PageCheck(
        url=url, title=frames[0]["title"] if frames else "",
        images=[Image(f["url"], img["src"], img["alt"], bool(img["complete"]),
                      int(img["natural_width"]), int(img["natural_height"]))
                for f in frames for img in f["images"]],
        table_rows=table_rows, requests=requests, screenshot=screenshot,
        frames=[f["url"] for f in frames],
        text_top=next((f["textTop"] for f in frames if f.get("textTop") is not None), None),
        count=sum(f["count"] for f in frames), console=console)


def _screenshot(tools: _DevTools, path: Path) -> None:
    """The whole page (up to MAX_SCREENSHOT_HEIGHT px tall) as a PNG."""
    size = tools.call("Page.getLayoutMetrics")["cssContentSize"]
    width = max(int(size["width"]), 1)
    height = min(max(int(size["height"]), 1), MAX_SCREENSHOT_HEIGHT)
    shot = tools.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                      clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
    path.write_bytes(b64decode(shot["data"]))
