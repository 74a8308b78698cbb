"""Write .dvc/plots/offline.html: DVC's plots page with vega, vega-lite and vega-embed inlined.

DVC's own page (dvc_render's VegaRenderer) loads the three libraries from cdn.jsdelivr.net, so
offline every vega plot of `dvc plots show` / `dvc plots diff` stays blank ("vegaEmbed is not
defined"). This script fetches, once, the exact versions that page asks for (read from the
installed dvc_render, so a DVC upgrade is one rerun) from the npm registry, checks each tarball
against the registry's sha512 integrity, and inlines the file the CDN would serve (the
package's ``jsdelivr`` entry: its minified build) byte for byte into one self-contained page.
.dvc/config's ``plots.html_template`` points DVC at it; the page's header records each file's
version, size and sha256 (tests/unit/test_dvc_plots_page.py checks them against the page).

Usage::

    python scripts/vendor_vega.py            # fetch and (re)write .dvc/plots/offline.html
    python scripts/vendor_vega.py --check    # offline: is the page what the pins say?
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / ".dvc" / "plots" / "offline.html"
LIBRARIES = ("vega", "vega-lite", "vega-embed")  # in load order: each needs the ones before
# a vendored block: <script data-vendored="NAME@VERSION PATH" data-sha256="HEX">FILE</script>
SCRIPT_RE = re.compile(r'<script data-vendored="(?P<name>[^@"]+)@(?P<version>[^ "]+) '
                       r'(?P<path>[^"]+)" data-sha256="(?P<sha256>[0-9a-f]{64})">'
                       r"(?P<text>.*?)</script>", re.S)
PLACEHOLDERS = ("{scripts}", "{plot_divs}", "{refresh_tag}")  # what DVC replaces in a page

PAGE_HEAD = """<!DOCTYPE html>
<!--
  The page of `dvc plots show` / `dvc plots diff` for this project (.dvc/config:
  plots.html_template), self-contained so that every plot renders offline: DVC's default page
  loads vega, vega-lite and vega-embed from cdn.jsdelivr.net. The three libraries are inlined
  below, byte for byte as the npm registry ships them, at the versions DVC %(dvc)s asks for:
%(table)s
  Written by scripts/vendor_vega.py (make vendor-vega); do not edit by hand.
-->
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC Plot</title>
"""
PAGE_TAIL = """    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


@dataclass(frozen=True)
class Library:
    name: str
    version: str
    path: str  # inside the package, e.g. build/vega.min.js
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @property
    def size(self) -> int:
        return len(self.text.encode())


def dvc_pins() -> tuple[str, dict[str, str]]:
    """DVC's version and the library versions its default plots page loads from the CDN."""
    from dvc import __version__
    from dvc_render.vega import VegaRenderer

    pins = dict(re.findall(r"cdn\.jsdelivr\.net/npm/([a-z-]+)@([0-9][^\"/]*)\"",
                           VegaRenderer.SCRIPTS))
    if sorted(pins) != sorted(LIBRARIES):
        sys.exit(f"vendor_vega: dvc_render's page loads {pins}, expected {LIBRARIES}")
    return __version__, pins


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def fetch(name: str, version: str) -> Library:
    """The file jsdelivr serves for ``name@version``, from the npm registry's tarball."""
    meta = json.loads(_get(f"{REGISTRY}/{name}/{version}"))
    path = (meta.get("jsdelivr") or meta.get("unpkg") or "").removeprefix("./")
    if not path:
        sys.exit(f"vendor_vega: {name}@{version} names no jsdelivr/unpkg file")
    tarball = _get(meta["dist"]["tarball"])
    algorithm, _, expected = meta["dist"]["integrity"].partition("-")
    if base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode() != expected:
        sys.exit(f"vendor_vega: {meta['dist']['tarball']} does not match its {algorithm} "
                 "integrity in the registry")
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        text = archive.extractfile(f"package/{path}").read().decode("utf-8")
    # inlined in a <script>, the file must not end the element early nor hold DVC's placeholders
    for bad in ("</script", "<!--", *PLACEHOLDERS):
        if bad in text.lower():
            sys.exit(f"vendor_vega: {name}@{version} {path} holds {bad!r}: cannot inline it")
    return Library(name, version, path, text)


def render(dvc_version: str, libraries: list[Library]) -> str:
    table = "\n".join(f"    {lib.name}@{lib.version} {lib.path}: {lib.size} bytes, "
                      f"sha256 {lib.sha256}" for lib in libraries)
    scripts = "".join(f'    <script data-vendored="{lib.name}@{lib.version} {lib.path}" '
                      f'data-sha256="{lib.sha256}">{lib.text}</script>\n' for lib in libraries)
    return PAGE_HEAD % {"dvc": dvc_version, "table": table} + scripts + PAGE_TAIL


def check(page: Path, pins: dict[str, str]) -> list[str]:
    """What is wrong with ``page`` (empty: it inlines ``pins``, each file matching its sha256)."""
    if not page.is_file():
        return [f"{page} is missing: run scripts/vendor_vega.py"]
    text = page.read_text(encoding="utf-8")
    blocks = list(SCRIPT_RE.finditer(text))
    problems = []
    found = [(b["name"], b["version"]) for b in blocks]
    if found != [(name, pins[name]) for name in LIBRARIES]:
        problems.append(f"{page} inlines {found}, DVC's page loads {pins}: rerun "
                        "scripts/vendor_vega.py")
    for block in blocks:
        if hashlib.sha256(block["text"].encode()).hexdigest() != block["sha256"]:
            problems.append(f"{block['name']} {block['path']}: sha256 differs from the recorded")
        if block["sha256"] not in text[:block.start()]:
            problems.append(f"{block['name']}: its sha256 is not in the page's header")
    if "{plot_divs}" not in text or "{scripts}" in text:  # {scripts}: DVC's CDN <script> tags
        problems.append(f"{page}: needs {{plot_divs}} and must not have {{scripts}}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="check the committed page against DVC's pins; fetch nothing")
    parser.add_argument("--out", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    dvc_version, pins = dvc_pins()
    if args.check:
        problems = check(args.out, pins)
        print("\n".join(problems) or f"{args.out}: {pins}, sha256 as recorded")
        return 1 if problems else 0
    libraries = [fetch(name, pins[name]) for name in LIBRARIES]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(dvc_version, libraries), encoding="utf-8")
    for lib in libraries:
        print(f"{lib.name}@{lib.version} {lib.path}: {lib.size} bytes, sha256 {lib.sha256}")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
