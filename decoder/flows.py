"""Flows: canonical bidirectional connections with roles, counters and a Zeek-style history.

A flow is keyed by both orientations of its 4-tuple (two dict entries pointing
at one object, so a lookup is one hash and tells the direction). Roles:

* TCP: the sender of a SYN without ACK is the originator (client); the receiver
  of a SYN+ACK likewise. Otherwise (the capture started mid-connection) the side
  on a well-known service port is taken as the responder and
  ``roles_guessed`` is set (Zeek's ``^`` flip is recorded in ``history``).
* UDP: when a spec on the flow's ports can tell a reply from a request
  (``DissectorSpec.is_reply``: DNS, SNMP, TFTP), the peer that asked is the
  originator, as Zeek flips such flows (a multicast or broadcast address never
  is); otherwise the first sender is the originator, unless it sends *from* a
  well-known service port to a port that is not one (a reply seen first).

``history`` follows Zeek's letters (conn.log): ``S`` SYN, ``H`` SYN+ACK, ``A``
pure ACK, ``D`` data, ``F`` FIN, ``R`` RST, ``T`` retransmission, ``G`` content
gap, ``^`` roles flipped; upper case for the originator, lower for the
responder, each letter once per direction. ``conn_state`` follows Zeek's codes
(S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH).
"""
from __future__ import annotations

import ipaddress
import socket

from decoder.model import ORIG, RESP, Limits, short_uid
from decoder.tcp import Half

# Ports that mark a server side when the handshake was not captured.
WELL_KNOWN_SERVER_PORTS = frozenset({
    20, 21, 22, 23, 25, 53, 67, 68, 69, 80, 88, 110, 111, 119, 123, 135, 137, 138, 139, 143, 161, 162,
    179, 389, 443, 445, 465, 514, 515, 520, 548, 554, 587, 631, 636, 873, 989, 990, 993, 995, 1080,
    1433, 1521, 1723, 1812, 1813, 1883, 1900, 2049, 2121, 2323, 2525, 3128, 3268, 3306, 3389, 5060,
    5300, 5353, 5355, 5432, 5900, 6379, 8000, 8008, 8080, 8443, 8888, 9200, 11211, 27017,
})


_NO_FLAGS = (False, False)    # a UDP flow's fin/rst (only TCP writes them)
# where a UDP flow's ``n`` keeps each counter: index + direction (ORIG 0, RESP 1); the engine spells them out.
# A TCP flow keeps them in its halves (Half.pkts, seg_bytes, data_bytes): see Flow.counters
N_PKTS, N_IP_BYTES, N_BYTES = 0, 2, 4


def addr_str(raw: bytes) -> str:
    """An address as text: IPv4 dotted, IPv6 as :mod:`ipaddress` writes it (RFC 5952: lower case, the longest
    run of two or more zero groups as "::"). ``inet_ntop`` (C, 25 times faster) writes the same except for
    the IPv4-mapped and -compatible forms, which it ends in dotted IPv4: those go through :mod:`ipaddress`."""
    if len(raw) == 4:
        return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"
    text = socket.inet_ntop(socket.AF_INET6, raw)
    return str(ipaddress.IPv6Address(raw)) if "." in text else text


def group_address(raw: bytes) -> bool:
    """A multicast or limited-broadcast address (IPv4 224/4 and 255.255.255.255, IPv6 ff00::/8): never a
    flow's originator, whatever its first datagram says."""
    if len(raw) == 4:
        return 224 <= raw[0] <= 239 or raw == b"\xff\xff\xff\xff"
    return raw[:1] == b"\xff"


class Flow:
    __slots__ = (
        "uid", "proto", "orig_h", "orig_p", "resp_h", "resp_p", "orig_raw", "resp_raw",
        "first_ts", "last_ts", "first_frame", "last_frame", "n",
        "hist", "halves", "syn", "synack", "fin", "rst", "roles_guessed", "handler",
        "finished", "key0", "key1", "gaps", "expectation", "idle",
    )

    def __init__(self, proto: str, orig: tuple[bytes, int], resp: tuple[bytes, int],
                 ts: float, frame: int, roles_guessed: bool, limits: Limits, capture: int = 0) -> None:
        self.proto = proto
        self.orig_raw, self.orig_p = orig
        self.resp_raw, self.resp_p = resp
        self.orig_h = addr_str(self.orig_raw)
        self.resp_h = addr_str(self.resp_raw)
        # the uid depends on what the flow is and where it starts in the file, not on how many flows came
        # before: a capture split by host pair across processes gets the same uids as a single pass
        self.uid = short_uid("C", proto, self.orig_h, self.orig_p, self.resp_h, self.resp_p, repr(ts), frame,
                             *(("capture", capture) if capture else ()))
        self.first_ts = self.last_ts = ts
        self.first_frame = self.last_frame = frame
        self.hist = ""                   # the history letters so far (a str: smaller than a list)
        self.syn = False
        self.synack = False
        if proto == "tcp":
            self.halves = (Half(limits), Half(limits))
            self.fin = [False, False]
            self.rst = [False, False]
            self.n = None                    # counted in the halves
        else:                                # TCP's flags and halves: one shared, never-written tuple
            self.halves = None
            self.fin = self.rst = _NO_FLAGS
            self.n = [0, 0, 0, 0, 0, 0]      # packets, IP bytes, payload bytes (orig, resp each), see N_*
        self.roles_guessed = roles_guessed
        self.handler = None
        self.finished = False
        self.key0 = self.key1 = b""      # its flow-table keys: as the originator sends, as the responder sends
        self.gaps = 0
        self.expectation = None
        self.idle = None                 # the engine's idle list this flow is in (None once closed)

    def mark(self, direction: int, letter: str) -> None:
        ch = letter if direction == ORIG else letter.lower()
        if ch not in self.hist:
            self.hist += ch

    @property
    def history(self) -> str:
        return self.hist

    def counters(self) -> tuple[int, int, int, int, int, int]:
        """Packets, IP payload bytes (transport header and data), data bytes: originator's then responder's
        each (an open or just closing flow: a closed TCP flow has dropped its halves)."""
        if self.n is not None:
            return tuple(self.n)   # type: ignore[return-value]
        o, r = self.halves
        return o.pkts, r.pkts, o.seg_bytes, r.seg_bytes, o.data_bytes, r.data_bytes

    def conn_state(self) -> str:
        if self.proto != "tcp":
            if self.n[N_PKTS + ORIG] and self.n[N_PKTS + RESP]:
                return "SF"
            return "S0" if self.n[N_PKTS + ORIG] else "SHR"
        fo, fr = self.fin
        ro, rr = self.rst
        if self.syn and not self.synack:
            if rr:
                return "REJ"
            if ro:
                return "RSTOS0"
            if fo:
                return "SH"
            return "S0"
        if self.syn and self.synack:
            if ro:
                return "RSTO"
            if rr:
                return "RSTR"
            if fo and fr:
                return "SF"
            if fo:
                return "S2"
            if fr:
                return "S3"
            return "S1"
        if self.synack:
            if rr:
                return "RSTRH"
            if fr:
                return "SHR"
        return "OTH"

    @property
    def missed_bytes(self) -> int:
        if self.halves is None:
            return 0
        return self.halves[0].missed + self.halves[1].missed
