"""Helpers for the hardening tests: hostile conversations as capture files, and a guarded run.

:func:`guarded` runs the pipeline with ``strict=True`` under a SIGALRM watchdog (fails only on
hangs, 60 s) and ``tracemalloc`` (peak Python allocations), so tests can assert bounded memory
without timing assertions.
"""
from __future__ import annotations

import signal
import struct
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.builders import A, F, P, S, Conn, udp_packet, write_pcap

HANG_SECONDS = 60
MSS = 1400


class Hang(Exception):
    pass


@contextmanager
def watchdog(seconds: int = HANG_SECONDS):
    def _fire(signum, frame):
        raise Hang(f"no result after {seconds} s: a hang")

    old = signal.signal(signal.SIGALRM, _fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Run:
    analysis: object
    peak: int          # tracemalloc peak in bytes during the run

    @property
    def summary(self) -> dict:
        return self.analysis.summary

    def table(self, name: str):
        import pandas as pd
        return self.analysis.tables.get(name, pd.DataFrame())

    def anomalies(self) -> set[str]:
        return set(self.summary["anomalies"])


def guarded(path, limits=None, out_dir=None, measure: bool = True, **kw) -> Run:
    """``analyze(path, strict=True)`` under the watchdog, measuring the Python allocation peak."""
    from decoder.api import analyze
    import dissectors  # noqa: F401 - imports are not the run's memory
    import reports.tables  # noqa: F401

    with watchdog():
        if measure:
            tracemalloc.start()
        try:
            a = analyze(path, limits=limits, out_dir=out_dir, strict=True, **kw)
            peak = tracemalloc.get_traced_memory()[1] if measure else 0
        finally:
            if measure:
                tracemalloc.stop()
    return Run(a, peak)


def tcp_conversation(path: Path, turns, client=("10.0.0.1", 40000), server=("10.0.0.2", 80),
                     close: bool = True, **kw) -> None:
    """``turns``: list of ``("c"|"s", bytes)``; data is cut into MSS-sized segments."""
    c = Conn(c=client, s=server)
    pkts = c.handshake()
    for who, data in turns:
        for i in range(0, max(len(data), 1), MSS):
            seg = data[i:i + MSS]
            if not seg:
                continue
            pkts.append(c.client(seg) if who == "c" else c.server(seg))
            pkts.append(c.server_ack() if who == "c" else c.client_ack())
    if close:
        pkts += c.close()
    write_pcap(path, pkts, **kw)


def tcp_stream_packets(c: Conn, who: str, data: bytes) -> list[bytes]:
    out = []
    for i in range(0, len(data), MSS):
        out.append(c.client(data[i:i + MSS]) if who == "c" else c.server(data[i:i + MSS]))
    return out


def udp_capture(path: Path, datagrams, client=("10.0.0.1", 40000), server=("10.0.0.2", 53)) -> None:
    """``datagrams``: list of ``("c"|"s", bytes)``."""
    pkts = []
    for who, d in datagrams:
        if who == "c":
            pkts.append(udp_packet(*client, *server, d))
        else:
            pkts.append(udp_packet(*server, *client, d))
    write_pcap(path, pkts)


_ETH = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"


def raw_syn(src: int, sport: int, dst: int, dport: int, seq: int) -> bytes:
    """An Ethernet + IPv4 + TCP SYN frame built with struct (fast; checksums left zero)."""
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 40, 1, 0, 64, 6, 0, src, dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, S, 65535, 0, 0)
    return _ETH + ip + tcp


def write_frames(path: Path, frames, t0: int = 1_700_000_000, step_us: int = 10) -> int:
    """Stream Ethernet frames to a pcap file (no list held); returns the count."""
    n = 0
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        us = 0
        for fr in frames:
            fh.write(struct.pack("<IIII", t0 + us // 1_000_000, us % 1_000_000, len(fr), len(fr)) + fr)
            us += step_us
            n += 1
    return n


__all__ = ["A", "F", "P", "S", "Conn", "guarded", "watchdog", "tcp_conversation", "udp_capture",
           "tcp_stream_packets", "raw_syn", "write_frames", "Run", "Hang"]
