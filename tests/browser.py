"""Headless Chromium for the tests that look at pages and drawings as a browser draws them
(skipped where no Chromium is installed; .ci/run installs Debian's)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium here (.ci/run installs Debian's chromium)")


def headless(path: str, *flags: str, timeout: int = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            *flags,
            f"file://{path}",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
