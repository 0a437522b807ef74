"""Floods through the whole read command (issue 31, acceptance 1): a 500,000-SYN flood and
100,000 pipelined HTTP exchanges on one connection. Packets are built from one template each
(checksums are not checked by wiretale), the run is a subprocess so its peak memory can be read."""
from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
from pathlib import Path

from tests.builders import A, P, S, tcp_packet, write_pcap

ROOT = Path(__file__).resolve().parents[2]


def _read(cap: Path, out: Path, *extra: str) -> tuple[dict, float]:
    """Run ``wiretale read --no-html`` in a subprocess: (summary, peak RSS in MB of the children so far)."""
    r = subprocess.run([sys.executable, "-m", "decoder.cli", "read", str(cap), "-o", str(out), "--no-html", *extra],
                       cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-2000:]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return json.loads((out / "summary.json").read_text()), peak


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text().split("\n")[:-1]]


def test_500000_syn_flood(tmp_path):
    n = 500_000
    tpl = bytearray(tcp_packet("10.1.0.1", 1024, "10.9.9.9", 80, 1000, 0, S))
    frames = []
    eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
    for i in range(n):
        struct.pack_into("!BB", tpl, 14, (i >> 16) & 0xFF, (i >> 8) & 0xFF)   # source address 10.x.y.1
        struct.pack_into("!H", tpl, 20, 1024 + (i & 0xFF) * 200 + 1)        # source port
        frames.append((1_700_000_000 + i * 1e-5, 1, eth + bytes(tpl)))
    cap = tmp_path / "flood.pcap"
    write_pcap(cap, frames)
    del frames
    # one process: with the default split of large files each worker counts its own share of the
    # global caps (docs/BATCH.md), so the exact count below is the single process's
    s, peak = _read(cap, tmp_path / "out", "--limit", "max_flows=20000", "--workers", "1")
    assert s["packets"]["total"] == n and s["flows"]["total"] == n
    assert s["limits_hit"] == {"flows_too_many": n - 20000}
    assert s["output"]["state"] == "complete"
    conn_lines = (tmp_path / "out" / "tables" / "conn.jsonl").read_text().count("\n")
    assert conn_lines == n
    assert peak < 1500, f"peak RSS {peak:.0f} MB"          # bounded by the flow cap, not the flood


def test_100000_pipelined_http_exchanges_on_one_connection(tmp_path):
    """Requests sent ten at a time in one segment, the ten answers in the next: every exchange is
    a row, paired right (even paths answered 200, odd 404, empty bodies), nothing lost or capped."""
    n = 100_000
    c_seq, s_seq = 1001, 5001
    cli, srv = ("10.0.0.1", 40000), ("10.0.0.2", 80)
    pk = [tcp_packet(*cli, *srv, 1000, 0, S), tcp_packet(*srv, *cli, 5000, 1001, S | A),
          tcp_packet(*cli, *srv, 1001, 5001, A)]
    for b in range(0, n, 10):
        reqs = b"".join(b"GET /p%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(b, b + 10))
        resps = b"".join((b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" if i % 2 == 0 else
                          b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n") for i in range(b, b + 10))
        pk.append(tcp_packet(*cli, *srv, c_seq, s_seq, A | P, reqs))
        c_seq += len(reqs)
        pk.append(tcp_packet(*srv, *cli, s_seq, c_seq, A | P, resps))
        s_seq += len(resps)
    cap = tmp_path / "pipe.pcap"
    write_pcap(cap, pk, step=1e-5)
    s, _peak = _read(cap, tmp_path / "out")
    rows = _jsonl(tmp_path / "out" / "tables" / "http.jsonl")
    assert len(rows) == n
    assert all(r["uri"] == f"/p{k}" and r["status_code"] == (200 if k % 2 == 0 else 404) for k, r in enumerate(rows))
    assert not s["limits_hit"] and s["flows"]["total"] == 1
    assert s["output"]["state"] == "complete"
