"""Headless Chromium for the Board page: screenshots (PNG) and printing to PDF.

Chromium runs with a fresh, empty profile and with networking features off, so rendering a
self-contained page never reaches the network. Debian/Ubuntu: ``apt-get install chromium``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from triplet.errors import TripletError

__all__ = ["ChromiumError", "find_chromium", "print_to_pdf", "screenshot"]

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


class ChromiumError(TripletError):
    """Chromium is not installed, or it failed to render the page."""


def find_chromium() -> Path | None:
    """The Chromium executable (``$TRIPLET_CHROMIUM`` first, then the PATH), or None."""
    env = os.environ.get("TRIPLET_CHROMIUM")
    if env and Path(env).exists():
        return Path(env)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def _run(page: Path, extra: list[str], timeout: int) -> None:
    exe = find_chromium()
    if exe is None:
        raise ChromiumError(
            "headless Chromium not found (install the Debian package 'chromium', or set "
            "TRIPLET_CHROMIUM to its path)"
        )
    page = Path(page).resolve()
    if not page.exists():
        raise ChromiumError(f"{page}: no such page")
    with tempfile.TemporaryDirectory(prefix="triplet-chromium-") as profile:
        cmd = [str(exe), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ChromiumError(f"Chromium did not finish within {timeout} s") from None
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise ChromiumError(f"Chromium exited with {proc.returncode}:\n{tail}")


def screenshot(
    page: str | Path, *, width: int = 1280, height: int = 2200, timeout: int = 120
) -> bytes:
    """PNG bytes of ``page`` rendered in a ``width`` x ``height`` window (CSS pixels)."""
    with tempfile.TemporaryDirectory(prefix="triplet-shot-") as tmp:
        png = Path(tmp) / "shot.png"
        _run(Path(page), [f"--screenshot={png}", f"--window-size={width},{height}"], timeout)
        if not png.exists():
            raise ChromiumError("Chromium wrote no screenshot")
        return png.read_bytes()


def print_to_pdf(page: str | Path, *, timeout: int = 120) -> bytes:
    """PDF bytes of ``page`` printed with its print CSS (A4 landscape on the Board page)."""
    with tempfile.TemporaryDirectory(prefix="triplet-pdf-") as tmp:
        pdf = Path(tmp) / "page.pdf"
        _run(Path(page), [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"], timeout)
        if not pdf.exists():
            raise ChromiumError("Chromium wrote no PDF")
        return pdf.read_bytes()
