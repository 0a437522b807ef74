"""802.11 link layers (105, radiotap 127, PPI 192): a real sample's IP packets carried in Wi-Fi frames.

Every IP packet of samples/http.pcapng (nginx and curl on loopback) is put in an 802.11 data frame as an
access point would carry it (client→AP with To DS, AP→client with From DS, plain and QoS data alternating,
LLC/SNAP), behind radiotap, PPI or nothing; after them come a beacon, an ACK, a protected (encrypted) data
frame and a Null data frame. tshark decodes the built file and says which frames carry IP; through our
pipeline the tables must be those of the Ethernet original, and the other frames are counted as skipped
with their reason.
"""
from __future__ import annotations

import shutil
import subprocess
import struct
from pathlib import Path

import pandas as pd
import pytest

from decoder import analyze
from decoder.capture import PcapFileSource
from decoder.link import Skip, l3
from tests.builders import write_pcap

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "http.pcapng"
AP, CLIENT, SERVER = b"\x02\xaa\x00\x00\x00\x01", b"\x02\xcc\x00\x00\x00\x02", b"\x02\x55\x00\x00\x00\x03"

# radiotap: TSFT (bit 0, 8 bytes aligned to 8), Flags (bit 1; 0x10: FCS at end not used here), Rate (bit 2)
RADIOTAP = struct.pack("<BBHI", 0, 0, 18, 0b111) + struct.pack("<QBB", 123456789, 0, 0x6C)
PPI = struct.pack("<BBHI", 0, 0, 8, 105)


def dot11_data(ip: bytes, to_ap: bool, qos: bool, seq: int) -> bytes:
    fc0 = 0x88 if qos else 0x08                     # data / QoS data
    fc1 = 0x01 if to_ap else 0x02                   # To DS / From DS
    addrs = (AP + CLIENT + SERVER) if to_ap else (CLIENT + AP + SERVER)
    hdr = bytes([fc0, fc1]) + b"\x2c\x00" + addrs + struct.pack("<H", (seq & 0xFFF) << 4)
    if qos:
        hdr += b"\x00\x00"                          # QoS Control: TID 0, no A-MSDU
    et = b"\x86\xdd" if ip[0] >> 4 == 6 else b"\x08\x00"
    return hdr + b"\xaa\xaa\x03\x00\x00\x00" + et + ip


OTHER_FRAMES = {
    # beacon: management, subtype 8
    "802.11 management frame": b"\x80\x00\x00\x00" + b"\xff" * 6 + AP + AP + b"\x10\x00" + b"\x00" * 12,
    # ACK: control, subtype 13 (10 bytes)
    "802.11 control frame": b"\xd4\x00\x00\x00" + CLIENT,
    # a CCMP-protected data frame (Protected Frame bit), its body opaque
    "802.11 protected frame (encrypted; not decrypted)":
        b"\x08\x41\x2c\x00" + AP + CLIENT + SERVER + b"\x20\x00" + bytes(range(40)),
    # Null data (subtype 4): power management, no payload
    "802.11 data frame without payload (Null or CF-Ack/Poll)": b"\x48\x11\x2c\x00" + AP + CLIENT + AP + b"\x30\x00",
}


def _wrap(link: int, frame: bytes) -> bytes:
    return {105: b"", 127: RADIOTAP, 192: PPI}[link] + frame


def _build(tmp_path: Path, link: int) -> tuple[Path, int]:
    src = PcapFileSource(SAMPLE)
    try:
        frames = [(f.ts, bytes(f.data)) for f in src]
    finally:
        src.close()
    out, n_ip = [], 0
    for i, (ts, eth) in enumerate(frames):
        assert eth[12:14] in (b"\x08\x00", b"\x86\xdd")
        ip = eth[14:]
        sport = struct.unpack_from("!H", ip, 20 if ip[0] >> 4 == 4 else 40)[0]
        out.append((ts, link, _wrap(link, dot11_data(ip, to_ap=sport not in (80, 8080), qos=bool(i % 2), seq=i))))
        n_ip += 1
    last = frames[-1][0]
    for j, frame in enumerate(OTHER_FRAMES.values()):
        out.append((last + 1 + j, link, _wrap(link, frame)))
    path = tmp_path / f"wifi-{link}.pcap"
    write_pcap(path, out)
    # the same Ethernet frames in a pcap too, so both files give the same float timestamps (and uids)
    write_pcap(tmp_path / "eth.pcap", [(ts, 1, eth) for ts, eth in frames])
    return path, n_ip



@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is the oracle")
@pytest.mark.parametrize("link", [105, 127, 192])
def test_wifi_frames_around_a_samples_ip_packets(tmp_path, link):
    path, n_ip = _build(tmp_path, link)
    lines = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "wlan.fc.type",
                            "-e", "wlan.fc.protected", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    rows = [line.split("\t") for line in lines]
    # tshark: the first n_ip frames carry IP and TCP, the four others do not
    assert all((r[2] or r[3]) and r[4] for r in rows[:n_ip]) and len(rows) == n_ip + len(OTHER_FRAMES)
    assert [r[0] for r in rows[n_ip:]] == ["0", "1", "2", "2"] and rows[n_ip + 2][1] in ("1", "True")
    assert not any(r[2] or r[3] for r in rows[n_ip:])

    wifi, eth = analyze(path), analyze(tmp_path / "eth.pcap")
    for table in ("conn", "http", "files"):
        pd.testing.assert_frame_equal(wifi.tables[table], eth.tables[table], obj=table)
    packets = wifi.summary["packets"]
    skipped = {k[len("skipped: "):]: v for k, v in packets["by_kind"].items() if k.startswith("skipped: ")}
    assert packets["skipped"] == len(OTHER_FRAMES)
    assert skipped == {reason: 1 for reason in OTHER_FRAMES}
    assert not len(wifi.tables.get("anomalies", [])) or \
        not (wifi.tables["anomalies"]["name"] == "packet_malformed").any()


@pytest.mark.parametrize("frame,reason", [
    (dot11_data(b"\x45" + b"\x00" * 19, True, False, 1)[:24] + b"\xaa\xaa\x03\x00\x00\x00\x08\x06" + b"\x00" * 28,
     "non-IP (ARP)"),
    (dot11_data(b"\x45" + b"\x00" * 19, True, False, 1)[:24] + b"\xe0\xe0\x03" + b"\x00" * 20,
     "802.11 data with LLC that is not SNAP"),
    (b"\x88\x01\x2c\x00" + AP + CLIENT + SERVER + b"\x10\x00" + b"\x80\x00" + b"\x00" * 30,
     "802.11 A-MSDU (not unpacked)"),
    (b"\x08\x05\x2c\x00" + AP + CLIENT + SERVER + b"\x10\x00" + b"\xaa" * 30, "802.11 fragment (not reassembled)"),
    (b"\x08\x01\x2c\x00" + AP + CLIENT, "truncated 802.11 header"),
])
def test_frames_we_do_not_decode_say_why(frame, reason):
    with pytest.raises(Skip) as e:
        l3(105, frame)
    assert e.value.reason == reason


def test_four_address_qos_htc_frame_finds_the_ip_header():
    """WDS (To DS and From DS: a fourth address), QoS with +HTC: 30 + 2 + 4 bytes before LLC."""
    ip = b"\x45" + b"\x00" * 19
    frame = b"\x88\x83\x2c\x00" + AP + CLIENT + SERVER + b"\x10\x00" + AP + b"\x00\x00" + b"\x00" * 4 + \
        b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + ip
    assert l3(105, frame) == (4, 44)
    bad_fcs = struct.pack("<BBHI", 0, 0, 9, 0b10) + b"\x40"
    with pytest.raises(Skip) as e:
        l3(127, bad_fcs + frame)
    assert e.value.reason == "802.11 frame with a bad FCS (radiotap)"
