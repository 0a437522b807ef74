"""Link-layer and IP decoding on the hot path (``struct`` and slicing, no objects per packet).

Link types (https://www.tcpdump.org/linktypes.html): Ethernet (1) with 802.1Q,
802.1ad/QinQ and the old 0x9100 tag, MPLS label stacks (RFC 3032) and PPPoE
session frames (RFC 2516); Linux cooked capture SLL (113) and SLL2 (276); BSD
loopback NULL (0, host byte order) and LOOP (108, network order); raw IP (12,
14, 101) and raw IPv4 (228) / IPv6 (229); IEEE 802.11 (105), alone or behind
radiotap (127) or PPI (192): unencrypted data frames with LLC/SNAP, the rest
skipped with its reason (:mod:`decoder.wlan`).

IP: IPv4 (RFC 791: options skipped by IHL, total length trims link padding) and
IPv6 (RFC 8200: hop-by-hop, routing, destination options, fragment and AH
extension headers walked; ESP and no-next-header end the walk).

A frame that cannot be decoded raises :class:`Skip` with a short reason that
the engine counts (``summary.json``) and turns into an anomaly when it means
a broken packet rather than a non-IP one.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from decoder.wlan import WlanSkip, ieee80211, ppi, radiotap

_H = struct.Struct("!H")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
_VLAN = (0x8100, 0x88A8, 0x9100, 0x9200)
_MPLS = (0x8847, 0x8848)
_PPPOE_SESSION = 0x8864

ETHERTYPE_NAMES = {
    0x0806: "ARP", 0x8035: "RARP", 0x88CC: "LLDP", 0x888E: "EAPOL", 0x8863: "PPPoE discovery",
    0x88F7: "PTP", 0x8809: "slow protocols (LACP)", 0x22F3: "TRILL", 0x9000: "loopback",
    0x88E5: "MACsec", 0x8915: "RoCE", 0x0842: "Wake-on-LAN",
}

LINKTYPE_NAMES = {
    0: "BSD loopback (NULL)", 1: "Ethernet", 12: "raw IP", 14: "raw IP", 101: "raw IP",
    108: "OpenBSD loopback", 113: "Linux cooked (SLL)", 228: "raw IPv4", 229: "raw IPv6",
    276: "Linux cooked v2 (SLL2)", 105: "IEEE 802.11", 127: "802.11 with radiotap", 192: "802.11 with PPI",
}


class Skip(Exception):
    """The frame carries nothing we decode. ``broken`` marks malformed frames."""

    def __init__(self, reason: str, broken: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.broken = broken


def _ethertype_to_ver(et: int) -> int:
    if et == ETH_IPV4:
        return 4
    if et == ETH_IPV6:
        return 6
    name = ETHERTYPE_NAMES.get(et)
    if name is None:
        if et <= 1500:
            name = "802.3/LLC"
        else:
            name = f"ethertype {et:#06x}"
    raise Skip(f"non-IP ({name})")


def _after_ethertype(data: bytes, et: int, off: int) -> tuple[int, int]:
    n = len(data)
    while True:
        if et == ETH_IPV4 or et == ETH_IPV6:
            return (4 if et == ETH_IPV4 else 6), off
        if et in _VLAN:
            if off + 4 > n:
                raise Skip("truncated VLAN tag", True)
            et = _H.unpack_from(data, off + 2)[0]
            off += 4
            continue
        if et in _MPLS:
            while True:
                if off + 4 > n:
                    raise Skip("truncated MPLS label", True)
                bos = data[off + 2] & 1
                off += 4
                if bos:
                    break
            if off >= n:
                raise Skip("MPLS without payload", True)
            v = data[off] >> 4
            if v in (4, 6):
                return v, off
            raise Skip("MPLS payload is not IP (pseudowire)")
        if et == _PPPOE_SESSION:
            if off + 8 > n:
                raise Skip("truncated PPPoE header", True)
            proto = _H.unpack_from(data, off + 6)[0]
            off += 8
            if proto == 0x0021:
                return 4, off
            if proto == 0x0057:
                return 6, off
            raise Skip(f"PPPoE non-IP (PPP protocol {proto:#06x})")
        return _ethertype_to_ver(et), off


def l3(linktype: int, data: bytes) -> tuple[int, int]:
    """Return ``(ip_version, offset_of_ip_header)`` or raise :class:`Skip`."""
    n = len(data)
    if linktype == 1:
        if n < 14:
            raise Skip("truncated Ethernet header", True)
        return _after_ethertype(data, (data[12] << 8) | data[13], 14)
    if linktype == 113:
        if n < 16:
            raise Skip("truncated Linux cooked header", True)
        et = (data[14] << 8) | data[15]
        if et in (0x0001, 0x0004):
            raise Skip("non-IP (Linux cooked, 802.3/802.2 frame)")
        return _after_ethertype(data, et, 16)
    if linktype == 276:
        if n < 20:
            raise Skip("truncated Linux cooked v2 header", True)
        return _after_ethertype(data, (data[0] << 8) | data[1], 20)
    if linktype in (0, 108):
        if n < 4:
            raise Skip("truncated loopback header", True)
        fam_le = int.from_bytes(data[:4], "little")
        fam_be = int.from_bytes(data[:4], "big")
        fam = fam_be if linktype == 108 else (fam_le if fam_le < 256 else fam_be)
        if fam == 2:
            return 4, 4
        if fam in (10, 24, 28, 30):
            return 6, 4
        raise Skip(f"non-IP (loopback family {fam})")
    if linktype in (12, 14, 101, 228, 229):
        if n < 1:
            raise Skip("empty raw IP frame", True)
        v = data[0] >> 4
        if v in (4, 6):
            return v, 0
        raise Skip("raw frame is not IPv4 or IPv6", True)
    if linktype in (105, 127, 192):
        return _wlan(linktype, data)
    raise Skip(f"unsupported link type {linktype} ({LINKTYPE_NAMES.get(linktype, 'unknown')})")


def _wlan(linktype: int, data: bytes) -> tuple[int, int]:
    try:
        if linktype == 127:
            off = radiotap(data)
        elif linktype == 192:
            inner, off = ppi(data)
            if inner != 105:
                raise Skip(f"PPI carrying link type {inner} (only 802.11 is decoded behind PPI)")
        else:
            off = 0
        et, off = ieee80211(data, off)
    except WlanSkip as e:
        raise Skip(e.args[0], len(e.args) > 1 and e.args[1]) from None
    return _after_ethertype(data, et, off)


@dataclass(frozen=True, slots=True)
class Fragment:
    """One IP fragment as the reassembler needs it."""

    version: int
    key: tuple
    offset: int          # byte offset of this fragment's data
    more: bool
    proto: int           # upper-layer protocol
    src: bytes
    dst: bytes
    data: bytes


def ip(data: bytes, off: int, version: int):
    """Decode an IP header at ``off``.

    Returns ``(src, dst, proto, payload_start, payload_end, None)`` for an
    unfragmented packet, or ``(src, dst, proto, 0, 0, Fragment)`` for a fragment.
    Addresses are raw bytes (4 or 16). Raises :class:`Skip`.
    """
    n = len(data)
    if version == 4:
        if off + 20 > n:
            raise Skip("truncated IPv4 header", True)
        vihl, _tos, total, ident, frag, _ttl, proto, _ck, src, dst = _IPV4.unpack_from(data, off)
        if vihl >> 4 != 4:
            raise Skip("IPv4 header with wrong version", True)
        ihl = (vihl & 15) * 4
        if ihl < 20:
            raise Skip("IPv4 header length under 20", True)
        end = off + total if total else n   # total 0: TSO-captured packets
        if total and total < ihl:
            raise Skip("IPv4 total length shorter than its header", True)
        if end > n:
            end = n  # snap-length cut; the transport layer notices missing bytes
        start = off + ihl
        if start > n:
            raise Skip("truncated IPv4 options", True)
        mf = frag & 0x2000
        foff = (frag & 0x1FFF) * 8
        if mf or foff:
            return src, dst, proto, 0, 0, Fragment(4, (src, dst, proto, ident), foff, bool(mf),
                                                   proto, src, dst, data[start:end])
        return src, dst, proto, start, end, None
    if off + 40 > n:
        raise Skip("truncated IPv6 header", True)
    _vtf, plen, nxt, _hop, src, dst = _IPV6.unpack_from(data, off)
    start = off + 40
    end = start + plen if plen else n   # jumbograms / TSO: take what is there
    if end > n:
        end = n
    pos = start
    for _ in range(16):  # extension header chain, bounded
        if nxt in (0, 43, 60):
            if pos + 2 > end:
                raise Skip("truncated IPv6 extension header", True)
            hlen = (data[pos + 1] + 1) * 8
            nxt = data[pos]
            pos += hlen
            continue
        if nxt == 51:  # AH: length in 4-octet units minus 2
            if pos + 2 > end:
                raise Skip("truncated IPv6 AH header", True)
            hlen = (data[pos + 1] + 2) * 4
            nxt = data[pos]
            pos += hlen
            continue
        if nxt == 44:
            if pos + 8 > end:
                raise Skip("truncated IPv6 fragment header", True)
            fnext = data[pos]
            fo = (data[pos + 2] << 8) | data[pos + 3]
            ident = int.from_bytes(data[pos + 4:pos + 8], "big")
            foff = fo & 0xFFF8
            more = bool(fo & 1)
            if foff == 0 and not more:   # atomic fragment (RFC 6946)
                nxt = fnext
                pos += 8
                continue
            return src, dst, fnext, 0, 0, Fragment(6, (src, dst, ident), foff, more, fnext, src, dst,
                                                   data[pos + 8:end])
        break
    if pos > end:
        raise Skip("IPv6 extension headers run past the packet", True)
    return src, dst, nxt, pos, end, None
