"""Build packets and capture files for tests (dpkt builds the headers, with real checksums).

``Conn`` plays a TCP connection: ``c.syn()``, ``c.client(b"..")``, ``c.server(b"..")``
return packets with the right sequence numbers; tests reorder, duplicate, drop
or overlap them before writing. Link layers are added by :func:`frame`, files
written by :func:`write_pcap` (pcap, µs or ns, either byte order) and
:func:`write_pcapng` (one interface, with section, interface and packet comments;
:func:`pcapng_shb`, :func:`pcapng_idb` and :func:`pcapng_epb` build other layouts).
"""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import dpkt


def _ip(src: str, dst: str, proto: int, payload: bytes, ident: int = 1):
    if ":" in src:
        ip = dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, src), dst=socket.inet_pton(socket.AF_INET6, dst),
                          nxt=proto, hlim=64, data=payload, plen=len(payload))
        return ip
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, ttl=64, id=ident, data=payload)
    ip.len = 20 + len(payload)
    return ip


def tcp_packet(src: str, sport: int, dst: str, dport: int, seq: int, ack: int, flags: int,
               payload: bytes = b"") -> bytes:
    t = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF, flags=flags,
                     win=65535, data=payload)
    ip = _ip(src, dst, 6, b"")
    t_bytes = bytes(t)
    ip.data = t
    if hasattr(ip, "len"):
        ip.len = 20 + len(t_bytes)
    else:
        ip.plen = len(t_bytes)
    return bytes(ip)


def udp_packet(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    u = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    u.ulen = 8 + len(payload)
    ip = _ip(src, dst, 17, b"")
    ip.data = u
    if hasattr(ip, "len"):
        ip.len = 20 + len(bytes(u))
    else:
        ip.plen = len(bytes(u))
    return bytes(ip)


S, A, F, R, P = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_FIN, dpkt.tcp.TH_RST, dpkt.tcp.TH_PUSH


@dataclass
class Conn:
    """A TCP conversation builder. Sequence numbers advance as data is produced."""

    c: tuple[str, int] = ("10.0.0.1", 40000)
    s: tuple[str, int] = ("10.0.0.2", 80)
    cisn: int = 1000
    sisn: int = 5000
    cseq: int = field(init=False)
    sseq: int = field(init=False)

    def __post_init__(self) -> None:
        self.cseq = self.cisn + 1
        self.sseq = self.sisn + 1

    def handshake(self) -> list[bytes]:
        return [tcp_packet(*self.c, *self.s, self.cisn, 0, S),
                tcp_packet(*self.s, *self.c, self.sisn, self.cisn + 1, S | A),
                tcp_packet(*self.c, *self.s, self.cisn + 1, self.sisn + 1, A)]

    def client(self, data: bytes, flags: int = A | P, advance: bool = True, seq: int | None = None) -> bytes:
        s = self.cseq if seq is None else seq
        p = tcp_packet(*self.c, *self.s, s, self.sseq, flags, data)
        if advance and seq is None:
            self.cseq += len(data)
        return p

    def server(self, data: bytes, flags: int = A | P, advance: bool = True, seq: int | None = None) -> bytes:
        s = self.sseq if seq is None else seq
        p = tcp_packet(*self.s, *self.c, s, self.cseq, flags, data)
        if advance and seq is None:
            self.sseq += len(data)
        return p

    def client_ack(self, ack: int | None = None) -> bytes:
        return tcp_packet(*self.c, *self.s, self.cseq, self.sseq if ack is None else ack, A)

    def server_ack(self, ack: int | None = None) -> bytes:
        return tcp_packet(*self.s, *self.c, self.sseq, self.cseq if ack is None else ack, A)

    def close(self) -> list[bytes]:
        pkts = [tcp_packet(*self.c, *self.s, self.cseq, self.sseq, F | A),
                tcp_packet(*self.s, *self.c, self.sseq, self.cseq + 1, F | A),
                tcp_packet(*self.c, *self.s, self.cseq + 1, self.sseq + 1, A)]
        return pkts


# ----------------------------------------------------------------------------- link layers
def frame(ip: bytes, link: str = "eth") -> tuple[int, bytes]:
    """Wrap an IP packet in a link layer; returns (linktype, frame bytes)."""
    v6 = (ip[0] >> 4) == 6
    et = struct.pack("!H", 0x86DD if v6 else 0x0800)
    mac = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"
    if link == "eth":
        return 1, mac + et + ip
    if link == "vlan":
        return 1, mac + b"\x81\x00\x00\x64" + et + ip
    if link == "qinq":
        return 1, mac + b"\x88\xa8\x00\x0a\x81\x00\x00\x64" + et + ip
    if link == "mpls":
        return 1, mac + b"\x88\x47" + struct.pack("!I", (100 << 12) | (0 << 9) | 64) + \
            struct.pack("!I", (200 << 12) | 0x100 | 64) + ip
    if link == "pppoe":
        proto = b"\x00\x57" if v6 else b"\x00\x21"
        return 1, mac + b"\x88\x64" + b"\x11\x00\x00\x01" + struct.pack("!H", len(ip) + 2) + proto + ip
    if link == "sll":
        return 113, b"\x00\x00\x00\x01\x00\x06" + mac[:6] + b"\x00\x00" + et + ip
    if link == "sll2":
        return 276, et + b"\x00\x00" + b"\x00\x00\x00\x02" + b"\x00\x01\x00\x06" + mac[:6] + b"\x00\x00" + ip
    if link == "null":
        return 0, struct.pack("<I", 30 if v6 else 2) + ip
    if link == "null-be":
        return 0, struct.pack(">I", 30 if v6 else 2) + ip
    if link == "loop":
        return 108, struct.pack(">I", 24 if v6 else 2) + ip
    if link == "raw":
        return 101, ip
    if link == "raw-typed":
        return (229 if v6 else 228), ip
    raise ValueError(link)


def write_pcap(path, packets, link: str = "eth", t0: float = 1_700_000_000.0, step: float = 0.001,
               nano: bool = False, big_endian: bool = False) -> None:
    """Write IP packets (bytes) or (ts, linktype, frame) tuples as a pcap file."""
    frames = []
    lt = None
    for i, p in enumerate(packets):
        if isinstance(p, tuple):
            ts, lt_i, data = p
        else:
            lt_i, data = frame(p, link)
            ts = t0 + i * step
        lt = lt_i if lt is None else lt
        frames.append((ts, data))
    o = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(o + "IHHiIII", magic, 2, 4, 0, 0, 262144, lt if lt is not None else 1)]
    for ts, data in frames:
        sec = int(ts)
        frac = round((ts - sec) * (1e9 if nano else 1e6))
        out.append(struct.pack(o + "IIII", sec, frac, len(data), len(data)) + data)
    with open(path, "wb") as fh:
        fh.write(b"".join(out))


def _block(btype: int, body: bytes, o: str = "<") -> bytes:
    pad = (-len(body)) % 4
    length = 12 + len(body) + pad
    return struct.pack(o + "II", btype, length) + body + b"\x00" * pad + struct.pack(o + "I", length)


def _comments(comments: Sequence[str], o: str) -> bytes:
    """``opt_comment`` options (code 1, UTF-8, padded to 4 bytes)."""
    out = b""
    for c in comments:
        raw = c.encode("utf-8")
        out += struct.pack(o + "HH", 1, len(raw)) + raw + b"\x00" * ((-len(raw)) % 4)
    return out


def _end_options(opts: bytes, o: str) -> bytes:
    return opts + struct.pack(o + "HH", 0, 0) if opts else b""


def pcapng_shb(o: str = "<", comments: Sequence[str] = ()) -> bytes:
    return _block(0x0A0D0D0A, struct.pack(o + "IHHq", 0x1A2B3C4D, 1, 0, -1)
                  + _end_options(_comments(comments, o), o), o)


def pcapng_idb(linktype: int, tsresol: int | None = None, o: str = "<", comments: Sequence[str] = ()) -> bytes:
    opts = _comments(comments, o)
    if tsresol is not None:
        opts += struct.pack(o + "HH", 9, 1) + bytes([tsresol]) + b"\x00\x00\x00"
    return _block(1, struct.pack(o + "HHI", linktype, 0, 262144) + _end_options(opts, o), o)


def pcapng_epb(iface: int, ts_units: int, data: bytes, o: str = "<", comments: Sequence[str] = ()) -> bytes:
    pad = b"\x00" * ((-len(data)) % 4)
    return _block(6, struct.pack(o + "IIIII", iface, ts_units >> 32, ts_units & 0xFFFFFFFF, len(data), len(data))
                  + data + pad + _end_options(_comments(comments, o), o), o)


def write_pcapng(path, packets, t0: float = 1_700_000_000.0, step: float = 0.001, link: str = "eth",
                 capture_comments: Sequence[str] = (), interface_comments: Sequence[str] = (),
                 packet_comments: Mapping[int, Sequence[str]] | None = None) -> None:
    """Write IP packets as a pcapng file (one Ethernet interface, microseconds) with comments:
    the section's, the interface's and ``packet_comments`` by 1-based frame number."""
    packet_comments = packet_comments or {}
    out = [pcapng_shb(comments=capture_comments)]
    lt = None
    blocks = []
    for i, p in enumerate(packets):
        lt_i, data = frame(p, link)
        lt = lt_i if lt is None else lt
        blocks.append(pcapng_epb(0, round((t0 + i * step) * 1e6), data, comments=packet_comments.get(i + 1, ())))
    out.append(pcapng_idb(lt if lt is not None else 1, comments=interface_comments))
    with open(path, "wb") as fh:
        fh.write(b"".join(out + blocks))


def fragments_v4(src: str, dst: str, proto: int, payload: bytes, size: int, ident: int = 77) -> list[bytes]:
    """Split a transport payload into IPv4 fragments of ``size`` bytes (multiple of 8)."""
    out = []
    for off in range(0, len(payload), size):
        part = payload[off:off + size]
        more = off + size < len(payload)
        ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, ttl=64, id=ident, data=part,
                        mf=1 if more else 0, offset=off // 8)
        ip.len = 20 + len(part)
        out.append(bytes(ip))
    return out


def fragments_v6(src: str, dst: str, proto: int, payload: bytes, size: int, ident: int = 99) -> list[bytes]:
    out = []
    for off in range(0, len(payload), size):
        part = payload[off:off + size]
        more = 1 if off + size < len(payload) else 0
        fh = struct.pack("!BBHI", proto, 0, off | more, ident)
        body = fh + part
        hdr = struct.pack("!IHBB", 6 << 28, len(body), 44, 64) + socket.inet_pton(socket.AF_INET6, src) + \
            socket.inet_pton(socket.AF_INET6, dst)
        out.append(hdr + body)
    return out


def udp_bytes(sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP header + payload (checksum 0), for fragment tests."""
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
