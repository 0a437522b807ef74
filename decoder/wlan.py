"""Wi-Fi link layers: IEEE 802.11 (link type 105), radiotap (127) and PPI (192) in front of it.

What: captures made on a laptop's wireless interface in monitor mode carry 802.11 frames, usually behind a
radiotap or PPI header the driver adds (signal, rate, channel). We find the IP packet inside an unencrypted
data frame and hand it on like any other link layer.

Followed:

* radiotap (https://www.radiotap.org): ``it_version`` 0, ``it_len`` (little-endian) skips the whole header;
  the present bitmap is walked (extended words) only as far as the Flags field, whose bad-FCS bit (0x40)
  drops the frame (its bytes cannot be trusted);
* PPI (CACE Technologies' Per-Packet Information header, 2007): ``pph_len`` skips the header, ``pph_dlt``
  names what follows; only 802.11 (105) is decoded behind it;
* IEEE 802.11-2020 section 9.2 (MAC frame format): frame control (type, subtype, To/From DS, More
  Fragments, Protected Frame, +HTC/Order), a 24-byte header, the fourth address when both To DS and From DS
  are set, QoS Control for QoS subtypes, HT Control when +HTC is set in a QoS data frame;
* the payload is LLC/SNAP (IEEE 802.2, RFC 1042: ``AA AA 03`` with OUI 00-00-00, or 00-00-F8 for
  802.1H bridge tunnelling) followed by an EtherType, then handled as Ethernet's EtherType is (VLAN, MPLS,
  PPPoE, non-IP names).

Skipped, and counted under their reason in ``summary.json`` (not anomalies: they are normal on a Wi-Fi
capture): management frames (beacons, probes, association…), control frames (ACK, RTS, CTS, block ACK…),
extension frames, protected frames (WEP/TKIP/CCMP/GCMP: we do not decrypt), data frames that carry no
payload (Null, QoS Null, CF-Ack/Poll), fragments (More Fragments set or a fragment number above 0), A-MSDU
aggregates, LLC that is not SNAP, and radiotap frames flagged with a bad FCS. Truncated headers are counted
as malformed. Limits: no decryption (even with a known key), no defragmentation, no A-MSDU unpacking; mesh
control fields (802.11s) are not parsed, so a mesh data frame is read as non-SNAP LLC and skipped.
"""
from __future__ import annotations

_MGMT, _CTRL, _DATA, _EXT = 0, 1, 2, 3
_TYPE_NAMES = {_MGMT: "management", _CTRL: "control", _EXT: "extension"}
_SNAP_OUIS = (b"\x00\x00\x00", b"\x00\x00\xf8")
_RADIOTAP_FLAGS_BAD_FCS = 0x40


class WlanSkip(ValueError):
    """The 802.11 frame carries no IP packet we decode: ``args`` are the reason and, when present and true,
    that the frame is malformed (:class:`decoder.link.Skip` is raised from it)."""


def radiotap(data: bytes) -> int:
    """Offset of the 802.11 frame behind a radiotap header; raises :class:`WlanSkip`."""
    n = len(data)
    if n < 8:
        raise WlanSkip("truncated radiotap header", True)
    if data[0] != 0:
        raise WlanSkip(f"radiotap version {data[0]} (only 0 exists)", True)
    it_len = int.from_bytes(data[2:4], "little")
    if it_len < 8 or it_len > n:
        raise WlanSkip("radiotap length past the frame", True)
    present = int.from_bytes(data[4:8], "little")
    pos = 8
    word = present
    while word & 0x80000000:            # more present words follow
        if pos + 4 > it_len:
            raise WlanSkip("radiotap present bitmap past its length", True)
        word = int.from_bytes(data[pos:pos + 4], "little")
        pos += 4
    if present & 0x2:                   # Flags (bit 1), after TSFT (bit 0: 8 bytes aligned to 8)
        if present & 0x1:
            pos = ((pos + 7) & ~7) + 8
        if pos < it_len and data[pos] & _RADIOTAP_FLAGS_BAD_FCS:
            raise WlanSkip("802.11 frame with a bad FCS (radiotap)")
    return it_len


def ppi(data: bytes) -> tuple[int, int]:
    """``(link type, offset)`` of the frame behind a PPI header; raises :class:`WlanSkip`."""
    if len(data) < 8:
        raise WlanSkip("truncated PPI header", True)
    if data[0] != 0:
        raise WlanSkip(f"PPI version {data[0]} (only 0 exists)", True)
    pph_len = int.from_bytes(data[2:4], "little")
    if pph_len < 8 or pph_len > len(data):
        raise WlanSkip("PPI length past the frame", True)
    return int.from_bytes(data[4:8], "little"), pph_len


def ieee80211(data: bytes, off: int) -> tuple[int, int]:
    """``(EtherType, offset after it)`` of an unencrypted 802.11 data frame at ``off`` carrying LLC/SNAP;
    raises :class:`WlanSkip` for everything else."""
    n = len(data)
    if off + 2 > n:
        raise WlanSkip("truncated 802.11 header", True)
    fc0, fc1 = data[off], data[off + 1]
    if fc0 & 0x3:
        raise WlanSkip(f"802.11 protocol version {fc0 & 0x3}", True)
    ftype, subtype = (fc0 >> 2) & 0x3, fc0 >> 4
    if ftype != _DATA:
        raise WlanSkip(f"802.11 {_TYPE_NAMES[ftype]} frame")
    if fc1 & 0x40:
        raise WlanSkip("802.11 protected frame (encrypted; not decrypted)")
    if subtype & 0x4:
        raise WlanSkip("802.11 data frame without payload (Null or CF-Ack/Poll)")
    hlen = 30 if (fc1 & 0x3) == 0x3 else 24
    qos = bool(subtype & 0x8)
    if qos:
        hlen += 2
        if fc1 & 0x80:                  # +HTC: HT Control follows QoS Control
            hlen += 4
    if off + hlen > n:
        raise WlanSkip("truncated 802.11 header", True)
    seqctl = int.from_bytes(data[off + 22:off + 24], "little")
    if fc1 & 0x04 or seqctl & 0xF:
        raise WlanSkip("802.11 fragment (not reassembled)")
    if qos and data[off + (30 if (fc1 & 0x3) == 0x3 else 24)] & 0x80:   # QoS Control bit 7
        raise WlanSkip("802.11 A-MSDU (not unpacked)")
    p = off + hlen
    if p + 8 > n:
        raise WlanSkip("truncated 802.11 LLC/SNAP header", True)
    if data[p:p + 3] != b"\xaa\xaa\x03" or data[p + 3:p + 6] not in _SNAP_OUIS:
        raise WlanSkip("802.11 data with LLC that is not SNAP")
    return (data[p + 6] << 8) | data[p + 7], p + 8
