"""Every packet is accounted for: summary.json totals equal capinfos' packet count (hardening issue, 3).

``packets.by_kind`` splits the total into decoded kinds (tcp, udp, ip fragment, other IP protocol)
and skipped ones with their reason; the parts must add up to the total, and the total must equal
the number of records capinfos counts in the file.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, shared_captures

CAPTURES = sorted(SAMPLES.glob("*.pcap*")) + shared_captures()


def capinfos_count(path: Path) -> int:
    out = subprocess.run(["capinfos", "-c", "-M", str(path)], capture_output=True, text=True).stdout
    m = re.search(r"Number of packets:\s+(\d+)", out)
    assert m, out
    return int(m.group(1))


@pytest.mark.skipif(shutil.which("capinfos") is None, reason="capinfos (tshark's package) is not installed")
@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_packet_totals_equal_capinfos(capture):
    from decoder.api import analyze

    with analyze(capture, decode=False) as a:
        pk = a.summary["packets"]
        assert pk["total"] == sum(pk["by_kind"].values()) == pk["decoded"] + pk["skipped"]
        assert pk["total"] == capinfos_count(capture)
