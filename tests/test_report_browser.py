"""The monthly report as a reader sees it: opened in headless Chromium over the DevTools protocol.

The test writes the report for the synthetic warehouse, opens it in Debian's ``chromium`` (installed
by .ci/run; the test skips with the reason where no Chromium is found), and checks that the page
loaded without console errors, exceptions or blocked requests, that every image decoded, that no
text from data ran as script, and that the screenshot and the charts are not blank (pixel variance).
It also prints the page to PDF, as the office will.

The DevTools protocol is spoken with the tiny standard-library WebSocket client below (no extra
package). Set YINGSHANG_REPORT_SCREENSHOT=PATH to keep the first-screen screenshot (docs/ uses one).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import report_warehouse as rw

from pipeline import report as report_mod

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
         "--disable-dev-shm-usage",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]
TIMEOUT = 60.0


def chromium_binary() -> str | None:
    """Chromium from YINGSHANG_CHROMIUM, else the first of the usual names on PATH."""
    env = os.environ.get("YINGSHANG_CHROMIUM")
    if env:
        return env if Path(env).exists() or shutil.which(env) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


# --------------------------------------------------------------------------- a minimal WebSocket client


class WebSocket:
    """Just enough RFC 6455 for the DevTools protocol: text frames, masking, fragments, ping, close."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        assert url.startswith("ws://"), url
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            buf += chunk
        return buf

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, text: str) -> None:
        self._frame(0x1, text.encode("utf-8"))

    def recv(self) -> str:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._exact(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8))[0]
            mask = self._exact(4) if b1 & 0x80 else None
            data = self._exact(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x9:  # ping
                self._frame(0xA, data)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x1, 0x2, 0x0):
                parts.append(data)
                if b0 & 0x80:
                    return b"".join(parts).decode("utf-8")

    def close(self) -> None:
        try:
            self._frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class DevTools:
    """One page target: ``call`` a method and wait for its answer; events are kept in ``events``."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, event: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = next((e for e in self.events if e["method"] == event), None)
        while seen is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} within {timeout:.0f} s")
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == event:
                    seen = msg
        return seen


class Chromium:
    """A headless Chromium with a fresh profile, ended (with its children) on exit."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.binary, self.profile = binary, profile

    def __enter__(self) -> DevTools:
        self.proc = subprocess.Popen([self.binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode(errors="replace")[-2000:] if self.proc.poll() is not None else ""
                self._stop()
                raise RuntimeError(f"Chromium did not open its DevTools port: {err}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT) as resp:
            targets = json.load(resp)
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        return DevTools(self.ws)

    def _stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own Chromium and its helper processes
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        try:
            self.ws.close()
        finally:
            self._stop()


# --------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    """The report opened in Chromium: (page facts, errors, screenshot PNG, PDF bytes, report folder)."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip("Chromium not found (Debian: 'apt-get install chromium'; .ci/run installs it; "
                    "or set YINGSHANG_CHROMIUM)")
    try:
        report_mod.cjk_font()
    except report_mod.MissingFontError as exc:
        pytest.skip(f"no CJK font installed ({exc})")
    base = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{base / 'warehouse.db'}"
    rw.build(url)
    html_path = report_mod.write_report(rw.REPORT_MONTH, base / "report", url, today=rw.TODAY)
    with Chromium(binary, base / "profile") as cdp:
        for domain in ("Page", "Runtime", "Log"):
            cdp.call(f"{domain}.enable")
        cdp.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
        cdp.call("Page.navigate", url=html_path.resolve().as_uri())
        cdp.wait_for("Page.loadEventFired")
        facts = cdp.call("Runtime.evaluate", awaitPromise=True, returnByValue=True, expression="""
            (async () => {
              const imgs = [...document.images];
              const decoded = await Promise.all(imgs.map(i => i.decode().then(() => true, () => false)));
              return {
                title: document.title,
                images: imgs.map((i, k) => ({alt: i.alt, decoded: decoded[k], complete: i.complete,
                                             w: i.naturalWidth, h: i.naturalHeight})),
                scripts_run: window.__pwned === true || document.title.includes('pwned'),
                text: document.body.innerText,
                height: document.documentElement.scrollHeight,
              };
            })()""")["result"]["value"]
        shot = base64.b64decode(cdp.call("Page.captureScreenshot", format="png")["data"])
        pdf = base64.b64decode(cdp.call("Page.printToPDF", printBackground=True, paperWidth=8.27,
                                        paperHeight=11.69)["data"])
        errors = [e for e in cdp.events if
                  e["method"] == "Runtime.exceptionThrown"
                  or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
                  or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
    keep = os.environ.get("YINGSHANG_REPORT_SCREENSHOT")
    if keep:
        Path(keep).write_bytes(shot)
    return facts, errors, shot, pdf, html_path.parent


def _grey(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)


def test_page_loads_without_console_errors(opened):
    facts, errors, _, _, _ = opened
    assert errors == [], json.dumps(errors, ensure_ascii=False)[:2000]
    assert facts["title"].startswith("营商环境监测月度报告")


def test_every_image_decodes(opened):
    facts, _, _, _, _ = opened
    assert len(facts["images"]) == len(report_mod.CHART_TITLES)
    for img in facts["images"]:
        assert img["decoded"] and img["complete"] and img["w"] > 800 and img["h"] > 200, img


def test_texts_from_data_are_shown_not_run(opened):
    facts, _, _, _, _ = opened
    assert not facts["scripts_run"]
    assert rw.XSS_TITLE in facts["text"]  # the raw text, shown literally
    assert rw.XSS_UNIT in facts["text"]


def test_screenshot_and_charts_are_not_blank(opened):
    _, _, shot, _, folder = opened
    screen = _grey(shot)
    assert screen.shape == (900, 1280)
    assert screen.std() > 25, f"first screen looks empty (std {screen.std():.1f})"
    for png in sorted((folder / "charts").glob("*.png")):
        assert _grey(png.read_bytes()).std() > 20, png.name


def test_prints_to_a_few_a4_pages(opened):
    facts, _, _, pdf, _ = opened
    assert pdf.startswith(b"%PDF")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 3 <= pages <= 14, pages
    assert facts["height"] > 3000  # the whole report is one scrolling page on screen
