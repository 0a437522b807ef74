"""Live output of the rpc and nfs tables: their own columns, one line per row (samples/nfs-udp.pcap)."""
from __future__ import annotations

import pytest

from decoder.live import format_row
from tests.conftest import SAMPLES


def test_nfs_and_rpc_rows_print_their_own_columns():
    cap = SAMPLES / "nfs-udp.pcap"
    if not cap.is_file():
        pytest.skip("samples/nfs-udp.pcap is absent")
    from decoder.api import analyze

    with analyze(cap, strict=True) as a:
        nfs = next(r for r in a.rows["nfs"] if r["status"] == "NFS3ERR_NOENT")
        line = format_row("nfs", nfs)
        assert "proc=LOOKUP" in line and "path=/srv/wiretale-nfs/missing.txt" in line
        assert "status=NFS3ERR_NOENT" in line and nfs["uid"] in line
        getport = next(r for r in a.rows["rpc"] if r["procedure"] == "GETPORT")
        line = format_row("rpc", getport)
        assert "program=portmapper" in line and "procedure=GETPORT" in line and "machine=wiretale-rec" in line
