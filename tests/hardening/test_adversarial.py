"""Hostile captures, one test each (hardening issue: "adversarial cases").

Every capture is built here with struct/dpkt (tests/builders.py), run with ``strict=True``
(a dissector bug fails the test) under a 60 s hang watchdog, and memory is measured with
tracemalloc against generous bounds that still catch "the hostile length was allocated".
"""
from __future__ import annotations

import base64
import gzip
import json
import os
import struct
import zlib

import pytest

from decoder.model import Limits
from tests.builders import (Conn, fragments_v4, fragments_v6, udp_bytes, udp_packet,
                            write_pcap)
from tests.hardening._build import (guarded, watchdog, raw_syn, tcp_conversation, tcp_stream_packets, udp_capture,
                                    write_frames)

MB = 1024 * 1024


# ----------------------------------------------------------------------------- DNS
def _dns(qname_wire: bytes, extra: bytes = b"", an: int = 0, flags: int = 0x8180) -> bytes:
    return struct.pack("!HHHHHH", 0x1234, flags, 1, an, 0, 0) + qname_wire + struct.pack("!HH", 1, 1) + extra


@pytest.mark.parametrize("case", ["self", "two-step", "forward", "deep-chain"])
def test_dns_compression_loops_and_forward_pointers(tmp_path, case):
    rr_tail = struct.pack("!HHIH", 1, 1, 60, 4) + b"\x01\x02\x03\x04"
    if case == "self":          # the question name points at itself (offset 12)
        msg = _dns(b"\xc0\x0c")
        expect = {"dns_name_compression_loop", "dns_name_bad_pointer", "dns_name_too_deep"}
    elif case == "two-step":    # question "a" ends at 19; answer owner at 19 → 21 → 19 …
        msg = _dns(b"\x01a\x00", b"\xc0\x15" + b"\xc0\x13" + rr_tail, an=1)
        expect = {"dns_name_compression_loop", "dns_name_bad_pointer", "dns_name_too_deep"}
    elif case == "forward":     # the question name points forward, past itself
        body = b"\xc0\x12" + struct.pack("!HH", 1, 1) + b"\x03www\x07example\x03com\x00"
        msg = struct.pack("!HHHHHH", 1, 0x8180, 1, 0, 0, 0) + body
        expect = {"dns_name_forward_pointer", "dns_name_bad_pointer", "dns_name_compression_loop"}
    else:                       # 300 distinct backward pointers, each to the previous one: the depth cap
        start = 12 + 2 + len(rr_tail)           # the chain follows the single answer record
        chain = bytearray(b"\x01x\x00")
        ptrs = [start]
        for _ in range(300):
            ptrs.append(start + len(chain))
            chain += b"\x01y" + struct.pack("!H", 0xC000 | ptrs[-2])
        msg = struct.pack("!HHHHHH", 7, 0x8180, 0, 1, 0, 0) + struct.pack("!H", 0xC000 | ptrs[-1]) + rr_tail + \
            bytes(chain)
        expect = {"dns_name_too_deep", "dns_name_too_long"}
    udp_capture(tmp_path / "d.pcap", [("c", _dns(b"\x01a\x00", flags=0x0100)), ("s", msg)])
    r = guarded(tmp_path / "d.pcap")
    assert r.anomalies() & expect, r.summary["anomalies"]
    assert r.summary["sessions"].get("dns") == 1


# ----------------------------------------------------------------------------- IMAP
def test_imap_literal_of_4_gigabytes(tmp_path):
    turns = [("s", b"* OK IMAP4rev1 ready\r\n"), ("c", b"a1 LOGIN bob secret\r\n"), ("s", b"a1 OK done\r\n"),
             ("c", b"a2 APPEND INBOX {4294967295}\r\n"), ("s", b"+ go ahead\r\n"),
             ("c", b"x" * 200_000), ("c", b"\r\na3 LOGOUT\r\n"), ("s", b"* BYE\r\na3 OK bye\r\n")]
    tcp_conversation(tmp_path / "i.pcap", turns, server=("10.0.0.2", 143))
    r = guarded(tmp_path / "i.pcap")
    assert "imap_literal_too_long" in r.anomalies()
    assert r.summary["limits_hit"]["imap_literal_too_long"] >= 1
    assert r.peak < 64 * MB           # nothing near 4 GB was reserved
    assert r.summary["sessions"].get("imap") == 1


# ----------------------------------------------------------------------------- SMTP
def test_smtp_data_that_never_ends(tmp_path):
    lines = b"".join(b"line %07d of a message that never ends ....................\r\n" % i for i in range(60_000))
    turns = [("s", b"220 mx ESMTP\r\n"), ("c", b"EHLO a\r\n"), ("s", b"250 mx\r\n"),
             ("c", b"MAIL FROM:<a@b>\r\n"), ("s", b"250 ok\r\n"), ("c", b"RCPT TO:<c@d>\r\n"), ("s", b"250 ok\r\n"),
             ("c", b"DATA\r\n"), ("s", b"354 go\r\n"), ("c", b"Subject: forever\r\n\r\n" + lines)]
    tcp_conversation(tmp_path / "s.pcap", turns, server=("10.0.0.2", 25), close=False)
    r = guarded(tmp_path / "s.pcap", limits=Limits(max_message=256 * 1024))
    assert len(lines) > 3 * MB
    assert r.summary["limits_hit"].get("smtp_message_too_long") == 1
    assert r.peak < 48 * MB            # the 3.8 MB body is counted, not kept (max_message 256 KiB)
    files = r.table("files")
    email = files[files["kind"] == "email"]
    assert len(email) == 1 and not email.iloc[0]["complete"]
    assert email.iloc[0]["seen_bytes"] <= 256 * 1024


# ----------------------------------------------------------------------------- HTTP
@pytest.mark.parametrize("size", [b"ffffffffffffffffffffffffffffffff", b"1" + b"0" * 40, b"f" * 9000])
def test_http_chunk_size_overflow(tmp_path, size):
    resp = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
            b"5\r\nhello\r\n" + size + b"\r\nmore bytes\r\n0\r\n\r\n")
    turns = [("c", b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"), ("s", resp)]
    tcp_conversation(tmp_path / "h.pcap", turns)
    r = guarded(tmp_path / "h.pcap")
    assert "http_chunk_size_too_long" in r.anomalies()
    assert r.summary["limits_hit"]["http_chunk_size_too_long"] >= 1
    assert r.peak < 32 * MB


def test_http_bare_lf_empty_line_inside_header_block(tmp_path):
    req = b"GET / HTTP/1.1\r\nHost: a\r\n\n\r\n"
    tcp_conversation(tmp_path / "lf.pcap", [("c", req), ("s", b"HTTP/1.1 204 No Content\r\n\r\n")])
    r = guarded(tmp_path / "lf.pcap")
    assert r.summary["sessions"].get("http") == 1


def _bomb(kind: str, n: int) -> bytes:
    data = b"\x00" * n
    if kind == "gzip":
        return gzip.compress(data, 9)
    if kind == "deflate":
        return zlib.compress(data, 9)           # zlib-wrapped, what most servers send
    co = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate
    return co.compress(data) + co.flush()


@pytest.mark.parametrize("kind", ["gzip", "deflate", "raw-deflate"])
@pytest.mark.parametrize("cap", ["size", "ratio"])
def test_decompression_bombs(tmp_path, kind, cap):
    body = _bomb(kind, 300 * MB)                # ~300 KB on the wire, 300 MB decoded
    enc = "gzip" if kind == "gzip" else "deflate"
    resp = (b"HTTP/1.1 200 OK\r\nContent-Encoding: " + enc.encode() + b"\r\nContent-Type: text/plain\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    tcp_conversation(tmp_path / "b.pcap", [("c", b"GET /bomb HTTP/1.1\r\nHost: h\r\n\r\n"), ("s", resp)])
    if cap == "size":
        limits, name = Limits(max_decompressed=8 * MB, max_decompression_ratio=10**9), "http_decompression_capped"
    else:
        limits, name = Limits(max_decompression_ratio=100), "http_decompression_ratio_limit"
    r = guarded(tmp_path / "b.pcap", limits=limits)
    assert r.summary["limits_hit"].get(name, 0) >= 1, r.summary["anomalies"]
    assert r.peak < 64 * MB, f"peak {r.peak / MB:.1f} MB"
    files = r.table("files")
    decoded = files["seen_bytes"].max() if len(files) else 0
    assert decoded <= 8 * MB + 1 * MB         # decoded output capped (one inflate step of slack)


# ----------------------------------------------------------------------------- MIME
def _nested_mime(depth: int) -> bytes:
    head = b"From: a@b\r\nTo: c@d\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    parts_open, parts_close = [], []
    for i in range(depth):
        b = b"b%d" % i
        parts_open.append(b"Content-Type: multipart/mixed; boundary=\"" + b + b"\"\r\n\r\n--" + b + b"\r\n")
        parts_close.append(b"\r\n--" + b + b"--\r\n")
    leaf = (b"Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"deep.txt\"\r\n\r\n"
            b"bottom\r\n")
    return head + b"".join(parts_open) + leaf + b"".join(reversed(parts_close))


def test_mime_nested_1000_deep(tmp_path):
    msg = _nested_mime(1000)
    turns = [("s", b"220 mx\r\n"), ("c", b"HELO a\r\n"), ("s", b"250 ok\r\n"), ("c", b"MAIL FROM:<a@b>\r\n"),
             ("s", b"250 ok\r\n"), ("c", b"RCPT TO:<c@d>\r\n"), ("s", b"250 ok\r\n"), ("c", b"DATA\r\n"),
             ("s", b"354 go\r\n"), ("c", msg + b".\r\n"), ("s", b"250 queued\r\n"), ("c", b"QUIT\r\n"),
             ("s", b"221 bye\r\n")]
    tcp_conversation(tmp_path / "m.pcap", turns, server=("10.0.0.2", 25))
    r = guarded(tmp_path / "m.pcap")
    assert "dissector_error" not in r.anomalies()
    assert r.summary["limits_hit"].get("mime_too_deep", 0) >= 1, r.summary["anomalies"]
    assert r.summary["emails"] == 1


# ----------------------------------------------------------------------------- flows
def test_hundred_thousand_flows_capped_by_the_flow_limit(tmp_path):
    n, cap = 100_000, 500
    frames = (raw_syn(0x0A000000 + (i >> 12), 1024 + (i & 0xFFF), 0x0A800001, 80, i) for i in range(n))
    write_frames(tmp_path / "f.pcap", frames)
    r = guarded(tmp_path / "f.pcap", limits=Limits(max_flows=cap), measure=False)   # tracemalloc: 5x slower
    s = r.summary
    assert s["packets"]["total"] == n and s["flows"]["total"] == n
    assert s["limits_hit"]["flows_too_many"] == n - cap      # one eviction per flow beyond the cap
    conn = r.table("conn")
    evicted = conn[conn["close_reason"] == "evicted"]
    assert len(evicted) == n - cap
    # the oldest go first: the evicted flows are exactly the first n - cap
    assert evicted["first_frame"].max() == n - cap


def test_flow_memory_does_not_grow_past_the_cap(tmp_path):
    """Python allocations while decoding 6 000 vs 12 000 flows with max_flows=200: the engine
    keeps at most 200 flows, and conn rows spill to disk, so the peak must not double."""
    peaks = []
    for n in (6_000, 12_000):
        frames = (raw_syn(0x0B000000 + (i >> 12), 1024 + (i & 0xFFF), 0x0A800001, 80, i) for i in range(n))
        write_frames(tmp_path / f"f{n}.pcap", frames)
        from decoder.pipeline import Engine, run_engine
        import tracemalloc
        with watchdog():
            tracemalloc.start()
            e = Engine(limits=Limits(max_flows=200, rows_in_memory=1000), out_dir=tmp_path / f"o{n}")
            run_engine(e, [tmp_path / f"f{n}.pcap"])
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        assert len(e.reassembly.active) <= 200
        e.results.cleanup()
    assert peaks[1] < 1.5 * peaks[0] + 2 * MB, [p / MB for p in peaks]


# ----------------------------------------------------------------------------- TCP
def test_tcp_sequence_jump_of_2_gigabytes(tmp_path):
    c = Conn(s=("10.0.0.2", 25))
    pkts = c.handshake()
    pkts.append(c.server(b"220 mx ready\r\n"))
    pkts.append(c.client(b"EHLO a\r\n"))
    pkts.append(c.server(b"250 mx\r\n"))
    c.cseq = (c.cseq + 2**31) & 0xFFFFFFFF         # the next client segment is 2 GB ahead
    pkts.append(c.client(b"NOOP\r\n"))
    pkts.append(c.server(b"250 ok\r\n"))
    pkts.append(c.client(b"QUIT\r\n"))
    pkts.append(c.server(b"221 bye\r\n"))
    pkts += c.close()
    write_pcap(tmp_path / "j.pcap", pkts)
    r = guarded(tmp_path / "j.pcap", keep_streams=True)
    conn = r.table("conn").iloc[0]
    assert r.peak < 32 * MB                           # no zero fill, nothing sized by the jump
    chunks = next(iter(r.analysis.streams.values()))
    delivered = sum(len(ch.data) for ch in chunks if ch.data is not None)
    assert delivered == len(b"220 mx ready\r\n250 mx\r\n250 ok\r\n221 bye\r\nEHLO a\r\nNOOP\r\nQUIT\r\n") or \
        delivered < 200                               # data is never invented
    assert all(ch.data is None or b"\x00" * 16 not in ch.data for ch in chunks)
    assert conn["orig_bytes"] < 100


# ----------------------------------------------------------------------------- IP fragments
def test_ip_fragments_overlapping(tmp_path):
    dns_q = struct.pack("!HHHHHH", 9, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00" + struct.pack("!HH", 1, 1)
    payload = udp_bytes(40000, 53, dns_q + b"\x00" * 40)
    frs = fragments_v4("10.0.0.1", "10.0.0.2", 17, payload, 24)
    evil = bytearray(frs[1])
    evil[20:] = b"\xee" * (len(evil) - 20)       # same offset, different bytes
    pkts = [frs[0], frs[1], bytes(evil)] + frs[2:] + fragments_v6("fd00::1", "fd00::2", 17, payload, 24)[::-1]
    write_pcap(tmp_path / "o.pcap", pkts)
    r = guarded(tmp_path / "o.pcap")
    assert "ip_fragment_overlap_differs" in r.anomalies()
    assert r.summary["packets"]["total"] == len(pkts)


def test_ip_fragments_that_never_complete_are_bounded(tmp_path):
    pkts = []
    for ident in range(5000):
        pkts.append(fragments_v4("10.0.0.1", "10.0.0.2", 17, b"\x00" * 1600, 1480, ident=ident)[0])
    write_pcap(tmp_path / "n.pcap", pkts)
    r = guarded(tmp_path / "n.pcap", limits=Limits(max_fragment_sets=100))
    s = r.summary
    assert s["limits_hit"]["ip_fragment_sets_too_many"] == 5000 - 100
    assert s["anomalies"]["ip_fragments_incomplete"] == 100       # the last 100 expire at the end
    assert s["packets"]["total"] == 5000
    assert r.peak < 32 * MB


# ----------------------------------------------------------------------------- capture framing
@pytest.mark.parametrize("claim", [0xFFFFFFFF, 0xFFFFFFF0, 2**31])
def test_pcap_record_claiming_4_gigabytes(tmp_path, claim):
    good = [udp_packet("10.0.0.1", 1000, "10.0.0.2", 2000, b"x" * 10) for _ in range(3)]
    write_pcap(tmp_path / "g.pcap", good)
    raw = (tmp_path / "g.pcap").read_bytes()
    bogus = struct.pack("<IIII", 1_700_000_001, 0, claim, claim) + b"tail bytes that are not 4 GB"
    (tmp_path / "h.pcap").write_bytes(raw + bogus)
    r = guarded(tmp_path / "h.pcap")
    s = r.summary
    assert s["packets"]["total"] == 3
    assert any("claims" in w for c in s["captures"] for w in c["warnings"])
    assert r.peak < 16 * MB


# ----------------------------------------------------------------------------- hostile file names
HOSTILE_NAMES = ["../../etc/passwd", "/etc/shadow", "..\\..\\windows\\win.ini", "a\x00b.txt",
                 "dir/sub/evil.sh", "\x1b[31mred\r\x07\x7f.txt", "A" * 10_240, "....//....//x", ".htaccess",
                 "con.txt", "\u202egnp.exe", "x" * 300 + "/" + "../" * 50 + "passwd"]


def _ftp_capture(path, name: bytes):
    ctl = Conn(c=("10.0.0.1", 40000), s=("10.0.0.2", 21))
    data = Conn(c=("10.0.0.1", 40001), s=("10.0.0.2", 50000))
    p = ctl.handshake()
    for who, b in [("s", b"220 ftp\r\n"), ("c", b"USER u\r\n"), ("s", b"331 pw\r\n"), ("c", b"PASS p\r\n"),
                   ("s", b"230 ok\r\n"), ("c", b"TYPE I\r\n"), ("s", b"200 ok\r\n"), ("c", b"PASV\r\n"),
                   ("s", b"227 Entering Passive Mode (10,0,0,2,195,80)\r\n"), ("c", b"RETR " + name + b"\r\n")]:
        p += tcp_stream_packets(ctl, who, b)
    p += data.handshake()
    p.append(ctl.server(b"150 here it comes\r\n"))
    p += tcp_stream_packets(data, "s", b"root:x:0:0:pwned\n" * 10)
    p += data.close()
    p.append(ctl.server(b"226 done\r\n"))
    p += ctl.close()
    write_pcap(path, p)


def _http_capture(path, name: bytes):
    body = b"payload of the download\n"
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
            b"filename=\"" + name + b"\"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    tcp_conversation(path, [("c", b"GET /dl HTTP/1.1\r\nHost: h\r\n\r\n"), ("s", resp)])


def _smtp_capture(path, name: bytes):
    att = base64.encodebytes(b"attachment bytes\n")
    msg = (b"From: a@b\r\nTo: c@d\r\nSubject: names\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
           b"--XX\r\nContent-Type: application/octet-stream; name=\"" + name + b"\"\r\nContent-Disposition: "
           b"attachment; filename=\"" + name + b"\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + att +
           b"--XX--\r\n")
    turns = [("s", b"220 mx\r\n"), ("c", b"HELO a\r\n"), ("s", b"250 ok\r\n"), ("c", b"MAIL FROM:<a@b>\r\n"),
             ("s", b"250 ok\r\n"), ("c", b"RCPT TO:<c@d>\r\n"), ("s", b"250 ok\r\n"), ("c", b"DATA\r\n"),
             ("s", b"354 go\r\n"), ("c", msg + b".\r\n"), ("s", b"250 queued\r\n"), ("c", b"QUIT\r\n"),
             ("s", b"221 bye\r\n")]
    tcp_conversation(path, turns, server=("10.0.0.2", 25))


def _tftp_capture(path, name: bytes):
    cl, sv, tid = ("10.0.0.1", 40000), ("10.0.0.2", 69), ("10.0.0.2", 50001)
    pkts = [udp_packet(*cl, *sv, b"\x00\x01" + name + b"\x00octet\x00"),
            udp_packet(*tid, *cl, b"\x00\x03\x00\x01" + b"root:x:0:0\n" * 5),
            udp_packet(*cl, *tid, b"\x00\x04\x00\x01")]
    write_pcap(path, pkts)


CARRIERS = {"ftp": _ftp_capture, "http": _http_capture, "smtp": _smtp_capture, "tftp": _tftp_capture}


def _assert_contained(root, out):
    """Below ``root`` nothing exists but the capture, OUT's ancestors and OUT's own tree;
    every object in OUT/files has a safe name."""
    from fuzz.runner import check_tree

    check_tree(out)
    out_r = os.path.realpath(out)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.realpath(os.path.join(dirpath, n))
            inside = p == out_r or p.startswith(out_r + os.sep)
            ancestor = out_r.startswith(p + os.sep)
            assert inside or ancestor or n == "cap.pcap", f"written outside OUT: {p}"


@pytest.mark.parametrize("carrier", sorted(CARRIERS))
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=lambda n: repr(n[:20]))
def test_hostile_file_names_stay_inside_out(tmp_path, carrier, name):
    sentinel = tmp_path / "sentinel"
    out = sentinel / "a" / "b" / "OUT"         # ../../ from files/ would land in sentinel/a/b or above
    CARRIERS[carrier](tmp_path / "cap.pcap", name.encode("utf-8", "surrogateescape"))
    limits = Limits(max_line=64 * 1024)          # let the 10 KB names through to the store
    r = guarded(tmp_path / "cap.pcap", limits=limits, out_dir=out, measure=False)
    _assert_contained(tmp_path, out)
    files = r.table("files")
    assert len(files) >= 1, (carrier, r.summary["anomalies"])
    for p in files["path"].dropna():
        full = os.path.realpath(out / p)
        assert full.startswith(os.path.realpath(out / "files") + os.sep)
        assert os.path.isfile(full)
    assert not (sentinel / "etc").exists() and not (tmp_path / "etc").exists()


# ----------------------------------------------------------------------------- script/HTML injection
MARK = "wtINJ"
PAYLOADS = [f"<script>{MARK}()</script>", f"<img src=x onerror={MARK}()>", f"\"><svg onload={MARK}()>",
            f"javascript:{MARK}()", f"</textarea></pre><b id={MARK}>"]


def test_injection_in_decoded_fields_is_escaped_in_the_html_report(tmp_path):
    import html5lib
    from reports.html import write_report

    inj = " ".join(PAYLOADS).encode()
    caps = []
    p = tmp_path / "http.pcapng"
    body = inj + b"\n"
    resp = (b"HTTP/1.1 200 OK\r\nServer: " + inj + b"\r\nContent-Type: text/html\r\nContent-Disposition: attachment; "
            b"filename=\"" + PAYLOADS[1].encode() + b"\"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            + body)
    req = (b"GET /" + PAYLOADS[0].replace(" ", "%20").encode() + b" HTTP/1.1\r\nHost: " + PAYLOADS[2].encode() +
           b"\r\nUser-Agent: " + inj + b"\r\nAuthorization: Basic " + base64.b64encode(inj + b":" + inj) +
           b"\r\n\r\n")
    tcp_conversation(p, [("c", req), ("s", resp)])
    caps.append(p)
    _smtp_capture(tmp_path / "smtp.pcapng", PAYLOADS[3].encode())
    caps.append(tmp_path / "smtp.pcapng")
    _ftp_capture(tmp_path / "ftp.pcapng", PAYLOADS[4].encode())
    caps.append(tmp_path / "ftp.pcapng")
    _tftp_capture(tmp_path / "tftp.pcap", PAYLOADS[0].encode())
    caps.append(tmp_path / "tftp.pcap")
    q = struct.pack("!HHHHHH", 3, 0x0100, 1, 0, 0, 0) + bytes([len(PAYLOADS[0])]) + PAYLOADS[0].encode() + \
        b"\x00" + struct.pack("!HH", 1, 1)
    udp_capture(tmp_path / "dns.pcapng", [("c", q)])
    caps.append(tmp_path / "dns.pcapng")
    out = tmp_path / "OUT"
    r = guarded(caps, out_dir=out, measure=False, transcripts=True)
    write_report(r.analysis, out)
    pages = sorted(out.rglob("*.html"))
    assert pages
    seen_text = False
    for page in pages:
        doc = html5lib.parse(page.read_bytes(), namespaceHTMLElements=False)
        for el in doc.iter():
            if not isinstance(el.tag, str):
                continue
            tag = el.tag.lower()
            for k, v in el.attrib.items():
                assert not (k.lower().startswith("on") and MARK in v), f"{page.name}: injected handler {k}={v!r}"
                assert not (k.lower() in ("href", "src", "action") and v.strip().lower().startswith("javascript:")), \
                    f"{page.name}: javascript URL {v!r}"
                assert not (k == "id" and v == MARK), f"{page.name}: injected element <{tag} id={v}>"
            if tag == "script" and el.attrib.get("type") == "application/json":
                # a data block the page's script draws with textContent: captured text may be in it, but only
                # as JSON that parses and cannot end the block ("<" is written \u003c)
                raw = el.text or ""
                json.loads(raw)
                assert "<" not in raw, f"{page.name}: raw '<' in a JSON data block"
                seen_text = seen_text or MARK in raw
            elif tag in ("script", "style"):
                assert MARK not in (el.text or ""), f"{page.name}: injected script"
            if tag in ("svg", "img", "iframe", "b") and any(MARK in v for v in el.attrib.values()):
                raise AssertionError(f"{page.name}: injected <{tag}> {el.attrib}")
            if MARK in (el.text or "") or MARK in (el.tail or ""):
                seen_text = True
    assert seen_text, "the injected strings were not rendered at all (nothing checked)"
