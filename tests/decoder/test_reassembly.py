"""TCP reassembly, flows and IP defragmentation on built packets (engine issue, acceptance 3)."""
from __future__ import annotations

import random

import pytest

from decoder.model import Limits
from decoder.api import analyze
from tests.builders import A, R, Conn, fragments_v4, fragments_v6, tcp_packet, udp_bytes, write_pcap


def run(tmp_path, packets, link="eth", limits=None, decode=False, **kw):
    p = tmp_path / "t.pcap"
    write_pcap(p, packets, link=link, **kw)
    return analyze(p, keep_streams=True, decode=decode, strict=True, limits=limits)


def side(a, uid, d):
    return b"".join(c.data for c in a.streams.get(uid, []) if c.direction == d and c.data is not None)


def gaps(a, uid, d):
    return [c.gap for c in a.streams.get(uid, []) if c.direction == d and c.data is None]


def only_conn(a):
    rows = [r for r in a.rows["conn"]]
    assert len(rows) == 1, rows
    return rows[0]


REQ = b"GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n"
BODY = bytes(range(256)) * 8


def _segments(c: Conn, data: bytes, size: int, side_: str = "server") -> list[bytes]:
    out = []
    for i in range(0, len(data), size):
        out.append((c.server if side_ == "server" else c.client)(data[i:i + size]))
    return out


def test_in_order(tmp_path):
    c = Conn()
    pk = c.handshake() + [c.client(REQ)] + _segments(c, BODY, 500) + c.close()
    a = run(tmp_path, pk)
    r = only_conn(a)
    assert side(a, r["uid"], 0) == REQ and side(a, r["uid"], 1) == BODY
    assert r["conn_state"] == "SF" and r["history"].startswith("ShAD") and r["missed_bytes"] == 0
    assert r["orig_bytes"] == len(REQ) and r["resp_bytes"] == len(BODY) and not r["roles_guessed"]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_out_of_order(tmp_path, seed):
    c = Conn()
    segs = _segments(c, BODY, 300)
    random.Random(seed).shuffle(segs)
    a = run(tmp_path, c.handshake() + [c.client(REQ)] + segs + c.close())
    r = only_conn(a)
    assert side(a, r["uid"], 1) == BODY and not gaps(a, r["uid"], 1)
    assert r["out_of_order"] > 0


def test_duplicates_are_dropped_and_counted(tmp_path):
    c = Conn()
    segs = _segments(c, BODY, 400)
    pk = c.handshake() + [segs[0], segs[1], segs[1], segs[0]] + segs[2:] + [segs[-1]] + c.close()
    a = run(tmp_path, pk)
    r = only_conn(a)
    assert side(a, r["uid"], 1) == BODY
    assert r["retransmissions"] == 3 and "t" in r["history"]
    assert not [x for x in a.rows.get("anomalies", []) if x["name"] == "tcp_overlap_differs"]


def test_overlap_with_different_bytes_first_copy_wins(tmp_path):
    c = Conn()
    base = c.sseq
    pk = c.handshake() + [c.server(b"hello world", seq=base), c.server(b"WORLD!!", seq=base + 6)]
    c.sseq = base + 13
    a = run(tmp_path, pk + c.close())
    r = only_conn(a)
    assert side(a, r["uid"], 1) == b"hello world!!"
    assert [x for x in a.rows["anomalies"] if x["name"] == "tcp_overlap_differs"]


def test_overlap_in_queue_with_different_bytes(tmp_path):
    c = Conn()
    base = c.sseq
    pk = c.handshake() + [c.server(b"CDEF", seq=base + 2), c.server(b"cdXY", seq=base + 2),
                          c.server(b"AB", seq=base)]
    c.sseq = base + 6
    a = run(tmp_path, pk + c.close())
    r = only_conn(a)
    assert side(a, r["uid"], 1) == b"ABCDEF"
    assert [x for x in a.rows["anomalies"] if x["name"] == "tcp_overlap_differs"]


def test_missing_segment_is_a_gap_of_its_length_never_zero_filled(tmp_path):
    c = Conn()
    segs = _segments(c, BODY, 500)      # 2048 bytes: 500, 500, 500, 500, 48
    del segs[1]
    pk = c.handshake() + [c.client(REQ)] + segs + c.close()
    a = run(tmp_path, pk)
    r = only_conn(a)
    got = side(a, r["uid"], 1)
    assert got == BODY[:500] + BODY[1000:]
    assert gaps(a, r["uid"], 1) == [500] and r["missed_bytes"] == 500 and "g" in r["history"]
    assert b"\x00" * 500 not in got


def test_gap_declared_when_peer_acks_past_the_hole(tmp_path):
    """The receiver acknowledged the missing bytes: the gap is declared at once, not at the end."""
    c = Conn()
    s1 = c.server(b"A" * 100)
    c.server(b"B" * 100)                   # lost in the capture
    s3 = c.server(b"C" * 100)
    ack = c.client_ack()                   # acknowledges all 300
    later = c.client(b"next request")
    a = run(tmp_path, c.handshake() + [s1, s3, ack, later] + c.close())
    r = only_conn(a)
    chunks = a.streams[r["uid"]]
    order = [(ch.direction, ch.gap if ch.data is None else ch.data[:1]) for ch in chunks]
    assert order.index((1, 100)) < order.index((0, b"n")), order


def test_hole_buffer_limit_declares_gap(tmp_path):
    c = Conn()
    segs = _segments(c, BODY * 4, 500)
    del segs[0]
    a = run(tmp_path, c.handshake() + segs, limits=Limits(tcp_hole_buffer=2000))
    r = only_conn(a)
    assert gaps(a, r["uid"], 1)[0] == 500
    assert side(a, r["uid"], 1) == (BODY * 4)[500:]


def test_missing_syn_midstream(tmp_path):
    c = Conn(c=("10.0.0.1", 51000), s=("10.0.0.2", 80))
    c.handshake()
    pk = [c.client(REQ)] + _segments(c, BODY, 700)
    a = run(tmp_path, pk)
    r = only_conn(a)
    assert r["roles_guessed"] and (r["resp_h"], r["resp_p"]) == ("10.0.0.2", 80)
    assert side(a, r["uid"], 0) == REQ and side(a, r["uid"], 1) == BODY
    assert r["conn_state"] == "OTH"


def test_midstream_first_packet_from_server_is_flipped(tmp_path):
    c = Conn(c=("10.0.0.1", 51000), s=("10.0.0.2", 25))
    c.handshake()
    pk = [c.server(b"220 ready\r\n"), c.client(b"EHLO x\r\n"), c.server(b"250 ok\r\n")]
    a = run(tmp_path, pk)
    r = only_conn(a)
    assert (r["orig_h"], r["orig_p"]) == ("10.0.0.1", 51000) and r["history"].startswith("^")
    assert side(a, r["uid"], 1) == b"220 ready\r\n250 ok\r\n"


@pytest.mark.parametrize("isn_offset", [5, 1, 0x100])
def test_sequence_wraps_around_32_bits(tmp_path, isn_offset):
    c = Conn(sisn=0xFFFFFFFF - isn_offset, cisn=0xFFFFFFF0)
    segs = _segments(c, BODY, 333)
    random.Random(7).shuffle(segs)
    a = run(tmp_path, c.handshake() + [c.client(REQ)] + segs + c.close())
    r = only_conn(a)
    assert side(a, r["uid"], 1) == BODY and side(a, r["uid"], 0) == REQ and not gaps(a, r["uid"], 1)


def test_rst_mid_stream(tmp_path):
    c = Conn()
    pk = c.handshake() + [c.client(REQ), c.server(b"partial"), tcp_packet(*c.s, *c.c, c.sseq, c.cseq, R | A)]
    a = run(tmp_path, pk)
    r = only_conn(a)
    assert side(a, r["uid"], 1) == b"partial" and r["conn_state"] == "RSTR" and "r" in r["history"]


def test_port_reuse_makes_a_new_flow(tmp_path):
    c1 = Conn(cisn=100)
    pk = c1.handshake() + [c1.client(b"one")] + c1.close()
    c2 = Conn(cisn=900000)
    pk += c2.handshake() + [c2.client(b"two")] + c2.close()
    a = run(tmp_path, pk)
    rows = a.rows["conn"]
    assert len(rows) == 2 and rows[0]["uid"] != rows[1]["uid"]
    assert [side(a, r["uid"], 0) for r in rows] == [b"one", b"two"]


def test_uids_are_deterministic(tmp_path):
    c = Conn()
    pk = c.handshake() + [c.client(REQ)] + c.close()
    u1 = run(tmp_path, pk).rows["conn"][0]["uid"]
    u2 = run(tmp_path, pk).rows["conn"][0]["uid"]
    assert u1 == u2 and u1.startswith("C") and len(u1) == 18


def test_flow_cap_evicts_oldest_with_anomaly(tmp_path):
    pk = []
    for i in range(30):
        c = Conn(c=("10.0.0.1", 20000 + i))
        pk += c.handshake() + [c.client(b"x")]
    a = run(tmp_path, pk, limits=Limits(max_flows=10))
    assert len(a.rows["conn"]) == 30
    ev = [x for x in a.rows["anomalies"] if x["name"] == "flows_too_many"]
    assert len(ev) == 20 and a.summary["limits_hit"]["flows_too_many"] == 20
    assert all(side(a, r["uid"], 0) == b"x" for r in a.rows["conn"])


def test_idle_timeout_closes_flow_by_capture_time(tmp_path):
    c = Conn()
    frames = [(1000.0 + i, *(__import__("tests.builders", fromlist=["frame"]).frame(p))) for i, p in
              enumerate(c.handshake() + [c.client(b"a")])]
    later = Conn(c=("10.0.0.9", 1234))
    frames += [(5000.0 + i, *(__import__("tests.builders", fromlist=["frame"]).frame(p)))
               for i, p in enumerate(later.handshake())]
    p = tmp_path / "t.pcap"
    write_pcap(p, frames)
    a = analyze(p, decode=False, limits=Limits(tcp_idle_timeout=60))
    reasons = {r["orig_h"]: r["close_reason"] for r in a.rows["conn"]}
    assert reasons["10.0.0.1"] == "idle timeout" and reasons["10.0.0.9"] == "end of capture"


# ----------------------------------------------------------------------------- fragments
PAYLOAD = bytes(random.Random(5).randrange(256) for _ in range(3000))


@pytest.mark.parametrize("order", ["forward", "reverse", "shuffled"])
@pytest.mark.parametrize("version", [4, 6])
def test_ip_fragments_in_any_order(tmp_path, order, version):
    if version == 4:
        frags = fragments_v4("10.1.1.1", "10.1.1.2", 17, udp_bytes(5000, 6000, PAYLOAD), 800)
    else:
        frags = fragments_v6("2001:db8::1", "2001:db8::2", 17, udp_bytes(5000, 6000, PAYLOAD), 800)
    if order == "reverse":
        frags = frags[::-1]
    elif order == "shuffled":
        random.Random(3).shuffle(frags)
    a = run(tmp_path, frags)
    r = only_conn(a)
    assert r["proto"] == "udp" and r["orig_p"] == 5000 and side(a, r["uid"], 0) == PAYLOAD
    assert a.summary["packets"]["by_kind"]["ip fragment"] == len(frags)


def test_ip_fragments_overlapping_with_different_bytes(tmp_path):
    data = udp_bytes(5000, 6000, PAYLOAD[:2000])
    frags = fragments_v4("10.1.1.1", "10.1.1.2", 17, data, 800)
    evil = bytearray(data)
    evil[820:900] = b"X" * 80
    evil_frags = fragments_v4("10.1.1.1", "10.1.1.2", 17, bytes(evil), 800)
    a = run(tmp_path, [frags[0], frags[1], evil_frags[1], frags[2]])
    r = only_conn(a)
    assert side(a, r["uid"], 0) == PAYLOAD[:2000]       # first copy kept
    assert [x for x in a.rows["anomalies"] if x["name"] == "ip_fragment_overlap_differs"]


def test_ip_fragments_that_never_complete(tmp_path):
    frags = fragments_v4("10.1.1.1", "10.1.1.2", 17, udp_bytes(5000, 6000, PAYLOAD), 800)
    a = run(tmp_path, frags[:-1])
    assert not a.rows.get("conn")
    assert [x for x in a.rows["anomalies"] if x["name"] == "ip_fragments_incomplete"]
    assert a.summary["packets"]["total"] == len(frags) - 1


def test_lingering_flow_cap_writes_the_oldest_finished_flow(tmp_path):
    """Past max_lingering_flows, finished flows are written at once; closing several flows at the
    end of the capture while this happens must close each exactly once."""
    pk = []
    for i in range(12):
        c = Conn(c=("10.0.0.1", 21000 + i))
        pk += c.handshake() + [c.client(b"q%d" % i), c.server(b"a%d" % i)] + c.close()
    for i in range(6):                       # left open: closed by the end of the capture
        c = Conn(c=("10.0.0.3", 22000 + i))
        pk += c.handshake() + [c.client(b"open")]
    a = run(tmp_path, pk, limits=Limits(max_lingering_flows=3))
    rows = a.rows["conn"]
    assert len(rows) == 18 and len({r["uid"] for r in rows}) == 18
    assert sum(r["conn_state"] == "SF" for r in rows) == 12


def _dns_query(qid: int, name: bytes = b"\x07example\x03com\x00") -> bytes:
    return qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + name + b"\x00\x01\x00\x01"


def test_dns_flows_time_out_after_the_dns_idle_timeout_other_udp_after_the_udp_one(tmp_path):
    """A UDP flow decoded as DNS is closed after Limits.dns_idle_timeout of silence (Zeek's
    dns_session_timeout, 10 s); an undecoded UDP flow keeps the UDP idle timeout (60 s). So the same
    4-tuple 30 s later is a second DNS flow but still the first of the other kind."""
    from tests.builders import frame, udp_packet

    pk = []
    for t, p in ((1000.0, udp_packet("10.0.0.1", 40000, "10.0.0.53", 53, _dns_query(1))),
                 (1000.1, udp_packet("10.0.0.1", 40001, "10.0.0.9", 7777, b"hello")),
                 (1030.0, udp_packet("10.0.0.1", 40000, "10.0.0.53", 53, _dns_query(2))),
                 (1030.1, udp_packet("10.0.0.1", 40001, "10.0.0.9", 7777, b"again"))):
        pk.append((t, *frame(p)))
    p = tmp_path / "t.pcap"
    write_pcap(p, pk)
    a = analyze(p, strict=True)
    rows = a.rows["conn"]
    dns = [r for r in rows if r["resp_p"] == 53]
    other = [r for r in rows if r["resp_p"] == 7777]
    assert [r["service"] for r in dns] == ["dns", "dns"]
    assert dns[0]["close_reason"] == "idle timeout" and dns[0]["orig_pkts"] == 1
    assert len(other) == 1 and other[0]["orig_pkts"] == 2 and other[0]["service"] == ""
    a2 = analyze(p, strict=True, limits=Limits(dns_idle_timeout=60.0))
    assert len([r for r in a2.rows["conn"] if r["resp_p"] == 53]) == 1


def test_every_service_idle_timeout_names_a_limit():
    from dissectors import REGISTRY

    named = [s for s in REGISTRY if s.idle_timeout]
    assert named, "DNS declares its own idle timeout"
    for s in named:
        assert isinstance(getattr(Limits(), s.idle_timeout), float), s


def test_finished_flow_keeps_absorbing_acks_after_compaction(tmp_path):
    """A finished flow drops its reassembly state but still absorbs late ACKs (no new flow) and a
    retransmitted SYN of the same connection; a new SYN (another ISN) is port reuse."""
    c = Conn()
    pk = c.handshake() + [c.client(b"ping"), c.server(b"pong")] + c.close()
    pk += [c.client_ack(), c.client_ack()]
    a = run(tmp_path, pk)
    r = only_conn(a)
    assert r["conn_state"] == "SF" and side(a, r["uid"], 0) == b"ping" and side(a, r["uid"], 1) == b"pong"
    assert r["orig_pkts"] + r["resp_pkts"] == len(pk)


def test_addr_str_writes_ipv6_as_ipaddress_does():
    """``flows.addr_str`` (``inet_ntop``, with :mod:`ipaddress` for the embedded-IPv4 forms) gives the text
    ``str(ipaddress.IPv6Address)`` gives, for every pattern of zero groups (runs of one and more, ties, at
    either end) and for IPv4-mapped, -compatible, loopback and unspecified addresses; IPv4 dotted."""
    import ipaddress
    import random

    from decoder.flows import addr_str

    rnd = random.Random(7)
    cases = [bytes(16), bytes(15) + b"\x01", bytes(10) + b"\xff\xff" + bytes([192, 0, 2, 1]),
             bytes(12) + bytes([192, 0, 2, 1]), bytes(12) + b"\x00\x00\x00\x02", bytes(11) + b"\x01" + bytes(4)]
    for pattern in range(256):
        words = [0 if pattern >> i & 1 else rnd.choice([1, 0xABCD, rnd.randrange(1, 65536)]) for i in range(8)]
        cases.append(b"".join(w.to_bytes(2, "big") for w in words))
    for raw in cases:
        assert addr_str(raw) == str(ipaddress.IPv6Address(raw)), raw.hex()
    assert addr_str(bytes([10, 0, 200, 255])) == "10.0.200.255"
