"""Every browser test needs Debian's chromium; without it the whole folder skips, saying why."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.access(CHROMIUM, os.X_OK):
        return
    skip = pytest.mark.skip(
        reason=f"Debian's chromium is missing at {CHROMIUM} "
        "(scripts/install-test-tools installs it)"
    )
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)
