#!/usr/bin/env python3
"""A small TFTP server that answers from port 69 itself (not RFC 1350's new port per transfer, but
what some embedded servers do), written to record ``samples/tftp69.pcap``.

One UDP socket on HOST:69 serves one transfer at a time in lock-step: RRQ of a file under ROOT (DATA
in 512-byte blocks, each waiting for its ACK, resent up to 5 times), WRQ (ACK 0, then ACK per DATA;
the file is written under ROOT when the short block arrives), ERROR 1 for a missing file. Every
reply leaves from port 69. Stops on SIGTERM.

Usage: ``python3 tftp69_server.py HOST ROOT``
"""
from __future__ import annotations

import socket
import struct
import sys
from pathlib import Path

RRQ, WRQ, DATA, ACK, ERROR = 1, 2, 3, 4, 5
BLOCK = 512


def _name(pkt: bytes) -> str:
    return pkt[2:].split(b"\0")[0].decode("ascii")


def _read(sock: socket.socket, peer: tuple, data: bytes) -> None:
    for i in range(len(data) // BLOCK + 1):
        block = struct.pack("!HH", DATA, i + 1) + data[i * BLOCK:(i + 1) * BLOCK]
        for _try in range(5):
            sock.sendto(block, peer)
            try:
                got, who = sock.recvfrom(65536)
            except socket.timeout:
                continue
            if who == peer and got[:4] == struct.pack("!HH", ACK, i + 1):
                break
        else:
            return


def _write(sock: socket.socket, peer: tuple, path: Path) -> None:
    sock.sendto(struct.pack("!HH", ACK, 0), peer)
    out, expect = bytearray(), 1
    while True:
        try:
            got, who = sock.recvfrom(65536)
        except socket.timeout:
            return
        if who != peer or len(got) < 4 or struct.unpack("!H", got[:2])[0] != DATA:
            continue
        block = struct.unpack("!H", got[2:4])[0]
        if block == expect:
            out += got[4:]
            expect += 1
        sock.sendto(struct.pack("!HH", ACK, block), peer)
        if block == expect - 1 and len(got) - 4 < BLOCK:
            path.write_bytes(bytes(out))
            return


def main(host: str, root: str) -> None:
    base = Path(root)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 69))
    sock.settimeout(2.0)
    while True:
        try:
            pkt, peer = sock.recvfrom(65536)
        except socket.timeout:
            continue
        op = struct.unpack("!H", pkt[:2])[0] if len(pkt) >= 2 else 0
        if op not in (RRQ, WRQ):
            continue
        path = base / Path(_name(pkt)).name
        if op == RRQ and not path.is_file():
            sock.sendto(struct.pack("!HH", ERROR, 1) + b"File not found\0", peer)
        elif op == RRQ:
            _read(sock, peer, path.read_bytes())
        else:
            _write(sock, peer, path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
