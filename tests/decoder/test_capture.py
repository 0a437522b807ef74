"""Capture formats, link types and bad files (engine issue: capture reading, errors)."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from decoder.capture import CaptureError, PcapFileSource
from decoder.api import analyze
from tests.builders import (
    Conn, frame, pcapng_epb, pcapng_idb, pcapng_shb, udp_packet, write_pcap,
)

MSG = b"EHLO client.example\r\n"


def conv(v6: bool = False) -> list[bytes]:
    c = Conn(c=("2001:db8::1", 40000), s=("2001:db8::2", 25)) if v6 else Conn(s=("10.0.0.2", 25))
    return c.handshake() + [c.server(b"220 mail ESMTP\r\n"), c.client(MSG)] + c.close()


LINKS = ["eth", "vlan", "qinq", "mpls", "pppoe", "sll", "sll2", "null", "null-be", "loop", "raw", "raw-typed"]


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("link", LINKS)
def test_every_link_type(tmp_path, link, v6):
    p = tmp_path / "t.pcap"
    write_pcap(p, conv(v6), link=link)
    with analyze(p, keep_streams=True, decode=False, strict=True) as a:
        assert a.summary["packets"]["skipped"] == 0, a.summary["packets"]
        (r,) = a.rows["conn"]
        assert r["resp_p"] == 25 and r["conn_state"] == "SF"
        client = b"".join(c.data for c in a.streams[r["uid"]] if c.direction == 0 and c.data)
        assert client == MSG


@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("big", [False, True])
def test_pcap_resolutions_and_byte_orders(tmp_path, nano, big):
    p = tmp_path / "t.pcap"
    pk = [(1_700_000_000.123456789 + i, *frame(x)) for i, x in enumerate(conv())]
    write_pcap(p, pk, nano=nano, big_endian=big)
    frames = list(PcapFileSource(p))
    assert len(frames) == len(pk)
    want = 1_700_000_000.123456789 if nano else 1_700_000_000.123457
    assert frames[0].ts == pytest.approx(want, abs=1e-9 if nano else 1e-6)


def test_pcapng_several_interfaces_and_sections(tmp_path):
    pk = conv()
    lt_eth, _ = frame(pk[0], "eth")
    blob = pcapng_shb() + pcapng_idb(1) + pcapng_idb(113, tsresol=9)   # iface 1: ns, SLL
    t_us = 1_700_000_000 * 10**6
    t_ns = 1_700_000_000 * 10**9
    for i, p in enumerate(pk[:3]):
        if i % 2:
            blob += pcapng_epb(1, t_ns + i * 1000, frame(p, "sll")[1])
        else:
            blob += pcapng_epb(0, t_us + i, frame(p, "eth")[1])
    # a second section, big-endian, whose interface 0 is raw IP
    blob += pcapng_shb(">") + pcapng_idb(101, o=">")
    for i, p in enumerate(pk[3:], start=3):
        blob += pcapng_epb(0, t_us + i, p, o=">")
    f = tmp_path / "t.pcapng"
    f.write_bytes(blob)
    src = PcapFileSource(f)
    frames = list(src)
    assert [fr.linktype for fr in frames] == [1, 113, 1] + [101] * (len(pk) - 3)
    assert frames[1].ts == pytest.approx(1_700_000_000 + 1e-6, abs=5e-7)  # ns resolution, float precision
    with analyze(f, keep_streams=True, decode=False, strict=True) as a:
        (r,) = a.rows["conn"]
        assert r["conn_state"] == "SF" and a.summary["packets"]["skipped"] == 0


def test_gzip_and_stdin(tmp_path):
    p = tmp_path / "t.pcap"
    write_pcap(p, conv())
    gz = tmp_path / "t.pcap.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    with analyze(gz, decode=False) as a:
        assert len(a.rows["conn"]) == 1 and a.captures[0]["gzip"]
    out = subprocess.run([sys.executable, "-m", "decoder.cli", "sessions", "-", "--json"],
                         input=gz.read_bytes(), capture_output=True, check=True).stdout
    assert out.count(b'"uid"') == 1


def test_truncated_capture_keeps_what_came_before(tmp_path):
    p = tmp_path / "t.pcap"
    write_pcap(p, conv() + [udp_packet("10.0.0.5", 5353, "10.0.0.6", 5353, b"x" * 300)])
    data = p.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-100])
    with analyze(cut, decode=False) as a:
        assert a.captures[0]["warnings"] and "cut short" in a.captures[0]["warnings"][0]
        assert [r["proto"] for r in a.rows["conn"]] == ["tcp"]
        assert any(x["name"] == "capture_truncated" for x in a.rows["anomalies"])
    r = subprocess.run([sys.executable, "-m", "decoder.cli", "read", str(cut), "-o", str(tmp_path / "o"),
                        "--no-html"], capture_output=True, text=True)
    assert r.returncode == 0 and "cut short" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "o" / "tables" / "conn.jsonl").read_text().count("\n") == 1


def test_record_claiming_4gb_stops_cleanly(tmp_path):
    p = tmp_path / "t.pcap"
    write_pcap(p, conv())
    data = bytearray(p.read_bytes())
    # corrupt the third record's incl_len
    pos = 24
    for _ in range(2):
        incl = int.from_bytes(data[pos + 8:pos + 12], "little")
        pos += 16 + incl
    data[pos + 8:pos + 12] = (0xFFFFFFF0).to_bytes(4, "little")
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(bytes(data))
    src = PcapFileSource(bad)
    assert len(list(src)) == 2 and "claims" in src.info.warnings[0]


@pytest.mark.parametrize("content,needle", [
    (b"", "empty file"),
    (b"hello world, not a capture", "not a pcap or pcapng"),
    (b"\xd4\xc3", "too short"),
])
def test_bad_files_one_clear_line(tmp_path, content, needle):
    p = tmp_path / "x.pcap"
    p.write_bytes(content)
    with pytest.raises(CaptureError, match=needle):
        list(PcapFileSource(p))
    good = tmp_path / "good.pcap"
    write_pcap(good, conv())
    r = subprocess.run([sys.executable, "-m", "decoder.cli", "read", str(p), str(good), "-o", str(tmp_path / "o"),
                        "--no-html"], capture_output=True, text=True)
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and str(p) in lines[0] and needle in lines[0]
    assert (tmp_path / "o" / "tables" / "conn.jsonl").read_text().count("\n") == 1   # the good file decoded


def test_missing_and_unreadable(tmp_path):
    r = subprocess.run([sys.executable, "-m", "decoder.cli", "sessions", str(tmp_path / "nope.pcap")],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "no such file" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "decoder.cli", "sessions", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "is a directory" in r.stderr


def test_every_frame_is_accounted_for(tmp_path):
    arp = (1, b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\x00" * 28)
    junk = (1, b"\x00" * 10)
    icmp = frame(bytes.fromhex("4500001c000100004001f79c0a0000010a000002") + bytes(8))
    pk = [(1e9 + i, *f) for i, f in enumerate([arp, junk, icmp])] + \
         [(1e9 + 10 + i, *frame(x)) for i, x in enumerate(conv())]
    p = tmp_path / "t.pcap"
    write_pcap(p, pk)
    with analyze(p, decode=False) as a:
        k = a.summary["packets"]
        assert k["total"] == len(pk) == sum(k["by_kind"].values())
        assert k["by_kind"]["skipped: non-IP (ARP)"] == 1
        assert k["by_kind"]["skipped: truncated Ethernet header"] == 1
        assert k["by_kind"]["other IP protocol: ICMP"] == 1
        assert any(x["name"] == "packet_malformed" for x in a.rows["anomalies"])


def test_sessions_no_decode_detects_services_and_decodes_nothing():
    """``sessions --no-decode`` lists the same flows as a full run; every flow a dissector would
    take gets its service by detection; FTP data flows (found by decoding the control flow) get none
    and are not linked to their control flow."""
    root = Path(__file__).resolve().parents[2]
    cap = root / "samples" / "ftp.pcapng"
    full, fast = ([json.loads(l) for l in subprocess.run(
        [sys.executable, "-m", "decoder.cli", "sessions", str(cap), "--json", *extra],
        capture_output=True, text=True, check=True, cwd=root).stdout.splitlines()] for extra in ((), ("--no-decode",)))
    assert [r["uid"] for r in full] == [r["uid"] for r in fast]
    linked = ("service", "parent_uid", "expect_token", "nat")     # what decoding the control flow adds
    for a, b in zip(full, fast):
        assert {k: v for k, v in a.items() if k not in linked} == {k: v for k, v in b.items() if k not in linked}
        assert b["parent_uid"] is None
        assert b["service"] == ("" if a["service"] == "ftp-data" else a["service"])
    assert {r["service"] for r in full} >= {"ftp", "ftp-data"}


def test_corrupt_byte_in_gzip_keeps_every_record_before_it(tmp_path):
    """A corrupt byte inside the second 64 KiB of a .gz: every record decompressed before it is
    read (the whole 64 KiB input block used to be thrown away), then 'corrupt at byte N'."""
    import struct as st

    p = tmp_path / "t.pcap"
    write_pcap(p, [udp_packet("10.0.0.5", 5353, "10.0.0.6", 5353, bytes([i % 251]) * 200) for i in range(900)])
    plain = p.read_bytes()
    z = bytearray(gzip.compress(plain, compresslevel=0, mtime=0))   # stored blocks: offsets are known
    first_len = st.unpack("<H", z[11:13])[0]
    nlen_at = 10 + 5 + first_len + 3                                 # NLEN of the second stored block
    z[nlen_at] ^= 0xFF
    gz = tmp_path / "t.pcap.gz"
    gz.write_bytes(bytes(z))
    whole = list(PcapFileSource(p))
    src = PcapFileSource(gz)
    got = list(src)
    # records wholly inside the first stored block's bytes (24-byte file header, 16-byte record headers)
    fit, pos = 0, 24
    while pos + 16 + len(whole[fit].data) <= first_len:
        pos += 16 + len(whole[fit].data)
        fit += 1
    assert fit >= 18 and len(got) == fit
    assert [f.data for f in got] == [f.data for f in whole[:fit]]
    # zlib sees the damage once NLEN is read whole: its second byte
    assert any(f"corrupt at byte {nlen_at + 1} " in w for w in src.info.warnings), src.info.warnings


def test_corrupt_gzip_trailer_keeps_every_record(tmp_path):
    p = tmp_path / "t.pcap"
    write_pcap(p, conv())
    z = bytearray(gzip.compress(p.read_bytes()))
    z[-6] ^= 0x01                                                    # the CRC-32 no longer matches
    gz = tmp_path / "t.pcap.gz"
    gz.write_bytes(bytes(z))
    src = PcapFileSource(gz)
    assert len(list(src)) == len(list(PcapFileSource(p)))
    assert any("corrupt at byte" in w for w in src.info.warnings)


def _fifo_fed_late(tmp_path, delay: float):
    """A FIFO and a pcap, and a thread that writes the pcap into the FIFO after ``delay`` seconds."""
    import os
    import threading
    import time

    p = tmp_path / "t.pcap"
    write_pcap(p, conv())
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def writer():
        time.sleep(delay)
        with open(fifo, "wb") as fh:
            fh.write(p.read_bytes())

    t = threading.Thread(target=writer)
    t.start()
    return p, fifo, t


def test_fifo_is_read_as_a_stream_with_a_note_while_it_is_silent(tmp_path, monkeypatch):
    """A FIFO whose writer starts late: opened at once (no blocking open), a note after the silence,
    then every frame; a FIFO cannot be checked ahead (the bytes would be lost)."""
    import decoder.capture as capture

    monkeypatch.setattr(capture, "SILENCE", 0.3)
    p, fifo, t = _fifo_fed_late(tmp_path, 1.0)
    assert capture.is_stream(fifo) and not capture.is_stream(p)
    notes: list[str] = []
    src = PcapFileSource(fifo, note=notes.append)
    frames = list(src)
    t.join()
    assert [f.data for f in frames] == [f.data for f in PcapFileSource(p)]
    assert notes and "no data for" in notes[0] and str(fifo) in notes[0]


def test_read_cli_on_a_fifo(tmp_path):
    p, fifo, t = _fifo_fed_late(tmp_path, 0.5)
    r = subprocess.run([sys.executable, "-m", "decoder.cli", "read", str(fifo), "-o", str(tmp_path / "o"), "--no-html"],
                       capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    t.join()
    assert r.returncode == 0, r.stderr
    import json

    assert json.loads((tmp_path / "o" / "summary.json").read_text())["packets"]["total"] == len(conv())
