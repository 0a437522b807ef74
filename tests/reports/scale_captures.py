"""Captures for the report's scale tests and benchmarks (issue 22), built with tests/builders.

* :func:`write_scan`: one host probes ``hosts`` hosts on ``ports`` ports each (SYN, answered by
  RST-ACK: every connection rejected), plus one DNS exchange and one HTTP exchange.
* :func:`write_many`: ``n`` DNS exchanges, each its own session (client port and query differ),
  for an index of thousands of sessions.
* :func:`write_flood`: ``n`` SYNs from ``n`` different (spoofed) addresses to one web server, none
  answered.
* :func:`write_pipelined`: ``n`` HTTP/1.1 requests and responses on one connection.

Packets are written as they are made (one frame in memory at a time), so the benchmark can ask
for hundreds of thousands.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterator

import dpkt

from tests.builders import A, Conn, R, S, frame, tcp_packet, udp_packet

SCANNER = "192.0.2.66"
CLIENT = "198.51.100.7"
DNS_SERVER = "198.51.100.53"
WEB = "203.0.113.80"


def _dns(qid: int, name: str, answer: str | None) -> bytes:
    d = dpkt.dns.DNS(id=qid, op=dpkt.dns.DNS_RD | (dpkt.dns.DNS_QR if answer else 0), rcode=0)
    d.qd = [dpkt.dns.DNS.Q(name=name, type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN)]
    if answer:
        d.an = [dpkt.dns.DNS.RR(name=name, type=dpkt.dns.DNS_A, cls=dpkt.dns.DNS_IN, ttl=60,
                                rdata=bytes(int(x) for x in answer.split(".")))]
    return bytes(d)


def _write(path: Path, packets: Iterator[bytes], t0: float = 1_700_000_000.0, step: float = 0.0001) -> int:
    n = 0
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i, ip in enumerate(packets):
            _, data = frame(ip)
            ts = t0 + i * step
            sec = int(ts)
            fh.write(struct.pack("<IIII", sec, round((ts - sec) * 1e6), len(data), len(data)) + data)
            n += 1
    return n


def _dns_exchange(client_port: int, name: str, answer: str, qid: int) -> list[bytes]:
    return [udp_packet(CLIENT, client_port, DNS_SERVER, 53, _dns(qid, name, None)),
            udp_packet(DNS_SERVER, 53, CLIENT, client_port, _dns(qid, name, answer))]


def _http_exchange() -> list[bytes]:
    c = Conn(c=(CLIENT, 41000), s=(WEB, 80))
    pk = c.handshake()
    pk.append(c.client(b"GET /scan-report.html HTTP/1.1\r\nHost: www.example.test\r\n\r\n"))
    body = b"<html>scan me</html>"
    pk.append(c.server(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body)
                       + body))
    pk.extend(c.close())
    return pk


def scan_packets(hosts: int = 3, ports: int = 7000) -> Iterator[bytes]:
    yield from _dns_exchange(53000, "www.example.test", WEB, 0x5CA1)
    yield from _http_exchange()
    for i in range(ports):
        for h in range(hosts):
            dst, dport, sport = f"203.0.113.{10 + h}", 1 + i, 20000 + (i * hosts + h) % 40000
            yield tcp_packet(SCANNER, sport, dst, dport, 1000 + i, 0, S)
            yield tcp_packet(dst, dport, SCANNER, sport, 0, 1001 + i, R | A)


def write_scan(path: Path, hosts: int = 3, ports: int = 7000) -> int:
    """The scan capture; returns the number of packets."""
    return _write(path, scan_packets(hosts, ports))


def write_many(path: Path, n: int = 3200) -> int:
    """``n`` DNS sessions: ``host-<i>.example.test`` asked from client port 10000+i."""
    def packets() -> Iterator[bytes]:
        for i in range(n):
            yield from _dns_exchange(10000 + i, f"host-{i}.example.test", f"192.0.2.{i % 250 + 1}", i & 0xFFFF)
    return _write(path, packets(), step=0.01)



def write_flood(path: Path, n: int = 500_000) -> int:
    """``n`` unanswered SYNs to 203.0.113.80:80, each from its own address in 10.0.0.0/8."""
    def packets() -> Iterator[bytes]:
        for i in range(n):
            src = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            yield tcp_packet(src, 1024 + i % 60000, WEB, 80, 7 * i, 0, S)
    return _write(path, packets(), step=0.00001)


def write_pipelined(path: Path, n: int = 100_000) -> int:
    """``n`` GET requests and their 200 responses on one HTTP/1.1 keep-alive connection."""
    def packets() -> Iterator[bytes]:
        c = Conn(c=(CLIENT, 42000), s=(WEB, 80))
        yield from c.handshake()
        body = b"<p>item</p>"
        for i in range(n):
            yield c.client(b"GET /item/%d HTTP/1.1\r\nHost: www.example.test\r\n\r\n" % i)
            yield c.server(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
                           % len(body) + body)
        yield from c.close()
    return _write(path, packets(), step=0.00002)
