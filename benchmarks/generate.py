"""Deterministic generator of a mixed synthetic capture for the benchmarks.

    python -m benchmarks.generate --size 100M -o benchmarks/data/mix-100M.pcap
    python -m benchmarks.generate --size 1G   -o benchmarks/data/mix-1G.pcap
    python -m benchmarks.generate --count-sessions 10000 -o benchmarks/data/sessions-10k.pcap

What it writes: a classic little-endian pcap (microsecond timestamps, Ethernet,
IPv4) with realistic conversations of all nine protocols wiretale decodes:

* SMTP (25 without and 587 with AUTH LOGIN/PLAIN): banner, EHLO with a
  multi-line reply, MAIL/RCPT/DATA with a MIME message (text part and, mostly,
  a base64 attachment), dot-stuffed, QUIT.
* POP3: USER/PASS, STAT, LIST, RETR of one to three messages (dot-stuffed), QUIT.
* IMAP: LOGIN, SELECT with its untagged replies, FETCH BODY[] as literals, LOGOUT.
* FTP: USER/PASS, SYST, TYPE I, passive (227 → a data connection to the
  announced port) and active (PORT → the server connects from port 20 to the
  announced port) data connections for LIST, RETR and STOR, QUIT.
* HTTP/1.1 keep-alive: GET/POST with Content-Length, chunked and gzip bodies,
  images, 304/404 replies, Basic authorisation and a form login.
* Telnet: IAC option negotiation (TTYPE/NAWS/ECHO/SGA with subnegotiation), a
  login typed one character per packet with echo, a few shell commands.
* TFTP: RRQ (and a few WRQ) to port 69, DATA/ACK from a new server port,
  a few "file not found" errors.
* DNS over UDP (A, AAAA, MX, CNAME chains, TXT, NXDOMAIN) and a few over TCP.
* SNMP v2c get-request/get-next-request and their get-responses.

TCP flows have three-way handshakes (MSS/SACK/window-scale options), MSS-sized
segments, delayed ACKs, a share of out-of-order and retransmitted segments
(identical bytes), FIN or, rarely, RST endings. A few hundred conversations are
open at any time and interleave by timestamp, as on a real link; timestamps
only increase. Thousands of client hosts, each with its own ephemeral port
counter, so 4-tuples are never reused.

Speed: frames are built with one ``struct.pack`` per packet (IP checksum
computed incrementally, TCP/UDP checksums left at zero as checksum offloading
does); nothing but the open conversations is held in memory and the file is
written in 1 MB blocks. Everything derives from ``--seed``: the same arguments
give the same bytes.
"""
from __future__ import annotations

import argparse
import base64
import gzip
import heapq
import random
import struct
import sys
import time
from pathlib import Path

M32 = 0xFFFFFFFF
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
BASE_TS = 1_700_000_000.0          # 2023-11-14
MSS = 1460
SYN_OPTS = b"\x02\x04\x05\xb4\x01\x01\x04\x02\x01\x03\x03\x07"   # MSS 1460, SACK-permitted, WS 7

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
REC = struct.Struct("<IIII")
IP_TCP = struct.Struct("!BBHHHBBH4s4sHHIIBBHHH")
IP_UDP = struct.Struct("!BBHHHBBH4s4sHHHH")
GW_MAC = bytes.fromhex("00005e0001fe")


def _fold(s: int) -> int:
    s = (s & 0xFFFF) + (s >> 16)
    return (s & 0xFFFF) + (s >> 16)


def _addr_sum(a: bytes) -> int:
    return ((a[0] << 8) | a[1]) + ((a[2] << 8) | a[3])


# ---------------------------------------------------------------------- vocabulary
WORDS = tuple("""the of and to in is that for it as was with be by on not he this are or his from at
which but have an they you were her she there been one all we their has would when if so no will more
can said who out up about into than them only other time new some could these two may first then do
any like my now over such our man me even most made after also did many before must through back
years where much your way well down should because each just those people how too little state good
very make world still own see men work long get here between both life being under never day same
another know while last might us great old year off come since against go came right used take three
network packet server client protocol message transfer report meeting budget schedule project
invoice quarter review draft update attached please regards thanks summary figures notes""".split())
FIRST = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
         "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin", "zoe")
LAST = ("smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "moore", "taylor", "lee",
        "martin", "clark", "lewis", "walker", "hall", "young", "king", "wright", "scott", "green")
MAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "corp.example", "uni.example.edu",
                "lab.example", "shop.example.com", "news.example.org")
WEB_HOSTS = tuple(f"{a}.{b}" for a in ("www", "static", "api", "cdn", "img", "news", "shop", "docs",
                                       "blog", "wiki")
                  for b in ("example.com", "example.org", "example.net", "test.example", "corp.example"))
DNS_NAMES = WEB_HOSTS + tuple(f"host{i}.lab.example" for i in range(60)) + (
    "mail.example.com", "smtp.example.org", "imap.example.net", "ftp.example.com", "ntp.example.org")
ATTACH_TYPES = (("report-{}.pdf", "application/pdf", b"%PDF-1.7\n"),
                ("photo-{}.jpg", "image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
                ("archive-{}.zip", "application/zip", b"PK\x03\x04"),
                ("sheet-{}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 b"PK\x03\x04"),
                ("notes-{}.txt", "text/plain", b""))
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc_date(ts: float) -> str:
    t = time.gmtime(ts)
    return (f"{DAYS[t.tm_wday]}, {t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}")


# ---------------------------------------------------------------------- packets
class Conv:
    """One conversation (possibly several flows, e.g. FTP control + data): a clock and its frames."""

    __slots__ = ("g", "t", "out", "flows", "kind")

    def __init__(self, g: "Generator", t0: float) -> None:
        self.g = g
        self.t = t0
        self.out: list[tuple[float, bytes]] = []
        self.flows = 0


class _Flow:
    __slots__ = ("conv", "g", "rng", "addr", "ports", "eth", "ttl", "csum0", "ipid", "rtt", "spb")

    def __init__(self, conv: Conv, cli: tuple[bytes, bytes, int], srv: tuple[bytes, int],
                 proto: int, rtt: float | None) -> None:
        g = conv.g
        self.conv, self.g, self.rng = conv, g, g.rng
        cmac, cip, cport = cli
        sip, sport = srv
        conv.flows += 1
        self.addr = ((cip, sip), (sip, cip))
        self.ports = ((cport, sport), (sport, cport))
        self.eth = (GW_MAC + cmac + b"\x08\x00", cmac + GW_MAC + b"\x08\x00")
        sttl = self.rng.choice((52, 54, 57, 116, 121, 243)) if sip[0] != 10 else 64
        self.ttl = (64, sttl)
        addrs = _addr_sum(cip) + _addr_sum(sip)
        self.csum0 = tuple(0x4500 + 0x4000 + ((ttl << 8) | proto) + addrs for ttl in self.ttl)
        self.ipid = [self.rng.getrandbits(16), self.rng.getrandbits(16)]
        self.rtt = rtt if rtt is not None else g.rtt()
        self.spb = 8.0 / self.rng.choice((20e6, 50e6, 100e6, 100e6, 300e6))   # seconds per byte


class Tcp(_Flow):
    """A TCP connection seen near the client: handshake, segmented data with ACKs, FIN/RST."""

    __slots__ = ("seq", "ackno", "win")

    def __init__(self, conv: Conv, cli, srv, rtt: float | None = None) -> None:
        super().__init__(conv, cli, srv, 6, rtt)
        r = self.rng
        self.seq = [r.getrandbits(32), r.getrandbits(32)]     # next sequence number each side sends
        self.ackno = [0, 0]                                   # what each side acknowledges
        self.win = (r.choice((502, 501, 2048, 64240 >> 7)), r.choice((235, 509, 227, 1024)))

    def frame(self, d: int, flags: int, payload: bytes = b"", seq: int | None = None,
              ack: int | None = None, opts: bytes = b"") -> None:
        thl = 20 + len(opts)
        total = 20 + thl + len(payload)
        ident = self.ipid[d]
        self.ipid[d] = (ident + 1) & 0xFFFF
        src, dst = self.addr[d]
        sp, dp = self.ports[d]
        hdr = IP_TCP.pack(0x45, 0, total, ident, 0x4000, self.ttl[d], 6,
                          ~_fold(self.csum0[d] + total + ident) & 0xFFFF, src, dst, sp, dp,
                          self.seq[d] if seq is None else seq,
                          (self.ackno[d] if ack is None else ack) if flags & ACK else 0,
                          thl << 2, flags, 64240 if flags & SYN else self.win[d], 0, 0)
        self.conv.out.append((self.conv.t, self.eth[d] + hdr + opts + payload))

    def open(self) -> "Tcp":
        c = self.conv
        self.frame(0, SYN, opts=SYN_OPTS)
        self.seq[0] = (self.seq[0] + 1) & M32
        self.ackno[1] = self.seq[0]
        c.t += self.rtt
        self.frame(1, SYN | ACK, opts=SYN_OPTS)
        self.seq[1] = (self.seq[1] + 1) & M32
        self.ackno[0] = self.seq[1]
        c.t += 0.00005 + self.rng.random() * 0.0002
        self.frame(0, ACK)
        return self

    def send(self, d: int, data: bytes, gap: float = 0.0) -> None:
        """``d`` sends ``data`` after ``gap`` seconds: MSS segments, receiver ACKs every second one."""
        c, r = self.conv, self.rng
        c.t += gap
        if not data:
            return
        base = self.seq[d]
        n = len(data)
        self.seq[d] = (base + n) & M32
        if n <= MSS:
            self.frame(d, PSH | ACK, data, seq=base)
            c.t += (n + 54) * self.spb
            self.ackno[1 - d] = self.seq[d]
            if r.random() < 0.3:                      # a delayed ACK before the next message
                c.t += 0.0002 + r.random() * 0.01
                self.frame(1 - d, ACK)
            return
        offs = list(range(0, n, MSS))
        k = len(offs)
        order = list(range(k))
        p_ooo, p_rtx = self.g.p_ooo, self.g.p_rtx
        i = 0
        while i < k - 1:
            if r.random() < p_ooo:                    # a segment overtaken by the next one
                order[i], order[i + 1] = order[i + 1], order[i]
                i += 2
            else:
                i += 1
        if p_rtx:
            extra = []
            for pos, idx in enumerate(order):
                if r.random() < p_rtx:                # the same bytes again, a little later
                    extra.append((min(pos + r.randint(1, 4), k), idx))
            for pos, idx in reversed(extra):
                order.insert(pos, idx)
        seen = bytearray(k)
        contiguous = 0
        spb, rtt = self.spb, self.rtt
        window, sent_in_window, since_ack = 10, 0, 0
        other = 1 - d
        for idx in order:
            off = offs[idx]
            chunk = data[off:off + MSS]
            last = idx == k - 1
            self.frame(d, (PSH | ACK) if last else ACK, chunk, seq=(base + off) & M32)
            c.t += (len(chunk) + 54) * spb
            seen[idx] = 1
            while contiguous < k and seen[contiguous]:
                contiguous += 1
            since_ack += 1
            sent_in_window += 1
            if since_ack >= 2 or last:
                since_ack = 0
                acked = base + (offs[contiguous] if contiguous < k else n)
                c.t += 0.00002
                self.frame(other, ACK, ack=acked & M32)
            if sent_in_window >= window:              # wait for the window to open again
                sent_in_window = 0
                window = min(window * 2, 64)
                c.t += rtt
        self.ackno[other] = self.seq[d]

    def c(self, data: bytes, gap: float = 0.0) -> None:
        self.send(0, data, gap)

    def s(self, data: bytes, gap: float | None = None) -> None:
        """The server replies: one RTT plus a little server time after the last client packet."""
        self.send(1, data, self.rtt + self.rng.random() * 0.002 if gap is None else gap)

    def close(self, first: int = 0, gap: float = 0.0) -> None:
        c, r = self.conv, self.rng
        c.t += gap
        if r.random() < self.g.p_rst:
            self.frame(first, RST | ACK)
            return
        other = 1 - first
        self.frame(first, FIN | ACK)
        self.seq[first] = (self.seq[first] + 1) & M32
        self.ackno[other] = self.seq[first]
        c.t += self.rtt / 2 + r.random() * 0.001
        self.frame(other, FIN | ACK)
        self.seq[other] = (self.seq[other] + 1) & M32
        self.ackno[first] = self.seq[other]
        c.t += self.rtt / 2 + 0.00005
        self.frame(first, ACK)


class Udp(_Flow):
    __slots__ = ()

    def __init__(self, conv: Conv, cli, srv, rtt: float | None = None) -> None:
        super().__init__(conv, cli, srv, 17, rtt)

    def send(self, d: int, payload: bytes, gap: float = 0.0) -> None:
        c = self.conv
        c.t += gap
        total = 28 + len(payload)
        ident = self.ipid[d]
        self.ipid[d] = (ident + 1) & 0xFFFF
        src, dst = self.addr[d]
        sp, dp = self.ports[d]
        hdr = IP_UDP.pack(0x45, 0, total, ident, 0x4000, self.ttl[d], 17,
                          ~_fold(self.csum0[d] + total + ident) & 0xFFFF, src, dst, sp, dp, total - 20, 0)
        c.out.append((c.t, self.eth[d] + hdr + payload))
        c.t += (total + 14) * self.spb


# ---------------------------------------------------------------------- DNS and SNMP wire formats
def qname(name: str) -> bytes:
    return b"".join(bytes((len(p),)) + p.encode() for p in name.split(".")) + b"\x00"


def dns_query(qid: int, name: str, qtype: int) -> bytes:
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack("!HH", qtype, 1)


def dns_response(qid: int, name: str, qtype: int, answers: list[tuple[bytes, int, bytes]], rcode: int = 0) -> bytes:
    """``answers``: (owner name wire form, type, rdata); owner b"" means a pointer to the question."""
    body = [struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(answers), 0, 0), qname(name),
            struct.pack("!HH", qtype, 1)]
    for owner, typ, rdata in answers:
        body.append((owner or b"\xc0\x0c") + struct.pack("!HHIH", typ, 1, 300, len(rdata)) + rdata)
    return b"".join(body)


def ber(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    if n < 0x100:
        return bytes((tag, 0x81, n)) + content
    return bytes((tag, 0x82)) + n.to_bytes(2, "big") + content


def ber_int(v: int, tag: int = 0x02) -> bytes:
    return ber(tag, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True))


def ber_oid(oid: str) -> bytes:
    parts = [int(x) for x in oid.split(".")]
    out = bytearray((40 * parts[0] + parts[1],))
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(enc))
    return ber(0x06, bytes(out))


SNMP_VARS = (
    ("1.3.6.1.2.1.1.1.0", lambda g, i: ber(0x04, f"Linux sw{i} 5.15.0-91-generic #101-Ubuntu SMP x86_64".encode())),
    ("1.3.6.1.2.1.1.2.0", lambda g, i: ber_oid("1.3.6.1.4.1.8072.3.2.10")),
    ("1.3.6.1.2.1.1.3.0", lambda g, i: ber_int(g.rng.randrange(1, 1 << 31), 0x43)),
    ("1.3.6.1.2.1.1.4.0", lambda g, i: ber(0x04, b"noc@example.com")),
    ("1.3.6.1.2.1.1.5.0", lambda g, i: ber(0x04, f"sw{i}.lab.example".encode())),
    ("1.3.6.1.2.1.1.6.0", lambda g, i: ber(0x04, b"Server room, rack 4")),
    ("1.3.6.1.2.1.2.1.0", lambda g, i: ber_int(g.rng.randrange(2, 49))),
    ("1.3.6.1.2.1.2.2.1.10.1", lambda g, i: ber_int(g.rng.randrange(0, 1 << 32), 0x41)),
    ("1.3.6.1.2.1.2.2.1.16.1", lambda g, i: ber_int(g.rng.randrange(0, 1 << 32), 0x41)),
)


def snmp_message(community: bytes, pdu_tag: int, reqid: int, binds: list[tuple[str, bytes]]) -> bytes:
    vbl = b"".join(ber(0x30, ber_oid(o) + v) for o, v in binds)
    pdu = ber(pdu_tag, ber_int(reqid) + ber_int(0) + ber_int(0) + ber(0x30, vbl))
    return ber(0x30, ber_int(1) + ber(0x04, community) + pdu)


# ---------------------------------------------------------------------- the generator
class Generator:
    def __init__(self, seed: int = 1, short: bool = False) -> None:
        self.rng = r = random.Random(seed)
        self.short = short
        self.p_ooo, self.p_rtx, self.p_rst = 0.015, 0.01, 0.02
        # content pools: sliced at random offsets, so objects differ without generating each byte
        lines = []
        for _ in range(6000):
            n = r.randint(4, 13)
            line = " ".join(r.choice(WORDS) for _ in range(n))
            lines.append(line[0].upper() + line[1:] + ".")
        self.lines = lines
        text = "\r\n".join(lines * 4).encode() + b"\r\n"
        self.text = text
        self.binary = r.randbytes(6 << 20)
        # hosts: clients in 10.0.0.0/8 with their own port counters; servers by service
        self.clients = [(bytes((2, 0, 0, (i >> 16) & 255, (i >> 8) & 255, i & 255)),
                         bytes((10, 1 + i // 60000, (i // 250) % 240, 1 + i % 250)))
                        for i in range(4000)]
        self.next_port = [r.randrange(32768, 50000) for _ in self.clients]

        def pool(prefix: tuple[int, int], n: int) -> list[bytes]:
            return [bytes((prefix[0], prefix[1], 1 + i // 200, 1 + i % 200)) for i in range(n)]
        self.srv = {
            "web": pool((93, 184), 400), "mail": pool((198, 51), 24), "ftp": pool((203, 0), 12),
            "dns": [bytes((10, 0, 0, 53)), bytes((10, 0, 1, 53)), bytes((192, 0, 2, 53))],
            "lan": [bytes((10, 250, i // 200, 1 + i % 200)) for i in range(120)],
        }
        self.kinds = (
            # name, weight (conversations), builder
            ("dns", 70, self.dns), ("dns_tcp", 0.6, self.dns_tcp), ("snmp", 10, self.snmp),
            ("http", 34, self.http), ("smtp", 5, self.smtp), ("pop3", 3.5, self.pop3),
            ("imap", 3.5, self.imap), ("ftp", 3, self.ftp), ("telnet", 1.2, self.telnet),
            ("tftp", 3, self.tftp),
        )
        self.weights = []
        acc = 0.0
        for _, w, _ in self.kinds:
            acc += w
            self.weights.append(acc)

    # --- helpers
    def rtt(self) -> float:
        r = self.rng.random()
        return 0.0005 + (0.004 * r if r < 0.3 else 0.01 + 0.12 * r * r)

    def client(self) -> tuple[bytes, bytes, int]:
        i = self.rng.randrange(len(self.clients))
        return self.clients[i] + (self.port(i),)

    def port(self, i: int) -> int:
        p = self.next_port[i]
        self.next_port[i] = p + 1 if p < 60999 else 32768
        return p

    def size(self, median: int, spread: float = 1.0, cap: int = 1 << 20) -> int:
        if self.short:
            median //= 20
        return max(16, min(cap, int(self.rng.lognormvariate(0, spread) * median)))

    def text_bytes(self, n: int) -> bytes:
        """About n bytes of CRLF text lines (no line starts with '.')."""
        t = self.text
        start = t.index(b"\r\n", self.rng.randrange(0, len(t) - n - 200)) + 2
        end = t.rfind(b"\r\n", start, start + n) + 2
        return t[start:end] if end > start else t[start:t.index(b"\r\n", start) + 2]

    def binary_bytes(self, n: int, magic: bytes = b"") -> bytes:
        off = self.rng.randrange(0, len(self.binary) - n)
        return magic + self.binary[off:off + n - len(magic)]

    def person(self) -> tuple[str, str]:
        r = self.rng
        f, l = r.choice(FIRST), r.choice(LAST)
        return f"{f.title()} {l.title()}", f"{f}.{l}@{r.choice(MAIL_DOMAINS)}"

    def email(self, ts: float, attach: bool | None = None) -> bytes:
        """An RFC 5322 message with CRLF lines: text/plain alone or multipart/mixed with an attachment."""
        r = self.rng
        (fn, fa), (tn, ta) = self.person(), self.person()
        subject = " ".join(r.choice(WORDS) for _ in range(r.randint(2, 6))).capitalize()
        mid = f"<{r.getrandbits(64):016x}.{r.getrandbits(20)}@{fa.split('@')[1]}>"
        head = (f"Received: from client.{fa.split('@')[1]} ([10.1.2.3]) by mx.{ta.split('@')[1]}\r\n"
                f"\twith ESMTP id {r.getrandbits(40):010X}; {rfc_date(ts)} +0000\r\n"
                f"From: \"{fn}\" <{fa}>\r\nTo: \"{tn}\" <{ta}>\r\nSubject: {subject}\r\n"
                f"Date: {rfc_date(ts)} +0000\r\nMessage-ID: {mid}\r\nMIME-Version: 1.0\r\n")
        body = self.text_bytes(self.size(1500, 0.8, 20000))
        if attach is None:
            attach = r.random() < 0.75
        if not attach:
            return (head + "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 7bit\r\n\r\n").encode() + body
        name, ctype, magic = r.choice(ATTACH_TYPES)
        name = name.format(r.randrange(1000, 9999))
        raw = self.text_bytes(self.size(12000, 0.9, 200000)) if ctype == "text/plain" else \
            self.binary_bytes(self.size(24000, 1.0, 400000), magic)
        b64 = base64.encodebytes(raw).replace(b"\n", b"\r\n")
        bnd = f"=_b{r.getrandbits(48):012x}"
        return b"".join((
            (head + f"Content-Type: multipart/mixed; boundary=\"{bnd}\"\r\n\r\n"
             f"This is a multi-part message in MIME format.\r\n\r\n--{bnd}\r\n"
             "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n").encode(),
            body,
            (f"\r\n--{bnd}\r\nContent-Type: {ctype}; name=\"{name}\"\r\n"
             f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n").encode(),
            b64, f"\r\n--{bnd}--\r\n".encode()))

    # --- conversations
    def conversation(self, t0: float, kind: str | None = None) -> Conv:
        c = Conv(self, t0)
        if kind is None:
            x = self.rng.random() * self.weights[-1]
            for (name, _, build), acc in zip(self.kinds, self.weights):
                if x < acc:
                    break
        else:
            build = {k: b for k, _, b in self.kinds}[kind]
        build(c)
        c.out.sort(key=lambda e: e[0])
        c.kind = build.__name__
        return c

    def dns(self, c: Conv) -> None:
        r = self.rng
        u = Udp(c, self.client(), (r.choice(self.srv["dns"]), 53), rtt=0.0003 + r.random() * 0.03)
        for _ in range(1 if r.random() < 0.8 else 2):                 # sometimes A then AAAA
            qid = r.getrandbits(16)
            q, rr = self.dns_pair(qid)
            u.send(0, q, r.random() * 0.01)
            u.send(1, rr, u.rtt)

    def dns_pair(self, qid: int) -> tuple[bytes, bytes]:
        r = self.rng
        name = r.choice(DNS_NAMES)
        x = r.random()
        if x < 0.05:
            name = f"nx{r.getrandbits(24):x}.{r.choice(MAIL_DOMAINS)}"
            return dns_query(qid, name, 1), dns_response(qid, name, 1, [], rcode=3)
        if x < 0.50:
            qtype = 1
            ans = [(b"", 1, bytes((93, 184, r.randrange(256), r.randrange(1, 255)))) for _ in range(r.randint(1, 3))]
        elif x < 0.70:
            qtype = 28
            ans = [(b"", 28, bytes.fromhex("20010db8") + r.randbytes(12))]
        elif x < 0.85:
            qtype = 1
            target = f"edge{r.randrange(100)}.cdn.example.net"
            ans = [(b"", 5, qname(target)), (qname(target), 1, bytes((93, 184, 1, r.randrange(1, 255))))]
        elif x < 0.95:
            qtype = 15
            dom = r.choice(MAIL_DOMAINS)
            name = dom
            ans = [(b"", 15, struct.pack("!H", 10 * (i + 1)) + qname(f"mx{i}.{dom}")) for i in range(2)]
        else:
            qtype = 16
            txt = b"v=spf1 ip4:198.51.0.0/16 -all"
            ans = [(b"", 16, bytes((len(txt),)) + txt)]
        return dns_query(qid, name, qtype), dns_response(qid, name, qtype, ans)

    def dns_tcp(self, c: Conv) -> None:
        r = self.rng
        t = Tcp(c, self.client(), (r.choice(self.srv["dns"]), 53), rtt=0.0003 + r.random() * 0.02).open()
        for _ in range(r.randint(1, 3)):
            q, rr = self.dns_pair(r.getrandbits(16))
            t.c(len(q).to_bytes(2, "big") + q, 0.0001)
            t.s(len(rr).to_bytes(2, "big") + rr)
        t.close(0, 0.001)

    def snmp(self, c: Conv) -> None:
        r = self.rng
        i = r.randrange(len(self.srv["lan"]))
        u = Udp(c, self.client(), (self.srv["lan"][i], 161), rtt=0.0002 + r.random() * 0.005)
        community = r.choice((b"public", b"public", b"private", b"monitor"))
        for _ in range(r.randint(1, 4)):
            reqid = r.getrandbits(30)
            chosen = r.sample(SNMP_VARS, r.randint(1, 4))
            getnext = r.random() < 0.25
            req = snmp_message(community, 0xA1 if getnext else 0xA0, reqid,
                               [(o, b"\x05\x00") for o, _ in chosen])
            resp = snmp_message(community, 0xA2, reqid, [(o, f(self, i)) for o, f in chosen])
            u.send(0, req, r.random() * 0.5)
            u.send(1, resp, u.rtt)

    def http(self, c: Conv) -> None:
        r = self.rng
        host = r.choice(WEB_HOSTS)
        port = 80 if r.random() < 0.93 else 8080
        t = Tcp(c, self.client(), (r.choice(self.srv["web"]), port)).open()
        ua = r.choice(("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
                       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                       "Chrome/119.0.0.0 Safari/537.36", "curl/8.4.0", "python-requests/2.31.0"))
        n = 1 if self.short else r.choice((1, 1, 2, 3, 4, 6, 8))
        server_closes = r.random() < 0.3
        for k in range(n):
            last = k == n - 1
            extra = ""
            if r.random() < 0.04:
                user = r.choice(FIRST)
                extra = "Authorization: Basic " + base64.b64encode(f"{user}:{user}123!".encode()).decode() + "\r\n"
            x = r.random()
            method, body_req = "GET", b""
            if x < 0.05:
                method = "POST"
                user = r.choice(FIRST)
                body_req = f"username={user}&password=Secret{r.randrange(100)}%21&remember=on".encode()
                path = "/login"
            elif x < 0.09:
                method = "POST"
                body_req = (b'{"query": "' + " ".join(r.choice(WORDS) for _ in range(6)).encode() +
                            b'", "page": ' + str(r.randrange(9)).encode() + b"}")
                path = "/api/v1/search"
            else:
                path = "/" + "/".join(r.choice(WORDS) for _ in range(r.randint(1, 3))) + \
                    r.choice((".html", "/", ".js", ".css", ".jpg", ".png", ".json", ""))
            req = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\n"
                   f"Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.5\r\n"
                   f"{extra}Connection: {'close' if last and server_closes else 'keep-alive'}\r\n")
            if body_req:
                ctype = "application/x-www-form-urlencoded" if path == "/login" else "application/json"
                req += f"Content-Type: {ctype}\r\nContent-Length: {len(body_req)}\r\n"
            t.c(req.encode() + b"\r\n" + body_req, 0.0005 + r.random() * (0.4 if k else 0.001))
            t.s(self.http_response(path, method), t.rtt + r.random() * 0.03)
        if server_closes:
            t.close(1, 0.0005)
        else:
            t.close(0, r.random() * 2.0)

    def http_response(self, path: str, method: str) -> bytes:
        r = self.rng
        date = rfc_date(BASE_TS + self.rng.random() * 1e5) + " GMT"
        head = f"Date: {date}\r\nServer: {r.choice(('nginx/1.24.0', 'Apache/2.4.58 (Debian)', 'lighttpd/1.4.73'))}\r\n"
        x = r.random()
        if path == "/login":
            return (f"HTTP/1.1 302 Found\r\n{head}Location: /home\r\nSet-Cookie: session={r.getrandbits(64):016x}; "
                    "HttpOnly\r\nContent-Length: 0\r\n\r\n").encode()
        if x < 0.06:
            return f"HTTP/1.1 304 Not Modified\r\n{head}ETag: \"{r.getrandbits(32):08x}\"\r\n\r\n".encode()
        if x < 0.10:
            body = b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n"
            return (f"HTTP/1.1 404 Not Found\r\n{head}Content-Type: text/html\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        if path.endswith((".jpg", ".png")):
            magic = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" if path.endswith(".jpg") else b"\x89PNG\r\n\x1a\n"
            body = self.binary_bytes(self.size(20000, 1.0, 600000), magic)
            ctype = "image/jpeg" if path.endswith(".jpg") else "image/png"
            return (f"HTTP/1.1 200 OK\r\n{head}Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                    "Accept-Ranges: bytes\r\n\r\n").encode() + body
        if path.endswith(".json") or path.startswith("/api"):
            items = ",".join(f'{{"id": {r.randrange(10**6)}, "title": "{r.choice(self.lines)}"}}'
                             for _ in range(r.randint(5, 400 if not self.short else 10)))
            body = f'{{"items": [{items}]}}\n'.encode()
            ctype = "application/json"
        else:
            text = self.text_bytes(self.size(14000, 0.9, 300000)).replace(b"\r\n", b"</p>\n<p>")
            body = (b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
                    r.choice(self.lines).encode() + b"</title></head>\n<body><p>" + text + b"</p></body></html>\n")
            ctype = "text/javascript" if path.endswith(".js") else \
                "text/css" if path.endswith(".css") else "text/html; charset=utf-8"
        enc = ""
        if r.random() < 0.45:
            body = gzip.compress(body, compresslevel=6, mtime=0)
            enc = "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
        if r.random() < 0.4:                                  # chunked
            parts, i = [], 0
            while i < len(body):
                n = r.randint(2000, 16384)
                parts.append(b"%x\r\n" % len(body[i:i + n]) + body[i:i + n] + b"\r\n")
                i += n
            parts.append(b"0\r\n\r\n")
            return (f"HTTP/1.1 200 OK\r\n{head}Content-Type: {ctype}\r\n{enc}"
                    "Transfer-Encoding: chunked\r\n\r\n").encode() + b"".join(parts)
        return (f"HTTP/1.1 200 OK\r\n{head}Content-Type: {ctype}\r\n{enc}"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    def smtp(self, c: Conv) -> None:
        r = self.rng
        submission = r.random() < 0.5
        srv = r.choice(self.srv["mail"])
        t = Tcp(c, self.client(), (srv, 587 if submission else 25)).open()
        mx = f"mx{srv[3]}.{r.choice(MAIL_DOMAINS)}"
        t.s(f"220 {mx} ESMTP Postfix (Debian/GNU)\r\n".encode(), t.rtt + 0.002)
        t.c(f"EHLO client{r.randrange(999)}.example.org\r\n".encode(), 0.001)
        t.s(f"250-{mx}\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-AUTH PLAIN LOGIN\r\n"
            "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".encode())
        name, addr = self.person()
        if submission:
            user = addr.split("@")[0]
            pw = f"{user.split('.')[0].title()}!{r.randrange(1000)}"
            if r.random() < 0.5:
                t.c(b"AUTH LOGIN\r\n", 0.001)
                t.s(b"334 VXNlcm5hbWU6\r\n")
                t.c(base64.b64encode(user.encode()) + b"\r\n", 0.001)
                t.s(b"334 UGFzc3dvcmQ6\r\n")
                t.c(base64.b64encode(pw.encode()) + b"\r\n", 0.001)
            else:
                t.c(b"AUTH PLAIN " + base64.b64encode(f"\0{user}\0{pw}".encode()) + b"\r\n", 0.001)
            if r.random() < 0.05:
                t.s(b"535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6\r\n")
                t.c(b"QUIT\r\n", 0.001)
                t.s(b"221 2.0.0 Bye\r\n")
                t.close(1, 0.0005)
                return
            t.s(b"235 2.7.0 Authentication successful\r\n")
        for _ in range(1 if r.random() < 0.85 else 2):
            msg = self.email(BASE_TS + c.t)
            rcpts = [self.person()[1] for _ in range(r.randint(1, 3))]
            t.c(f"MAIL FROM:<{addr}> SIZE={len(msg)}\r\n".encode(), 0.001)
            t.s(b"250 2.1.0 Ok\r\n")
            for rc in rcpts:
                t.c(f"RCPT TO:<{rc}>\r\n".encode(), 0.0005)
                t.s(b"250 2.1.5 Ok\r\n")
            t.c(b"DATA\r\n", 0.0005)
            t.s(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            t.c(msg.replace(b"\r\n.", b"\r\n..") + b".\r\n", 0.0005)
            t.s(f"250 2.0.0 Ok: queued as {r.getrandbits(40):010X}\r\n".encode(), t.rtt + 0.01)
        t.c(b"QUIT\r\n", 0.001)
        t.s(b"221 2.0.0 Bye\r\n")
        t.close(1, 0.0005)

    def pop3(self, c: Conv) -> None:
        r = self.rng
        t = Tcp(c, self.client(), (r.choice(self.srv["mail"]), 110)).open()
        t.s(b"+OK Dovecot ready.\r\n", t.rtt + 0.002)
        user = r.choice(FIRST) + str(r.randrange(100))
        t.c(f"USER {user}\r\n".encode(), 0.001)
        t.s(b"+OK\r\n")
        t.c(f"PASS {user.title()}#pw{r.randrange(1000)}\r\n".encode(), 0.001)
        if r.random() < 0.05:
            t.s(b"-ERR [AUTH] Authentication failed.\r\n", t.rtt + 0.5)
            t.c(b"QUIT\r\n", 0.001)
            t.s(b"+OK Logging out\r\n")
            t.close(1, 0.0005)
            return
        t.s(b"+OK Logged in.\r\n", t.rtt + 0.01)
        msgs = [self.email(BASE_TS + c.t - 3600 * k) for k in range(r.randint(1, 3))]
        t.c(b"STAT\r\n", 0.001)
        t.s(f"+OK {len(msgs)} {sum(map(len, msgs))}\r\n".encode())
        t.c(b"LIST\r\n", 0.001)
        t.s(f"+OK {len(msgs)} messages:\r\n".encode() +
            b"".join(f"{i + 1} {len(m)}\r\n".encode() for i, m in enumerate(msgs)) + b".\r\n")
        for i, m in enumerate(msgs):
            t.c(f"RETR {i + 1}\r\n".encode(), 0.001)
            t.s(f"+OK {len(m)} octets\r\n".encode() + m.replace(b"\r\n.", b"\r\n..") + b".\r\n")
            if r.random() < 0.5:
                t.c(f"DELE {i + 1}\r\n".encode(), 0.001)
                t.s(b"+OK Marked to be deleted.\r\n")
        t.c(b"QUIT\r\n", 0.001)
        t.s(b"+OK Logging out.\r\n")
        t.close(1, 0.0005)

    def imap(self, c: Conv) -> None:
        r = self.rng
        t = Tcp(c, self.client(), (r.choice(self.srv["mail"]), 143)).open()
        t.s(b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] "
            b"Dovecot ready.\r\n", t.rtt + 0.002)
        user = r.choice(FIRST) + "@" + r.choice(MAIL_DOMAINS)
        t.c(f"a1 LOGIN {user} \"Pw{r.randrange(10**6)}\"\r\n".encode(), 0.001)
        t.s(b"a1 OK [CAPABILITY IMAP4rev1 SORT THREAD MOVE] Logged in\r\n", t.rtt + 0.01)
        msgs = [self.email(BASE_TS + c.t - 7200 * k) for k in range(r.randint(1, 3))]
        t.c(b"a2 SELECT INBOX\r\n", 0.001)
        t.s(f"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
            f"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.\r\n"
            f"* {len(msgs)} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY {r.getrandbits(31)}] UIDs valid\r\n"
            f"* OK [UIDNEXT {len(msgs) + 1}] Predicted next UID\r\n"
            "a2 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n".encode())
        t.c(f"a3 FETCH 1:{len(msgs)} (FLAGS RFC822.SIZE)\r\n".encode(), 0.001)
        t.s(b"".join(f"* {i + 1} FETCH (FLAGS (\\Seen) RFC822.SIZE {len(m)})\r\n".encode()
                     for i, m in enumerate(msgs)) + b"a3 OK Fetch completed.\r\n")
        for i, m in enumerate(msgs):
            tag = f"a{4 + i}"
            t.c(f"{tag} FETCH {i + 1} BODY[]\r\n".encode(), 0.001)
            t.s(f"* {i + 1} FETCH (FLAGS (\\Seen) BODY[] {{{len(m)}}}\r\n".encode() + m +
                f")\r\n{tag} OK Fetch completed.\r\n".encode())
        t.c(b"a9 LOGOUT\r\n", 0.001)
        t.s(b"* BYE Logging out\r\na9 OK Logout completed.\r\n")
        t.close(1, 0.0005)

    def ftp(self, c: Conv) -> None:
        r = self.rng
        ci = self.rng.randrange(len(self.clients))
        cmac, cip = self.clients[ci]
        cport = self.port(ci)
        srv = r.choice(self.srv["ftp"])
        ctl = Tcp(c, (cmac, cip, cport), (srv, 21)).open()
        ctl.s(b"220 (vsFTPd 3.0.3)\r\n", ctl.rtt + 0.002)
        anon = r.random() < 0.4
        user = "anonymous" if anon else r.choice(FIRST)
        ctl.c(f"USER {user}\r\n".encode(), 0.5 * r.random())
        ctl.s(b"331 Please specify the password.\r\n")
        ctl.c(f"PASS {'guest@example.com' if anon else user + '-ftp' + str(r.randrange(100))}\r\n".encode(),
              0.5 * r.random())
        ctl.s(b"230 Login successful.\r\n", ctl.rtt + 0.02)
        ctl.c(b"SYST\r\n", 0.01)
        ctl.s(b"215 UNIX Type: L8\r\n")
        ctl.c(b"TYPE I\r\n", 0.01)
        ctl.s(b"200 Switching to Binary mode.\r\n")
        ops = ["LIST"] + [r.choice(("RETR", "RETR", "STOR")) for _ in range(r.randint(1, 3 if not self.short else 1))]
        for op in ops:
            passive = r.random() < 0.7
            if passive:
                dport = r.randrange(30000, 31000)
                ctl.c(b"PASV\r\n", 0.05 * r.random())
                h = ",".join(str(b) for b in srv)
                ctl.s(f"227 Entering Passive Mode ({h},{dport >> 8},{dport & 255}).\r\n".encode())
                data = Tcp(c, (cmac, cip, self.port(ci)), (srv, dport), rtt=ctl.rtt).open()
                dsrv = 1                                 # the server end of the data flow is index 1
            else:
                dport = self.port(ci)
                h = ",".join(str(b) for b in cip)
                ctl.c(f"PORT {h},{dport >> 8},{dport & 255}\r\n".encode(), 0.05 * r.random())
                ctl.s(b"200 PORT command successful. Consider using PASV.\r\n")
                data = None
                dsrv = 0                                 # active: the FTP server opens from port 20
            if op == "LIST":
                files = [f"{r.choice(WORDS)}-{r.randrange(100)}.{r.choice(('tar.gz', 'iso', 'txt', 'pdf'))}"
                         for _ in range(r.randint(3, 40))]
                payload = "".join(f"-rw-r--r--    1 1000     1000     {r.randrange(10**7):>8} Nov 1{r.randrange(10)} "
                                  f"12:{r.randrange(60):02d} {f}\r\n" for f in files).encode()
                name = ""
            elif op == "RETR":
                name = f"{r.choice(WORDS)}-{r.randrange(1000)}.{r.choice(('bin', 'tar.gz', 'pdf', 'iso'))}"
                payload = self.binary_bytes(self.size(60000, 1.1, 3 << 20))
            else:
                name = f"upload-{r.randrange(10000)}.dat"
                payload = self.binary_bytes(self.size(40000, 1.0, 2 << 20))
            ctl.c(f"{op} {name}\r\n".encode() if name else b"LIST\r\n", 0.01)
            if data is None:                             # active: the server connects back now
                data = Tcp(c, (self.srv_mac(srv), srv, 20), (cip, dport), rtt=ctl.rtt)
                data.open()
            if op == "STOR":
                ctl.s(b"150 Ok to send data.\r\n")
                data.send(1 - dsrv, payload, 0.001)
                data.close(1 - dsrv, 0.0005)
                ctl.s(b"226 Transfer complete.\r\n", ctl.rtt + 0.005)
            else:
                msg = ("150 Here comes the directory listing.\r\n" if op == "LIST" else
                       f"150 Opening BINARY mode data connection for {name} ({len(payload)} bytes).\r\n")
                ctl.s(msg.encode())
                data.send(dsrv, payload, 0.001)
                data.close(dsrv, 0.0005)
                ctl.s(b"226 Directory send OK.\r\n" if op == "LIST" else b"226 Transfer complete.\r\n",
                      ctl.rtt / 2 + 0.001)
        ctl.c(b"QUIT\r\n", 0.2 * r.random())
        ctl.s(b"221 Goodbye.\r\n")
        ctl.close(1, 0.0005)

    def srv_mac(self, ip: bytes) -> bytes:
        return bytes((2, 0x53, 0x52, ip[1], ip[2], ip[3]))

    def telnet(self, c: Conv) -> None:
        r = self.rng
        t = Tcp(c, self.client(), (r.choice(self.srv["lan"]), 23)).open()
        IAC, DO, WILL, SB, SE = 255, 253, 251, 250, 240
        t.s(bytes((IAC, DO, 24, IAC, DO, 32, IAC, DO, 31, IAC, DO, 39)), t.rtt + 0.01)
        t.c(bytes((IAC, WILL, 24, IAC, 252, 32, IAC, WILL, 31, IAC, 252, 39)), 0.001)
        t.c(bytes((IAC, SB, 31, 0, 80, 0, 24, IAC, SE)), 0.0001)
        t.s(bytes((IAC, SB, 24, 1, IAC, SE)))
        t.c(bytes((IAC, SB, 24, 0)) + b"XTERM-256COLOR" + bytes((IAC, SE)), 0.001)
        t.s(bytes((IAC, WILL, 3, IAC, DO, 1, IAC, DO, 3, IAC, WILL, 5, IAC, WILL, 1)))
        t.c(bytes((IAC, DO, 3, IAC, WILL, 1, IAC, DO, 1)), 0.001)
        host = f"sw{r.randrange(100)}"
        t.s(f"Ubuntu 22.04.3 LTS\r\n{host} login: ".encode(), t.rtt + 0.05)

        def typed(text: str, echo: bool) -> None:
            for ch in text:
                t.c(ch.encode(), 0.08 + r.random() * 0.2)
                if echo:
                    t.s(ch.encode(), t.rtt + 0.0002)
            t.c(b"\r\n", 0.1 + r.random() * 0.2)
            if echo:
                t.s(b"\r\n", t.rtt + 0.0002)

        user = r.choice(FIRST)
        typed(user, True)
        t.s(b"Password: ", 0.001)
        typed(f"{user}{r.randrange(100)}!", False)
        prompt = f"{user}@{host}:~$ ".encode()
        t.s(b"\r\nWelcome to Ubuntu 22.04.3 LTS (GNU/Linux 5.15.0-91-generic x86_64)\r\n\r\n"
            b"Last login: " + rfc_date(BASE_TS + c.t - 86400).encode() + b" from 10.1.0.9\r\n" + prompt,
            t.rtt + 0.3)
        cmds = r.sample(("ls -l", "uname -a", "id", "uptime", "cat /etc/motd", "df -h", "ps"), r.randint(1, 3))
        for cmd in cmds:
            typed(cmd, True)
            out = self.text_bytes(self.size(900, 0.8, 8000)) if not self.short else b"ok\r\n"
            t.s(out + prompt, t.rtt + 0.01)
        typed("exit", True)
        t.s(b"logout\r\n", t.rtt + 0.01)
        t.close(1, 0.001)

    def tftp(self, c: Conv) -> None:
        r = self.rng
        srv = r.choice(self.srv["lan"])
        cli = self.client()
        rtt = 0.0003 + r.random() * 0.005
        req = Udp(c, cli, (srv, 69), rtt=rtt)
        write = r.random() < 0.2
        name = f"{r.choice(('pxelinux.0', 'config/sw', 'firmware/ap', 'boot/kernel'))}{r.randrange(100)}" \
               f".{r.choice(('cfg', 'bin', 'img'))}"
        req.send(0, struct.pack("!H", 2 if write else 1) + name.encode() + b"\0octet\0", 0.001)
        xfer = Udp(c, cli, (srv, r.randrange(49152, 65535)), rtt=rtt)
        if not write and r.random() < 0.06:
            xfer.send(1, b"\x00\x05\x00\x01File not found\x00", rtt)
            return
        payload = self.binary_bytes(self.size(20000, 1.0, 1 << 20)) if r.random() < 0.6 else \
            self.text_bytes(self.size(6000, 1.0, 200000))
        snd = 0 if write else 1
        if write:
            xfer.send(1, b"\x00\x04\x00\x00", rtt)
        blocks = [payload[i:i + 512] for i in range(0, len(payload) + 1, 512)]
        for n, blk in enumerate(blocks, 1):
            xfer.send(snd, struct.pack("!HH", 3, n & 0xFFFF) + blk, rtt / 2)
            xfer.send(1 - snd, struct.pack("!HH", 4, n & 0xFFFF), rtt / 2)


# ---------------------------------------------------------------------- writing
def parse_size(s: str) -> int:
    s = s.strip().upper().removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:], 1)
    return int(float(s.rstrip("KMG")) * mult)


def generate(out: str | Path, size: int | None = None, sessions: int | None = None, seed: int = 1,
             concurrency: int = 300, progress: bool = False) -> dict:
    """Write the capture; return its facts (bytes, packets, conversations, flows, seconds)."""
    if (size is None) == (sessions is None):
        raise ValueError("give exactly one of size and sessions")
    g = Generator(seed, short=sessions is not None)
    rng = g.rng
    heap: list = []
    written = len(PCAP_HEADER)
    pending = 0
    packets = convs = flows = 0
    kinds: dict[str, int] = {}
    now = next_start = 0.0
    start_gap = 0.002
    buf: list[bytes] = []
    buffered = 0
    t_start = time.perf_counter()
    next_report = 64 << 20
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        f.write(PCAP_HEADER)
        while True:
            while len(heap) < concurrency:
                if size is not None and written + pending >= size:
                    break
                if sessions is not None and flows >= sessions:
                    break
                next_start = max(next_start, now) + rng.expovariate(1.0 / start_gap)
                kind = None
                if sessions is not None and sessions - flows < 4:
                    kind = "dns"                          # exactly N flows: single-flow conversations last
                c = g.conversation(next_start, kind)
                convs += 1
                flows += c.flows
                pkts = c.out
                nbytes = sum(len(fr) for _, fr in pkts) + 16 * len(pkts)
                pending += nbytes
                k = kinds.setdefault(c.kind, [0, 0, 0])
                k[0] += 1
                k[1] += c.flows
                k[2] += nbytes
                heapq.heappush(heap, (pkts[0][0], convs, 0, pkts))
            if not heap:
                break
            t, cid, i, pkts = heapq.heappop(heap)
            now = t
            fr = pkts[i][1]
            us = int((BASE_TS + t) * 1e6)
            n = len(fr)
            buf.append(REC.pack(us // 1_000_000, us % 1_000_000, n, n))
            buf.append(fr)
            buffered += n + 16
            pending -= n + 16
            written += n + 16
            packets += 1
            i += 1
            if i < len(pkts):
                heapq.heappush(heap, (pkts[i][0], cid, i, pkts))
            if buffered >= 1 << 20:
                f.write(b"".join(buf))
                buf.clear()
                buffered = 0
                if progress and written >= next_report:
                    next_report += 64 << 20
                    el = time.perf_counter() - t_start
                    print(f"  {written >> 20} MB, {packets} packets, {flows} flows, {el:.0f} s",
                          file=sys.stderr)
        f.write(b"".join(buf))
    return {"file": str(out), "bytes": written, "packets": packets, "conversations": convs,
            "flows": flows, "seed": seed, "seconds": round(time.perf_counter() - t_start, 2),
            "capture_seconds": round(now, 3),
            "kinds": {k: {"conversations": v[0], "flows": v[1], "bytes": v[2]} for k, v in sorted(kinds.items())}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n")[0])
    grp = ap.add_mutually_exclusive_group(required=True)
    grp.add_argument("--size", help="target file size, e.g. 100M or 1G")
    grp.add_argument("--count-sessions", type=int, metavar="N", help="N short sessions (flows) instead")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=300, help="conversations open at once (default 300)")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)
    facts = generate(a.output, size=parse_size(a.size) if a.size else None, sessions=a.count_sessions,
                     seed=a.seed, concurrency=a.concurrency, progress=not a.quiet)
    if not a.quiet:
        kinds = facts.pop("kinds")
        print(", ".join(f"{k}={v}" for k, v in facts.items()))
        for k, v in kinds.items():
            print(f"  {k:8} {v['conversations']:7} conversations {v['flows']:7} flows {v['bytes'] / 1e6:9.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
