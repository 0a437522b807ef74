"""Shared pytest fixtures: the public captures beside the checkout, tshark, golden updates."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser import browser, page  # noqa: F401 — one headless Chromium for every HTML test

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "captures"
SAMPLES = ROOT / "samples"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/* from the current output")


@pytest.fixture(scope="session")
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))


def shared_captures(pattern: str = "*") -> list[Path]:
    """Files of ../shared/captures matching ``pattern`` (empty when absent)."""
    if not SHARED.is_dir():
        return []
    return sorted(p for p in SHARED.glob(pattern) if p.suffix in (".pcap", ".pcapng"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/captures is absent (users' checkouts lack it)")
    return SHARED


@pytest.fixture(scope="session")
def tshark() -> str:
    exe = shutil.which("tshark")
    if not exe:
        pytest.skip("tshark is not installed")
    return exe
