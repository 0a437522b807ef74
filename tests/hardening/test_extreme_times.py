"""Timestamps at the extremes a capture can carry (issue 31): pcapng's 64-bit counts in any
resolution and its signed ``if_tsoffset`` reach years before 1 and after 9999. Every output
(tables, HAR, ``sessions``, the HTML report) must handle them: dates outside datetime's range are
written as ISO 8601 expanded years."""
from __future__ import annotations

import json
import struct

import pytest

from decoder.cli import main
from decoder.model import utc_text
from tests.builders import Conn, _block, frame, pcapng_shb

REQ = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _idb(tsresol: int, tsoffset: int = 0) -> bytes:
    opts = struct.pack("<HH", 9, 1) + bytes([tsresol]) + b"\x00\x00\x00"
    if tsoffset:
        opts += struct.pack("<HHq", 14, 8, tsoffset)
    return _block(1, struct.pack("<HHI", 1, 0, 262144) + opts + struct.pack("<HH", 0, 0))


def _epb(iface: int, units: int, ip: bytes) -> bytes:
    _lt, data = frame(ip)
    return _block(6, struct.pack("<IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data), len(data)) + data)


# (name, tsresol, tsoffset, timestamp units of the exchange's first packet)
MOMENTS = [
    ("zero", 9, 0, 0),
    ("one-second-before-1970", 0, -1, 0),
    ("year-minus-1199", 0, -10 ** 11, 0),
    ("2**63-ns", 9, 0, 2 ** 63),
    ("year-10000", 0, 0, 253402300800 + 3600),
    ("2**64-1-seconds", 0, 0, 2 ** 64 - 1),
]


def _capture(path, moments) -> tuple[list[float], list[float]]:
    """One HTTP exchange per moment, each on its own interface; returns the times of the SYNs
    and of the requests."""
    blocks = [pcapng_shb()]
    starts, requests = [], []
    for i, (_n, res, off, units) in enumerate(moments):
        blocks.append(_idb(res, off))
    for i, (_n, res, off, units) in enumerate(moments):
        c = Conn(c=("10.0.0.1", 40000 + i), s=("10.0.0.2", 80))
        pk = c.handshake() + [c.client(REQ), c.server(RESP)] + c.close()
        step = 10 ** max(res - 3, 0)                  # a millisecond in the interface's unit (or one unit)
        at = [min(units + k * step, 2 ** 64 - 1) for k in range(len(pk))]
        blocks += [_epb(i, u, p) for u, p in zip(at, pk)]
        starts.append(off + at[0] * 10.0 ** -res)
        requests.append(off + at[3] * 10.0 ** -res)
    path.write_bytes(b"".join(blocks))
    return starts, requests


@pytest.mark.parametrize("moments", [[m] for m in MOMENTS] + [MOMENTS], ids=[m[0] for m in MOMENTS] + ["all"])
def test_extreme_timestamps_in_every_output(tmp_path, moments, capsys):
    cap = tmp_path / "t.pcapng"
    starts, requests = _capture(cap, moments)
    out = tmp_path / "out"
    assert main(["read", str(cap), "-o", str(out)]) == 0
    conn = [json.loads(line) for line in (out / "tables" / "conn.jsonl").read_text().splitlines()]
    assert sorted(r["ts"] for r in conn) == pytest.approx(sorted(starts))
    har = json.loads((out / "http.har").read_text())
    got = sorted(e["startedDateTime"] for e in har["log"]["entries"])
    want = sorted(utc_text(t, "T")[:16] for t in requests)
    assert len(got) == len(moments) and sorted(g[:16] for g in got) == want
    index = (out / "index.html").read_text()
    assert utc_text(min(starts))[:16] in index       # the capture's first packet, in words
    pages = list((out / "sessions").glob("*.html"))
    assert len(pages) >= len(moments)
    capsys.readouterr()
    assert main(["sessions", str(cap)]) == 0
    text = capsys.readouterr().out
    for t in starts:
        assert utc_text(t)[:16] in text


def test_utc_text_outside_datetime_years():
    assert utc_text(0) == "1970-01-01 00:00:00.000"
    assert utc_text(-1.5) == "1969-12-31 23:59:58.500"
    assert utc_text(2 ** 63 / 1e9) == "2262-04-11 23:47:16.854"
    assert utc_text(253402300800.0, "T") == "+10000-01-01T00:00:00.000"
    assert utc_text(-62135596800.0 - 86400, digits=0) == "+0000-12-31 00:00:00"
    assert utc_text(-10.0 ** 11, digits=0).startswith("-1199-")
    assert utc_text(float("inf")) == "inf"
