"""Reassembly under random schedules: the engine's in-order path (``Reassembly.fast``) and its general path
(``Reassembly.general``: ``_tcp`` with :class:`decoder.tcp.Half`) hand a flow over to each other at every disorder, so whatever
the order, duplication and interleaving of segments, both sides' bytes come out whole and in order, and the
conn row and the summary count every packet and byte sent (built packets, Hypothesis schedules)."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from decoder.pipeline import Engine, run_engine
from tests.builders import A, P, Conn, tcp_packet, write_pcap
from tests.decoder.test_reassembly import gaps, only_conn, run, side

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def schedules(draw):
    """A conversation, over IPv4 or IPv6: each side's data cut into segments, interleaved, with local reorders,
    duplicates and pure ACKs drawn; ISNs anywhere (near the 32-bit wrap too); the handshake sometimes missing.
    Segments acknowledge only the peer's first byte until the close, so no acknowledgement passes a hole the
    reordering made (that would make the hole a gap, rightly: test_reassembly covers it)."""
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    isn_c = draw(st.sampled_from([1000, 0xFFFFFF00, 0xFFFFFFFF - 3000, rnd.randrange(2**32)]))
    isn_s = draw(st.sampled_from([5000, 0xFFFFFFF0, rnd.randrange(2**32)]))
    # over IPv6 too (the in-order path reads Ethernet/IPv6 without extension headers as well)
    hosts = {} if not draw(st.booleans()) else {"c": ("2001:db8::1", 40000), "s": ("2001:db8::2", 80)}
    c = Conn(cisn=isn_c, sisn=isn_s, **hosts)
    cdata = bytes(rnd.randrange(256) for _ in range(draw(st.integers(1, 3000))))
    sdata = bytes(rnd.randrange(256) for _ in range(draw(st.integers(1, 6000))))
    handshake = draw(st.booleans())
    packets = c.handshake() if handshake else []
    cl, sv = (c.c, c.s)

    def client(data: bytes) -> bytes:
        p = tcp_packet(*cl, *sv, c.cseq, isn_s + 1, A | P, data)
        c.cseq += len(data)
        return p

    def server(data: bytes) -> bytes:
        p = tcp_packet(*sv, *cl, c.sseq, isn_c + 1, A | P, data)
        c.sseq += len(data)
        return p

    ci = si = 0
    if not handshake:
        # mid-stream, the first segment seen of a side fixes where its stream starts (anything earlier is
        # before the capture): each side's first one comes in order, the disorder is after them
        ci = rnd.randint(1, len(cdata))
        packets.append(client(cdata[:ci]))
        si = rnd.randint(1, len(sdata))
        packets.append(server(sdata[:si]))
    segs: list[bytes] = []
    while ci < len(cdata) or si < len(sdata):
        if si >= len(sdata) or (ci < len(cdata) and rnd.random() < 0.4):
            n = rnd.randint(1, 700)
            segs.append(client(cdata[ci:ci + n]))
            ci += n
        else:
            n = rnd.randint(1, 1400)
            segs.append(server(sdata[si:si + n]))
            si += n
        if rnd.random() < 0.3:        # a pure ACK from either side
            segs.append(tcp_packet(*cl, *sv, c.cseq, isn_s + 1, A) if rnd.random() < 0.5
                        else tcp_packet(*sv, *cl, c.sseq, isn_c + 1, A))
    for _ in range(draw(st.integers(0, 6))):     # local disorder: a segment overtakes its neighbour
        if len(segs) > 1:
            i = rnd.randrange(len(segs) - 1)
            segs[i], segs[i + 1] = segs[i + 1], segs[i]
    for _ in range(draw(st.integers(0, 4))):     # retransmissions of something already sent
        if segs:
            i = rnd.randrange(len(segs))
            segs.insert(rnd.randrange(i, len(segs) + 1), segs[i])
    # the close: the client's FIN and the server's, then the last ACK; sometimes the client sends data
    # after its FIN (ignored: nothing follows a FIN in a stream, RFC 9293 section 3.10.7.4)
    close = c.close()
    if draw(st.booleans()):
        close.insert(1, tcp_packet(*cl, *sv, c.cseq, isn_s + 1, A | P, b"late"))
    return packets + segs + close, cdata, sdata, handshake


def _payload_and_segment(packet: bytes) -> tuple[bool, int, int]:
    """(from the client?, payload bytes, TCP segment bytes) of a built IPv4 or IPv6 packet."""
    if packet[0] >> 4 == 6:
        seg, client = packet[40:], packet[8:24] == bytes.fromhex("20010db8" + "0" * 23 + "1")
    else:
        seg, client = packet[(packet[0] & 0x0F) * 4:], packet[12:16] == bytes([10, 0, 0, 1])
    doff = (seg[12] >> 4) * 4
    return client, len(seg) - doff, len(seg)


@SETTINGS
@given(schedules())
def test_any_schedule_reassembles_whole_and_counts_every_packet(tmp_path, sched):
    packets, cdata, sdata, handshake = sched
    a = run(tmp_path, packets)
    r = only_conn(a)
    uid = r["uid"]
    assert side(a, uid, 0) == cdata and side(a, uid, 1) == sdata
    assert not gaps(a, uid, 0) and not gaps(a, uid, 1)
    assert r["missed_bytes"] == 0 and r["roles_guessed"] == (not handshake)
    want = {True: [0, 0, 0], False: [0, 0, 0]}
    for p in packets:
        client, plen, slen = _payload_and_segment(p)
        w = want[client]
        w[0] += 1
        w[1] += plen
        w[2] += slen
    assert (r["orig_pkts"], r["orig_bytes"], r["orig_ip_bytes"]) == tuple(want[True])
    assert (r["resp_pkts"], r["resp_bytes"], r["resp_ip_bytes"]) == tuple(want[False])
    assert a.summary["packets"]["by_kind"] == {"tcp": len(packets)}


def test_data_after_a_pure_ack_that_set_the_base_mid_stream(tmp_path):
    """A capture starting with the server's pure ACK: that ACK fixes the server's base, and the data that
    follows in order is delivered (the in-order path's expected number is set from that base)."""
    c = Conn()
    ack = c.server_ack()
    data = [c.server(b"x" * 100), c.server(b"y" * 100), c.client(b"hello")]
    a = run(tmp_path, [ack] + data + c.close())
    r = only_conn(a)
    assert side(a, r["uid"], 1) == b"x" * 100 + b"y" * 100 and side(a, r["uid"], 0) == b"hello"
    assert r["resp_pkts"] == 4 and r["orig_pkts"] == 3


def test_in_order_data_resumes_after_a_hole_is_filled(tmp_path):
    """Segments after a hole wait; once the hole is filled the rest of the stream is in order again and is
    delivered as it comes (and nothing twice)."""
    c = Conn()
    pk = c.handshake()
    first, second = c.server(b"a" * 500), c.server(b"b" * 500)
    rest = [c.server(bytes([65 + i]) * 300) for i in range(5)]
    pk += [second, first] + rest + c.close()
    a = run(tmp_path, pk)
    r = only_conn(a)
    assert side(a, r["uid"], 1) == b"a" * 500 + b"b" * 500 + b"".join(bytes([65 + i]) * 300 for i in range(5))
    assert r["out_of_order"] == 1 and r["retransmissions"] == 0


class GeneralPathEngine(Engine):
    """Every frame through the general path (``Reassembly.general``: ``_slow`` parses the headers, ``_tcp``
    and ``Half`` do the rest): what the in-order path (``Reassembly.fast``) must agree with."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.reassembly.each_frame = self.reassembly.general


def _outcome(engine_class, path, out):
    e = engine_class(out_dir=out, keep_streams=True, decode=False, strict=True)
    run_engine(e, [path])
    e.flush_counts()
    conn = [dict(r) for r in e.results.tables["conn"]]
    streams = {uid: [(c.direction, c.data, c.gap) for c in chunks] for uid, chunks in e.results.streams.items()}
    packets = dict(e.results.packets)
    e.results.cleanup()
    return conn, streams, packets


@SETTINGS
@given(schedules())
def test_in_order_path_agrees_with_the_general_path(tmp_path, sched):
    """The same capture through the engine and through the general path only: the same conn rows (every
    counter, the history, out-of-order and retransmission counts), the same chunks, the same packet counts."""
    packets = sched[0]
    p = tmp_path / "t.pcap"
    write_pcap(p, packets)
    fast = _outcome(Engine, p, tmp_path / "a")
    general = _outcome(GeneralPathEngine, p, tmp_path / "b")
    assert fast == general


def _tcp_flags_seen(engine_class, path, out) -> list[int]:
    """The flags of every segment that reached the general path's ``_tcp`` (an instance attribute wraps it)."""
    e = engine_class(out_dir=out, decode=False, strict=True)
    seen: list[int] = []
    real = e.reassembly._tcp

    def counting(key, sport, dport, seq, ack, flags, *rest):
        seen.append(flags)
        return real(key, sport, dport, seq, ack, flags, *rest)

    e.reassembly._tcp = counting
    run_engine(e, [path])
    e.results.cleanup()
    return seen


@pytest.mark.parametrize("hosts", [{}, {"c": ("2001:db8::1", 40000), "s": ("2001:db8::2", 80)}],
                         ids=["ipv4", "ipv6"])
def test_the_in_order_path_takes_pure_acks_and_in_order_data(tmp_path, hosts):
    """What the agreement above is worth: the in-order path really takes the handshake's last ACK, the
    in-order data and pure ACKs, over IPv4 and IPv6, leaving to ``_tcp`` the SYN, SYN-ACK, both FINs and the
    ACK after them (a finished flow's); the general engine sends every segment there."""
    c = Conn(**hosts)
    packets = c.handshake() + [c.client(b"a" * 100), c.server(b"b" * 300), c.client_ack(), c.client(b"c" * 50),
                               c.server(b"d" * 10)] + c.close()
    p = tmp_path / "t.pcap"
    write_pcap(p, packets)
    fast = _tcp_flags_seen(Engine, p, tmp_path / "a")
    assert fast == [0x02, 0x12, 0x11, 0x11, 0x10]      # SYN, SYN-ACK, FIN-ACK twice, the last ACK
    assert len(_tcp_flags_seen(GeneralPathEngine, p, tmp_path / "b")) == len(packets)


def test_short_and_padded_udp_frames_agree_with_the_general_path(tmp_path):
    """The in-order path reads Ethernet, IP and the transport header with one ``struct`` call (zeros after a
    shorter frame): UDP frames of 42 to 47 bytes (no padding, payloads of 0–5 bytes), frames
    padded to 60 bytes after a short datagram, a UDP length longer than the datagram, one shorter and one shorter than the
    header, and short IPv6 datagrams give what the general path gives, payloads cut where the IP and UDP lengths say."""
    from tests.builders import frame, udp_packet

    packets = []
    for n in range(0, 14):
        _lt, f = frame(udp_packet("10.1.0.1", 4000 + n, "10.1.0.2", 69, bytes(range(65, 65 + n))))
        packets.append((1_700_000_000.0 + n / 100, 1, f))
        packets.append((1_700_000_000.005 + n / 100, 1, f + b"\x00" * max(0, 60 - len(f))))   # padded
    _lt, f = frame(udp_packet("10.1.0.3", 5000, "10.1.0.4", 53, b"abcdefgh"))
    for i, ulen in enumerate((64, 12, 7, 3)):
        packets.append((1_700_000_001.0 + i / 1000, 1, f[:38] + ulen.to_bytes(2, "big") + f[40:]))
    for n in (0, 4, 13, 14):       # IPv6: frames of 62 to 76 bytes (the in-order path reads bytes 18–67)
        _lt, f = frame(udp_packet("2001:db8::7", 6000 + n, "2001:db8::8", 53, bytes(range(97, 97 + n))))
        packets.append((1_700_000_002.0 + n / 100, 1, f))
    p = tmp_path / "u.pcap"
    write_pcap(p, packets)
    fast = _outcome(Engine, p, tmp_path / "a")
    general = _outcome(GeneralPathEngine, p, tmp_path / "b")
    assert fast == general
    conn, streams, packets_counted = fast
    assert len(conn) == 19 and packets_counted == {"udp": 36}
    uid = next(r["uid"] for r in conn if r["orig_p"] == 6004)
    assert [c[1] for c in streams[uid]] == [b"abcd"]
    # the frames of 4 bytes of payload: both copies, unpadded (46 bytes) and padded to 60, carry "ABCD"
    uid = next(r["uid"] for r in conn if r["orig_p"] == 4004)
    assert [c[1] for c in streams[uid]] == [b"ABCD", b"ABCD"]
    uid = next(r["uid"] for r in conn if r["orig_p"] == 5000)     # a UDP length of 12 cuts the payload to 4
    assert [c[1] for c in streams[uid]] == [b"abcdefgh", b"abcd", b"abcdefgh", b"abcdefgh"]
