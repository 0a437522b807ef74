"""Reassembly under floods of tiny segments (issue 31): pending data is bounded by bytes, adjacent
pieces are coalesced, and ``missed_bytes`` / ``retransmissions`` count only bytes truly missing or
repeated."""
from __future__ import annotations

import random

from decoder.model import Limits
from decoder.api import analyze
from decoder.tcp import Half
from tests.builders import Conn, write_pcap

N = 100_000


def _body(n: int) -> bytes:
    r = random.Random(7)
    return bytes(r.randrange(256) for _ in range(n))


def _run(tmp_path, packets, limits=None):
    p = tmp_path / "t.pcap"
    write_pcap(p, packets)
    return analyze(p, keep_streams=True, decode=False, strict=True, limits=limits)


def _side(a, uid: str, d: int) -> bytes:
    return b"".join(c.data for c in a.streams.get(uid, []) if c.direction == d and c.data is not None)


def _conn(a) -> dict:
    rows = list(a.rows["conn"])
    assert len(rows) == 1, rows
    return rows[0]


def test_100000_shuffled_one_byte_segments_are_rebuilt_whole(tmp_path):
    body = _body(N)
    c = Conn()
    start = c.sseq
    segs = [c.server(body[i:i + 1], seq=start + i) for i in range(N)]
    c.sseq = start + N
    random.Random(1).shuffle(segs)
    a = _run(tmp_path, c.handshake() + [c.client(b"GET / HTTP/1.1\r\n\r\n")] + segs + c.close())
    r = _conn(a)
    assert _side(a, r["uid"], 1) == body
    assert r["missed_bytes"] == 0 and r["retransmissions"] == 0, r
    assert not any(x["name"].startswith("tcp_") for x in a.rows.get("anomalies", [])), list(a.rows.get("anomalies", []))


def test_repeated_segments_in_the_queue_are_retransmissions_and_nothing_is_missed(tmp_path):
    body = _body(5000)
    c = Conn()
    start = c.sseq
    segs = [c.server(body[i:i + 10], seq=start + i) for i in range(0, 5000, 10)]
    c.sseq = start + 5000
    order = segs[1:] + segs[5:9] + segs[:1]       # four segments twice while a hole waits, then the hole
    a = _run(tmp_path, c.handshake() + order + c.close())
    r = _conn(a)
    assert _side(a, r["uid"], 1) == body
    assert r["retransmissions"] == 4 and r["missed_bytes"] == 0, r


def test_a_hole_skipped_by_the_cap_whose_bytes_arrive_late_is_neither_missed_nor_retransmitted():
    h = Half(Limits(tcp_hole_buffer=100))
    h.syn(0)
    out: list = []
    for off in range(10, 200, 10):                # 190 bytes wait above a 10-byte hole: the cap skips it
        h.segment(1 + off, b"x" * 10, False, out)
    assert (True, 10) in out and h.missed == 10
    h.segment(1, b"y" * 10, False, out)           # the hole's bytes, late
    assert h.missed == 0 and h.retrans == 0
    h.segment(1, b"y" * 10, False, out)           # and again: now a true repeat
    assert h.missed == 0 and h.retrans == 1


def test_pending_ranges_stay_few_and_cost_stays_linear_when_segments_arrive_backwards():
    h = Half(Limits())
    h.syn(0)
    out: list = []
    n = 200_000
    for off in range(n - 1, 0, -1):               # every byte but the first, last byte first
        h.segment(1 + off, b"z", False, out)
    assert not out and h.pending_bytes == n - 1
    assert len(h.starts) <= n // 4096 + 2         # coalesced into ranges of about COALESCE_COPY bytes
    h.segment(1, b"a", False, out)
    assert b"".join(d for g, d in out if not g) == b"a" + b"z" * (n - 1) and not h.starts
