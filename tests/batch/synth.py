"""A synthetic multi-host capture for the split-by-host-pair tests (built with tests/builders.py).

Fourteen host pairs, their conversations interleaved frame by frame: HTTP with a
body, passive FTP (control, PASV, a data connection carrying a file), TFTP (a
read request to port 69 answered from a new port; one sent twice and answered
from two ports), DNS over UDP, a DNS query in
IPv4 fragments, IPv6 HTTP, ARP frames (no IP: worker 0), then a second phase
2000 s later (UDP flows idle past their timeout, finished TCP flows past their
linger, the same 4-tuples reused) and a third at +5000 s (an open TCP flow
resumed after the TCP idle timeout).
"""
from __future__ import annotations

import dpkt

from tests.builders import A, F, Conn, fragments_v4, frame, tcp_packet, udp_bytes, udp_packet, write_pcap

T0 = 1_700_000_000.0


def _http(c: Conn, i: int) -> list[bytes]:
    body = (f"file {i} ".encode() * (20 + i))[: 100 + 13 * i]
    return c.handshake() + [
        c.client(f"GET /f{i}.txt HTTP/1.1\r\nHost: host{i}.example\r\nUser-Agent: synth\r\n\r\n".encode()),
        c.server_ack(),
        c.server(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                 + body),
        c.client_ack(),
    ] + c.close()


def _ftp(i: int) -> list[bytes]:
    cli, srv = f"10.1.{i}.10", f"10.2.{i}.20"
    c = Conn((cli, 41000 + i), (srv, 21), cisn=100 * i, sisn=7000 + i)
    dport = 50000 + i
    d = Conn((cli, 42000 + i), (srv, dport), cisn=900 + i, sisn=9900 + i)
    h = ",".join(srv.split("."))
    data = bytes(range(256)) * (2 + i % 3)
    out = c.handshake() + [c.server(b"220 synth FTP\r\n"), c.client(f"USER user{i}\r\n".encode()),
                           c.server(b"331 need password\r\n"), c.client(b"PASS secret\r\n"),
                           c.server(b"230 logged in\r\n"), c.client(b"TYPE I\r\n"), c.server(b"200 ok\r\n"),
                           c.client(b"PASV\r\n"),
                           c.server(f"227 Entering Passive Mode ({h},{dport >> 8},{dport & 255})\r\n".encode()),
                           c.client(f"RETR data{i}.bin\r\n".encode())]
    out += d.handshake()
    out += [c.server(b"150 opening\r\n"), d.server(data[:700]), d.client_ack(), d.server(data[700:]),
            d.client_ack()]
    out += [tcp_packet(*d.s, *d.c, d.sseq, d.cseq, F | A), tcp_packet(*d.c, *d.s, d.cseq, d.sseq + 1, F | A),
            tcp_packet(*d.s, *d.c, d.sseq + 1, d.cseq + 1, A)]
    out += [c.server(b"226 done\r\n"), c.client(b"QUIT\r\n"), c.server(b"221 bye\r\n")] + c.close()
    return out


def _tftp(i: int) -> list[bytes]:
    cli, srv = f"10.3.{i}.5", f"10.4.{i}.6"
    body = b"T" * (100 + i)
    return [udp_packet(cli, 3000 + i, srv, 69, b"\x00\x01" + f"boot{i}.cfg".encode() + b"\x00octet\x00"),
            udp_packet(srv, 6000 + i, cli, 3000 + i, b"\x00\x03\x00\x01" + body),
            udp_packet(cli, 3000 + i, srv, 6000 + i, b"\x00\x04\x00\x01")]


def _tftp_answered_twice() -> list[bytes]:
    """A read request sent twice and answered from two server ports, the answer that starts first ending
    last: one request row, whose transfer is the first answer's flow (the expectation is used up by it)."""
    cli, srv = "10.3.9.5", "10.4.9.6"
    rrq = udp_packet(cli, 3100, srv, 69, b"\x00\x01boot-twice.cfg\x00octet\x00")
    return [rrq, rrq,
            udp_packet(srv, 6100, cli, 3100, b"\x00\x03\x00\x01" + b"A" * 512),
            udp_packet(srv, 6101, cli, 3100, b"\x00\x03\x00\x01" + b"B" * 100),
            udp_packet(cli, 3100, srv, 6101, b"\x00\x04\x00\x01"),
            udp_packet(cli, 3100, srv, 6100, b"\x00\x04\x00\x01"),
            udp_packet(srv, 6100, cli, 3100, b"\x00\x03\x00\x02" + b"A" * 50),
            udp_packet(cli, 3100, srv, 6100, b"\x00\x04\x00\x02")]


def _dns_msgs(i: int) -> tuple[bytes, bytes]:
    q = dpkt.dns.DNS(id=0x1000 + i, qd=[dpkt.dns.DNS.Q(name=f"n{i}.example.org", type=1, cls=1)])
    r = dpkt.dns.DNS(id=0x1000 + i, qr=1, op=0x0100, rcode=0, qd=list(q.qd),
                     an=[dpkt.dns.DNS.RR(name=f"n{i}.example.org", type=1, cls=1, ttl=60,
                                         rdata=bytes([192, 0, 2, i]))])
    return bytes(q), bytes(r)


def _dns(i: int, sport: int) -> list[bytes]:
    cli, srv = f"10.5.{i}.7", f"10.6.{i % 3}.53"
    q, r = _dns_msgs(i)
    return [udp_packet(cli, sport, srv, 53, q), udp_packet(srv, 53, cli, sport, r)]


def _dns_fragmented(i: int) -> list[bytes]:
    cli, srv = f"10.7.{i}.8", f"10.8.{i}.53"
    q, r = _dns_msgs(40 + i)
    big = r + b""
    return [udp_packet(cli, 5353 + i, srv, 53, q)] + fragments_v4(srv, cli, 17, udp_bytes(53, 5353 + i, big), 24,
                                                                    ident=300 + i)


def _arp() -> tuple[int, bytes]:
    mac = b"\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x09"
    return 1, mac + b"\x08\x06" + bytes(28)


def _interleave(streams: list[list[bytes]]) -> list[bytes]:
    out: list[bytes] = []
    streams = [list(s) for s in streams if s]
    while streams:
        for s in streams:
            out.append(s.pop(0))
        streams = [s for s in streams if s]
    return out


def build(path) -> int:
    """Write the capture; returns the number of frames."""
    frames: list[tuple[float, int, bytes]] = []

    def phase(t: float, streams: list[list[bytes]], arp_every: int = 25) -> None:
        for k, ip in enumerate(_interleave(streams)):
            if k % arp_every == 0:
                lt, data = _arp()
                frames.append((t + k * 0.001, lt, data))
            lt, data = frame(ip)
            frames.append((t + k * 0.001 + 0.0005, lt, data))

    open_conns = [Conn((f"10.9.{i}.1", 43000 + i), (f"10.10.{i}.2", 8080), cisn=11 * i, sisn=22 * i)
                  for i in range(3)]
    streams: list[list[bytes]] = []
    for i in range(4):
        streams.append(_http(Conn((f"10.0.{i}.1", 40000 + i), (f"10.0.{i}.2", 80), cisn=1000 + i, sisn=5000 + i), i))
    for i in range(3):
        streams.append(_ftp(i))
        streams.append(_tftp(i))
        streams.append(_dns(i, 33000 + i))
        streams.append(_dns_fragmented(i))
    streams.append(_tftp_answered_twice())
    streams.append(_http(Conn(("2001:db8::1", 40100), ("2001:db8::2", 80), cisn=77, sisn=88), 9))
    for c in open_conns:   # never closed: resumed in phase 3
        streams.append(c.handshake() + [c.client(b"GET /open HTTP/1.1\r\nHost: x\r\n\r\n")])
    phase(T0, streams)
    # phase 2: same 4-tuples again after the UDP idle timeout and the TCP linger
    streams = [_dns(i, 33000 + i) for i in range(3)]
    streams += [_http(Conn((f"10.0.{i}.1", 40000 + i), (f"10.0.{i}.2", 80), cisn=3000 + i, sisn=8000 + i), i + 20)
                for i in range(4)]
    streams += [_tftp(i) for i in range(2)]
    phase(T0 + 2000, streams)
    # phase 3: the open flows resume after the TCP idle timeout
    streams = [[c.server(b"HTTP/1.1 204 No Content\r\n\r\n"), c.client_ack()] + c.close() for c in open_conns]
    streams.append(_dns(7, 33007))
    phase(T0 + 5600, streams)
    write_pcap(path, frames)
    return len(frames)
