"""Limits as data: every field of :class:`decoder.model.Limits` is in a table here.

* **CAPS** (a count or size that, when hit, emits an anomaly ending in a cap suffix): for each,
  a capture that exceeds a lowered value is run through the CLI (``wiretale read … --no-html
  --limit NAME=LOW``); ``summary.json``'s ``limits_hit`` must name the anomaly with its count,
  and the same capture with the limit raised (``--limit NAME=HIGH``) must not hit it.
* **WINDOWS** (time windows and the probe window): not "hits" but settings; each has a test of
  its effect or a documented reason.
* **ENGINE_CAPS**: caps of TCP reassembly and of the transcripts, each checked to appear in
  ``limits_hit`` under its own anomaly name.

``test_every_limit_is_in_a_table`` fails when a new field is added to Limits without a row here.
"""
from __future__ import annotations

import gzip
import json
import struct
from dataclasses import fields
from pathlib import Path

import pytest

from decoder.model import Limits
from tests.builders import Conn, fragments_v4, udp_packet, write_pcap
from tests.dissectors import rpc_build as rpc
from tests.hardening._build import raw_syn, tcp_conversation, tcp_stream_packets, udp_capture, write_frames


# ----------------------------------------------------------------------------- capture builders
def flows(path: Path) -> None:
    write_frames(path, (raw_syn(0x0A000001, 1024 + i, 0x0A800001, 80, i) for i in range(50)))


def frag_sets(path: Path) -> None:
    write_pcap(path, [fragments_v4("10.0.0.1", "10.0.0.2", 17, b"\x00" * 1600, 1480, ident=i)[0]
                      for i in range(30)])


def frag_bytes(path: Path) -> None:
    write_pcap(path, fragments_v4("10.0.0.1", "10.0.0.2", 17, b"\x00" * 3000, 1480, ident=5))


def ftp_pasv(path: Path) -> None:
    turns = [("s", b"220 ftp\r\n"), ("c", b"USER u\r\n"), ("s", b"331 pw\r\n"), ("c", b"PASS p\r\n"),
             ("s", b"230 ok\r\n")]
    for i in range(5):
        turns += [("c", b"PASV\r\n"), ("s", b"227 Entering Passive Mode (10,0,0,2,195,%d)\r\n" % (80 + i)),
                  ("c", b"LIST\r\n"), ("s", b"425 no data connection\r\n")]
    tcp_conversation(path, turns, server=("10.0.0.2", 21))


def _smtp(path: Path, message: bytes, extra: list | None = None) -> None:
    turns = [("s", b"220 mx\r\n"), ("c", b"HELO a\r\n"), ("s", b"250 ok\r\n")] + (extra or []) + [
        ("c", b"MAIL FROM:<a@b>\r\n"), ("s", b"250 ok\r\n"), ("c", b"RCPT TO:<c@d>\r\n"), ("s", b"250 ok\r\n"),
        ("c", b"DATA\r\n"), ("s", b"354 go\r\n"), ("c", message + b".\r\n"), ("s", b"250 queued\r\n"),
        ("c", b"QUIT\r\n"), ("s", b"221 bye\r\n")]
    tcp_conversation(path, turns, server=("10.0.0.2", 25))


def smtp_long_line(path: Path) -> None:
    _smtp(path, b"Subject: x\r\n\r\nbody\r\n", extra=[("c", b"NOOP " + b"y" * 10_000 + b"\r\n"),
                                                     ("s", b"250 ok\r\n")])


def smtp_big_message(path: Path) -> None:
    _smtp(path, b"Subject: x\r\n\r\n" + b"0123456789abcdef0123456789abcdef0123456789abcdef01234567\r\n" * 5000)


def smtp_big_headers(path: Path) -> None:
    _smtp(path, b"".join(b"X-H%05d: %s\r\n" % (i, b"v" * 60) for i in range(200)) + b"\r\nbody\r\n")


def smtp_pipelined(path: Path) -> None:
    c = Conn(s=("10.0.0.2", 25))
    p = c.handshake() + tcp_stream_packets(c, "s", b"220 mx\r\n")
    p += tcp_stream_packets(c, "c", b"".join(b"NOOP %d\r\n" % i for i in range(40)))
    p += c.close()
    write_pcap(path, p)


def _mime_message(depth: int = 1, parts: int = 1) -> bytes:
    head = b"From: a@b\r\nTo: c@d\r\nSubject: m\r\nMIME-Version: 1.0\r\n"
    opens = b"".join(b"Content-Type: multipart/mixed; boundary=\"d%d\"\r\n\r\n--d%d\r\n" % (i, i) for i in range(depth))
    closes = b"".join(b"\r\n--d%d--\r\n" % i for i in reversed(range(depth)))
    leaf = b"Content-Type: multipart/mixed; boundary=\"P\"\r\n\r\n" + b"".join(
        b"--P\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(parts)) + b"--P--\r\n"
    return head + opens + leaf + closes


def mime_deep(path: Path) -> None:
    _smtp(path, _mime_message(depth=12))


def mime_parts(path: Path) -> None:
    _smtp(path, _mime_message(parts=30))


def imap_literal(path: Path) -> None:
    turns = [("s", b"* OK ready\r\n"), ("c", b"a1 LOGIN bob secret\r\n"), ("s", b"a1 OK done\r\n"),
             ("c", b"a2 APPEND INBOX {5000}\r\n"), ("s", b"+ go\r\n"), ("c", b"z" * 5000 + b"\r\n"),
             ("s", b"a2 OK appended\r\n")]
    tcp_conversation(path, turns, server=("10.0.0.2", 143))


def dns_deep(path: Path) -> None:
    rr_tail = struct.pack("!HHIH", 1, 1, 60, 4) + b"\x01\x02\x03\x04"
    start = 12 + 2 + len(rr_tail)
    chain, ptrs = bytearray(b"\x01x\x00"), [start]
    for _ in range(20):
        ptrs.append(start + len(chain))
        chain += b"\x01y" + struct.pack("!H", 0xC000 | ptrs[-2])
    msg = struct.pack("!HHHHHH", 7, 0x8180, 0, 1, 0, 0) + struct.pack("!H", 0xC000 | ptrs[-1]) + rr_tail + bytes(chain)
    q = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x01a\x00" + struct.pack("!HH", 1, 1)
    udp_capture(path, [("c", q), ("s", msg)])


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    return bytes([tag]) + (bytes([n]) if n < 128 else b"\x82" + struct.pack("!H", n)) + body


def snmp_deep(path: Path) -> None:
    value = b"\x05\x00"
    for _ in range(30):
        value = _tlv(0x30, value)                 # a varbind value nested 30 SEQUENCEs deep
    varbind = _tlv(0x30, b"\x06\x03\x2b\x06\x01" + value)
    pdu = _tlv(0xA0, b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbind))
    msg = _tlv(0x30, b"\x02\x01\x01\x04\x06public" + pdu)
    udp_capture(path, [("c", msg)], server=("10.0.0.2", 161))


def _http(path: Path, responses: list[bytes]) -> None:
    turns = []
    for i, r in enumerate(responses):
        turns += [("c", b"GET /f%d HTTP/1.1\r\nHost: h\r\n\r\n" % i), ("s", r)]
    tcp_conversation(path, turns)


def _resp(body: bytes, enc: bytes = b"") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" +
            (b"Content-Encoding: " + enc + b"\r\n" if enc else b"") +
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def http_big_file(path: Path) -> None:
    _http(path, [_resp(bytes(range(256)) * 400)])


def http_many_files(path: Path) -> None:
    _http(path, [_resp(b"file %d\n" % i) for i in range(5)])


def http_gzip(path: Path) -> None:
    _http(path, [_resp(gzip.compress(b"\x00" * 2_000_000), b"gzip")])


def _rpc_udp(path: Path, steps) -> None:
    udp_capture(path, steps, server=("10.0.0.2", 2049))


def _lookup(xid: int, name: str, fh: bytes = b"R" * 8) -> bytes:
    return rpc.call(xid, 100003, 3, 3, rpc.opaque(fh) + rpc.string(name))


def _found(xid: int, fh: bytes) -> bytes:
    return rpc.reply(xid, rpc.u32(0) + rpc.opaque(fh) + rpc.post_op_attr(None) + rpc.post_op_attr(None))


def _nfs_read(xid: int, fh: bytes, off: int, data: bytes):
    return [("c", rpc.call(xid, 100003, 3, 6, rpc.opaque(fh) + rpc.u64(off) + rpc.u32(len(data)))),
            ("s", rpc.reply(xid, rpc.u32(0) + rpc.post_op_attr(None) + rpc.u32(len(data), 0) + rpc.opaque(data)))]


def rpc_big_record(path: Path) -> None:
    write = rpc.call(1, 100003, 3, 7, rpc.opaque(b"F" * 8) + rpc.u64(0) + rpc.u32(20_000, 2) +
                     rpc.opaque(b"w" * 20_000))
    tcp_conversation(path, [("c", rpc.rm(write))], server=("10.0.0.2", 2049))


def nfs_long_name(path: Path) -> None:
    _rpc_udp(path, [("c", _lookup(1, "n" * 3000)), ("s", rpc.reply(1, rpc.u32(2) + rpc.u32(0)))])


def nfs_big_listing(path: Path) -> None:
    entries = b"".join(rpc.u32(1) + rpc.u64(i) + rpc.string(f"f{i}") + rpc.u64(i) for i in range(50))
    _rpc_udp(path, [("c", rpc.call(1, 100003, 3, 16, rpc.opaque(b"R" * 8) + rpc.u64(0) + b"\0" * 8 + rpc.u32(4096))),
                    ("s", rpc.reply(1, rpc.u32(0) + rpc.post_op_attr(None) + b"\0" * 8 + entries + rpc.u32(0, 1)))])


def mount_export_groups(path: Path) -> None:
    groups = rpc.u32(1) + rpc.string("lab") + rpc.u32(0)
    exports = rpc.u32(1) + rpc.string("/srv") + groups + rpc.u32(0)
    udp_capture(path, [("c", rpc.call(1, 100005, 3, 5)), ("s", rpc.reply(1, exports))], server=("10.0.0.2", 2049))


def nfs_many_handles(path: Path) -> None:
    steps = []
    for i in range(5):
        steps += [("c", _lookup(i, f"f{i}")), ("s", _found(i, bytes([i]) * 8))]
    _rpc_udp(path, steps)


def nfs_many_files(path: Path) -> None:
    _rpc_udp(path, [st for i in range(5) for st in _nfs_read(i, bytes([i]) * 8, 0, b"data")])


def nfs_hole(path: Path) -> None:
    _rpc_udp(path, [st for i in range(1, 4) for st in _nfs_read(i, b"F" * 8, 4096 * i, b"x" * 4096)])


# name: (builder, low, high, anomaly, count or None for "at least one")
CAPS: dict[str, tuple] = {
    "max_flows": (flows, 10, 1000, "flows_too_many", 40),
    "max_fragment_sets": (frag_sets, 10, 1000, "ip_fragment_sets_too_many", 20),
    "max_fragment_bytes": (frag_bytes, 2000, 65_543, "ip_fragment_too_long", None),
    "max_expectations": (ftp_pasv, 2, 100, "expectations_too_many", 3),
    "max_line": (smtp_long_line, 8192, 65_536, "smtp_line_too_long", 1),
    "max_header_block": (smtp_big_headers, 4096, 1 << 20, "smtp_header_block_too_long", 1),
    "max_literal": (imap_literal, 1000, 1 << 20, "imap_literal_too_long", 1),
    "max_message": (smtp_big_message, 100_000, 1 << 26, "smtp_message_too_long", 1),
    "max_pending_requests": (smtp_pipelined, 5, 1000, "smtp_pending_too_many", None),
    "max_name_depth": (dns_deep, 10, 128, "dns_name_too_deep", 1),
    "max_ber_depth": (snmp_deep, 10, 64, "snmp_ber_too_deep", 1),
    "max_mime_depth": (mime_deep, 5, 50, "mime_too_deep", None),
    "max_mime_parts": (mime_parts, 5, 1000, "mime_parts_too_many", None),
    "max_file_size": (http_big_file, 10_000, 1 << 26, "file_size_capped", 1),
    "max_decompressed": (http_gzip, 100_000, 1 << 26, "http_decompression_capped", 1),
    "max_decompression_ratio": (http_gzip, 10, 100_000, "http_decompression_ratio_limit", 1),
    "max_files": (http_many_files, 2, 1000, "files_too_many", 3),
    "rpc_max_record": (rpc_big_record, 8192, 1 << 22, "rpc_record_too_long", 1),
    "xdr_max_string": (nfs_long_name, 1024, 1 << 16, "rpc_xdr_too_long", 1),
    "xdr_max_array": (nfs_big_listing, 10, 100_000, "rpc_xdr_too_many", 1),
    "xdr_max_depth": (mount_export_groups, 1, 32, "rpc_xdr_too_deep", 1),
    "nfs_max_handles": (nfs_many_handles, 2, 100_000, "nfs_handles_too_many", 1),
    "nfs_max_files": (nfs_many_files, 2, 1000, "nfs_files_too_many", 1),
    "nfs_reorder_buffer": (nfs_hole, 8192, 1 << 24, "nfs_reorder_limit", 1),
}

WINDOWS = {
    "detect_buffer": "probe window: bytes buffered per direction before detection gives up (the flow stays raw); "
                     "not a cap on what is decoded",
    "rows_in_memory": "working-set setting: table rows kept in memory before spilling to disk; nothing is lost",
    "max_lingering_flows": "working-set setting: finished TCP flows kept to absorb their last ACKs; past it the "
                           "oldest finished flow is written at once (its row is complete), nothing is lost",
    "tcp_idle_timeout": "time window: an idle TCP flow is closed (conn close_reason 'idle timeout')",
    "udp_idle_timeout": "time window: an idle UDP flow is closed (conn close_reason 'idle timeout')",
    "dns_idle_timeout": "time window: an idle UDP flow decoded as DNS is closed (conn close_reason 'idle timeout')",
    "tcp_close_delay": "time window: a finished TCP flow absorbs late ACKs and copies for this long, then its row "
                       "is written (conn close_reason 'finished')",
    "fragment_timeout": "time window: unfinished fragment sets expire (anomaly ip_fragments_incomplete)",
    "ftp_expect_ttl": "time window: an FTP data expectation expires unmatched",
    "tftp_expect_ttl": "time window: a TFTP transfer expectation expires unmatched",
    "rpc_expect_ttl": "time window: a port the portmapper announced (GETPORT/GETADDR) expires unconnected",
}

ENGINE_CAPS = {   # caps of the reassembly and transcript layers, each reported with its own anomaly
    "tcp_hole_buffer": "tcp_hole_buffer_limit",
    "tcp_max_pending_segments": "tcp_pending_segments_limit",
    "max_transcript": "transcript_capped",
}


def test_every_limit_is_in_a_table():
    names = {f.name for f in fields(Limits)}
    listed = set(CAPS) | set(WINDOWS) | set(ENGINE_CAPS)
    assert names == listed, f"unlisted: {sorted(names - listed)}, stale: {sorted(listed - names)}"


def _read(tmp_path: Path, cap: Path, *limits: str) -> dict:
    from decoder.cli import main

    out = tmp_path / ("out-" + "-".join(l.replace("=", "_") for l in limits))
    argv = ["read", str(cap), "-o", str(out), "--no-html", "--strict"]
    for l in limits:
        argv += ["--limit", l]
    assert main(argv) == 0
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("name", sorted(CAPS))
def test_cap_is_hit_reported_and_raisable_from_the_cli(tmp_path, name):
    builder, low, high, anomaly, count = CAPS[name]
    assert anomaly.endswith(("_too_long", "_too_many", "_too_deep", "_capped", "_limit"))
    cap = tmp_path / "cap.pcap"
    builder(cap)
    s = _read(tmp_path, cap, f"{name}={low}")
    assert s["limits"][name] == low
    hit = s["limits_hit"].get(anomaly)
    assert hit, f"{anomaly} not in limits_hit {s['limits_hit']} (anomalies {s['anomalies']})"
    if count is not None:
        assert hit == count
    assert s["anomalies"][anomaly] == hit
    raised = _read(tmp_path, cap, f"{name}={high}")
    assert raised["limits"][name] == high
    assert anomaly not in raised["limits_hit"], raised["limits_hit"]


def test_unknown_limit_is_a_usage_error(tmp_path, capsys):
    from decoder.cli import main

    cap = tmp_path / "cap.pcap"
    flows(cap)
    assert main(["read", str(cap), "-o", str(tmp_path / "o"), "--no-html", "--limit", "max_nothing=1"]) == 2
    assert "unknown limit" in capsys.readouterr().err


def test_idle_timeouts_close_flows_by_capture_time(tmp_path):
    from decoder.api import analyze

    p1 = udp_packet("10.0.0.1", 1000, "10.0.0.2", 2000, b"a")
    write_pcap(tmp_path / "u.pcap", [(1_700_000_000.0, 1, b"\x02" * 12 + b"\x08\x00" + p1),
                                     (1_700_000_030.0, 1, b"\x02" * 12 + b"\x08\x00" + p1)])
    with analyze(tmp_path / "u.pcap", limits=Limits(udp_idle_timeout=10), strict=True) as a:
        assert len(a.tables["conn"]) == 2 and "idle timeout" in set(a.tables["conn"]["close_reason"])
    with analyze(tmp_path / "u.pcap", strict=True) as a:
        assert len(a.tables["conn"]) == 1


@pytest.mark.parametrize("name", sorted(ENGINE_CAPS))
def test_engine_caps_appear_in_limits_hit(tmp_path, name):
    c = Conn()
    pkts = c.handshake()
    lost = c.client(b"L" * 1000)                       # never captured: a hole
    for i in range(20):                                  # queued above the hole, every other one missing too
        if i % 2:                                        # (so they stay separate ranges, not coalesced)
            c.cseq += 1000
        else:
            pkts.append(c.client(b"D" * 1000))
    pkts += [c.server(b"S" * 1000) for _ in range(5)]
    del lost
    write_pcap(tmp_path / "t.pcap", pkts)
    low = {"tcp_hole_buffer": "tcp_hole_buffer=4000", "tcp_max_pending_segments": "tcp_max_pending_segments=3",
           "max_transcript": "max_transcript=1000"}[name]
    from decoder.cli import main
    out = tmp_path / "o"
    args = ["read", str(tmp_path / "t.pcap"), "-o", str(out), "--limit", low]
    if name != "max_transcript":
        args.append("--no-html")
    assert main(args) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["limits_hit"].get(ENGINE_CAPS[name], 0) >= 1, s["anomalies"]
