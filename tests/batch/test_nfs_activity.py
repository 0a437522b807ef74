"""summary.csv's activity of an NFS capture: the files moved are listed, the AUTH_SYS identities (claimed,
never proved) are not counted as logins."""
from __future__ import annotations

import pytest

from decoder import cli
from decoder.batch import activity
from tests.conftest import SAMPLES


def test_nfs_files_listed_identities_not_logins(tmp_path):
    cap = SAMPLES / "nfs-udp.pcap"
    if not cap.is_file():
        pytest.skip("samples/nfs-udp.pcap is absent")
    assert cli.main(["read", str(cap), "-o", str(tmp_path), "--tables", "parquet", "--no-html"]) == 0
    act = activity(tmp_path / "tables")
    assert act["files"] == ["hello.txt", "notes.txt", "udp-upload.txt"]
    assert act["logins"] == []
