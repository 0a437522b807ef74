"""A capture wiretale cannot decode says so (issue 23): on stderr, in summary.json, in read's exit
code, in batch's summary.csv status and on the report's first screen (tests/reports/test_undecodable_report).

The capture is crafted with link type 147 (DLT_USER0, private use: no decoder will ever claim it)."""
from __future__ import annotations

import csv
import json

from decoder import cli
from tests.builders import tcp_packet, write_pcap

USER0 = 147


def user0_capture(path):
    """Three frames of link type 147 (an IP packet behind a made-up 4-byte header)."""
    ip = tcp_packet("10.0.0.1", 1234, "10.0.0.2", 80, 1, 0, 0x02)
    write_pcap(path, [(1_700_000_000.0 + i, USER0, b"\xde\xad\xbe\xef" + ip) for i in range(3)])
    return path


def test_read_of_an_undecodable_capture_says_why_and_fails(tmp_path, capsys):
    cap = user0_capture(tmp_path / "user0.pcap")
    code = cli.main(["read", str(cap), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "nothing decoded: unsupported link type 147" in err
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["undecodable"].startswith("unsupported link type 147")
    assert "Ethernet" in s["undecodable"]           # what wiretale can read instead
    assert s["packets"] == {"total": 3, "decoded": 0, "skipped": 3, "by_kind": {
        "skipped: unsupported link type 147 (unknown)": 3}}


def test_a_decodable_capture_has_no_undecodable_reason(tmp_path, capsys):
    from tests.conftest import SAMPLES

    assert cli.main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(tmp_path / "out"), "--no-html"]) == 0
    assert "nothing decoded" not in capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["undecodable"] is None


def test_read_of_an_empty_capture_says_it_holds_no_packets(tmp_path, capsys):
    cap = tmp_path / "empty.pcap"
    write_pcap(cap, [])
    assert cli.main(["read", str(cap), "-o", str(tmp_path / "out"), "--no-html"]) == 1
    assert "nothing decoded: the capture holds no packets" in capsys.readouterr().err


def test_batch_status_of_an_undecodable_capture(tmp_path, capsys):
    from tests.conftest import SAMPLES

    caps = tmp_path / "caps"
    caps.mkdir()
    user0_capture(caps / "user0.pcap")
    (caps / "dns.pcapng").write_bytes((SAMPLES / "dns.pcapng").read_bytes())
    code = cli.main(["batch", str(caps), "-o", str(tmp_path / "rep"), "--workers", "1"])
    io = capsys.readouterr()
    assert code == 0            # the batch ran; the capture's own status says what happened
    assert "1 with nothing decoded" in io.out
    assert "user0.pcap: nothing decoded: unsupported link type 147" in io.err
    with open(tmp_path / "rep" / "summary.csv", newline="", encoding="utf-8") as fh:
        rows = {r["capture"]: r for r in csv.DictReader(fh)}
    assert rows["user0.pcap"]["status"] == "undecodable"
    assert rows["user0.pcap"]["error"].startswith("unsupported link type 147")
    assert rows["dns.pcapng"]["status"] == "ok" and rows["dns.pcapng"]["error"] == ""
    index = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    assert "nothing decoded" in index and "read, but nothing in them could be decoded" in index
    totals = json.loads((tmp_path / "rep" / "summary.json").read_text())["totals"]
    assert totals["undecodable"] == 1 and totals["failed"] == 0
