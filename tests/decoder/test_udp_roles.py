"""UDP roles from content: when the first datagram seen of a DNS, SNMP or TFTP exchange is a reply, the
peer that asked is the originator (Zeek flips such flows, ``^`` in ``history``).

The DNS and SNMP labs (recorded from real servers, on ports 53 and 161) are cut to start at a response;
tshark's decode of the same frames says which side asked.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from decoder import analyze
from decoder.capture import PcapFileSource
from tests.builders import udp_packet, write_pcap

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _cut(src: Path, dst: Path, first: int) -> None:
    """Write ``src`` from frame ``first`` (1-based) on, frames unchanged."""
    s = PcapFileSource(src)
    try:
        frames = [(f.ts, f.linktype, bytes(f.data)) for f in s if f.index >= first]
    finally:
        s.close()
    write_pcap(dst, frames)


def _tshark(path: Path, *fields: str) -> list[list[str]]:
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields",
                          *sum((["-e", f] for f in fields), [])],
                         capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is the oracle")
@pytest.mark.parametrize("sample,first,service", [("dns.pcapng", 2, "dns"), ("snmp.pcapng", 2, "snmp")])
def test_capture_starting_at_a_response(tmp_path, sample, first, service):
    cut = tmp_path / "cut.pcap"
    _cut(SAMPLES / sample, cut, first)
    # tshark's decode of the cut's first frame: a DNS response, or SNMP's get-response PDU (2)
    sport, dport, dns_response, snmp_pdu = _tshark(cut, "udp.srcport", "udp.dstport", "dns.flags.response",
                                                   "snmp.data")[0]
    assert dns_response == "1" or snmp_pdu == "2"
    conn = analyze(cut).tables["conn"]
    row = conn.iloc[0]
    # the peer the response went to asked: it is the originator
    assert (row["service"], row["orig_p"], row["resp_p"]) == (service, int(dport), int(sport))
    assert row["history"].startswith("^") and row["orig_pkts"] == 0 and row["resp_pkts"] >= 1
    # the flows that start with their request keep their roles, unflipped
    rest = conn.iloc[1:]
    assert len(rest) and not rest["history"].str.contains("^", regex=False).any()
    # (the SNMP sample's traps go to the manager's trap port, 162: the agent that sends one originates)
    assert rest["resp_p"].isin([int(sport), int(sport) + 1]).all()


def _dns(ident: int, response: bool) -> bytes:
    flags = 0x8180 if response else 0x0100
    q = b"\x03www\x07example\x04test\x00\x00\x01\x00\x01"
    an = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x07" if response else b""
    return ident.to_bytes(2, "big") + flags.to_bytes(2, "big") + b"\x00\x01" + \
        (b"\x00\x01" if response else b"\x00\x00") + b"\x00\x00\x00\x00" + q + an


def test_server_to_server_dns_53_to_53(tmp_path):
    """Both ports 53: the ports cannot tell; the QR bit does (a resolver's reply seen first)."""
    cap = tmp_path / "s2s.pcap"
    write_pcap(cap, [udp_packet("192.0.2.53", 53, "198.51.100.9", 53, _dns(7, True)),
                     udp_packet("203.0.113.1", 53, "192.0.2.53", 53, _dns(8, False)),
                     udp_packet("192.0.2.53", 53, "203.0.113.1", 53, _dns(8, True))])
    a = analyze(cap)
    conn = a.tables["conn"].set_index("orig_h")
    assert conn.loc["198.51.100.9", ["resp_h", "history"]].tolist() == ["192.0.2.53", "^"]
    assert conn.loc["203.0.113.1", ["resp_h", "history"]].tolist() == ["192.0.2.53", ""]
    dns = a.tables["dns"].set_index("trans_id")
    assert dns.loc[7, "orig_h"] == "198.51.100.9" and dns.loc[7, "query"] == "www.example.test"
    assert bool(dns.loc[7, "saw_reply"]) and not bool(dns.loc[7, "saw_query"])


def test_a_multicast_group_is_never_the_originator(tmp_path):
    """An mDNS announcement (a response to 224.0.0.251) has nobody who asked: no flip."""
    cap = tmp_path / "mdns.pcap"
    write_pcap(cap, [udp_packet("192.0.2.10", 5353, "224.0.0.251", 5353, _dns(0, True))])
    row = analyze(cap).tables["conn"].iloc[0]
    assert (row["orig_h"], row["resp_h"], row["history"]) == ("192.0.2.10", "224.0.0.251", "")


def test_a_query_from_a_service_port_is_not_flipped(tmp_path):
    """Ports alone would make 53 the responder; the query's QR bit says who asks."""
    cap = tmp_path / "q.pcap"
    write_pcap(cap, [udp_packet("192.0.2.1", 53, "192.0.2.2", 40000, _dns(9, False))])
    row = analyze(cap).tables["conn"].iloc[0]
    assert (row["orig_h"], row["orig_p"], row["history"]) == ("192.0.2.1", 53, "")
