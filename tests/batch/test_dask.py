"""Acceptance 2 (part): ``wiretale batch --scheduler`` on a real Dask ``LocalCluster`` (scheduler and two
worker processes on loopback) gives the same results as the serial run (``--workers 1``)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from decoder import cli
from tests.batch.util import parquet_rows
from tests.conftest import SAMPLES, shared_captures

distributed = pytest.importorskip("dask.distributed")

INPUTS = (sorted(SAMPLES.glob("*.pcap")) + sorted(SAMPLES.glob("*.pcapng")) +
          [p for p in shared_captures() if p.name.startswith(("ftp-passive-retr", "tftp-rrq-small",
                                                               "dns-ip-fragmented", "imap-login-fetch"))])


def _summary(p: Path) -> list[dict]:
    with open(p, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r.pop("seconds")      # wall time differs, nothing else may
    return rows


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as c:
        yield c


def test_dask_equals_serial(cluster, tmp_path):
    bad = tmp_path / "broken.pcap"
    bad.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 7)     # a pcap header cut short
    paths = [str(p) for p in INPUTS] + [str(bad)]
    serial, dask_out = tmp_path / "serial", tmp_path / "dask"
    assert cli.main(["batch", *paths, "-o", str(serial), "--workers", "1", "--no-html"]) == 0
    assert cli.main(["batch", *paths, "-o", str(dask_out), "--scheduler", cluster.scheduler_address,
                     "--no-html"]) == 0
    a, b = _summary(serial / "summary.csv"), _summary(dask_out / "summary.csv")
    assert a == b
    assert [r["status"] for r in a].count("error") == 1
    tables = sorted(p.name for p in (serial / "tables").glob("*.parquet"))
    assert tables == sorted(p.name for p in (dask_out / "tables").glob("*.parquet"))
    assert "conn.parquet" in tables
    for t in tables:
        assert parquet_rows(serial / "tables" / t) == parquet_rows(dask_out / "tables" / t), t
    assert len(cluster.workers) == 2
    assert "Dask cluster" in (dask_out / "index.html").read_text(encoding="utf-8")
