"""Helpers that run tshark as an oracle (follow streams, conversations, fields).

tshark is a reference, not ground truth: where it is shown to be wrong the
tests list the case and the reason.
"""
from __future__ import annotations

import ipaddress
import subprocess
from dataclasses import dataclass


@dataclass
class FollowedStream:
    index: int
    node0: tuple[str, int]
    node1: tuple[str, int]
    data0: bytes          # bytes sent by node 0
    data1: bytes


def _endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    host = host.strip("[]")
    return str(ipaddress.ip_address(host)), int(port)


def tcp_stream_count(path: str) -> int:
    out = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "tcp.stream"],
                         capture_output=True, text=True, check=False).stdout.split()
    return (max(int(x) for x in out if x.isdigit()) + 1) if out else 0


def follow_tcp_raw(path: str, batch: int = 200) -> list[FollowedStream]:
    n = tcp_stream_count(path)
    streams: list[FollowedStream] = []
    for lo in range(0, n, batch):
        args = ["tshark", "-n", "-r", path, "-q"]
        for i in range(lo, min(n, lo + batch)):
            args += ["-z", f"follow,tcp,raw,{i}"]
        text = subprocess.run(args, capture_output=True, text=True, check=False).stdout
        streams.extend(_parse_follow(text))
    return streams


def _parse_follow(text: str) -> list[FollowedStream]:
    out = []
    cur = None
    for line in text.splitlines():
        if line.startswith("Filter: tcp.stream eq "):
            cur = {"index": int(line.rsplit(" ", 1)[1]), "d0": [], "d1": []}
        elif cur is None:
            continue
        elif line.startswith("Node 0: "):
            cur["n0"] = _endpoint(line[8:])
        elif line.startswith("Node 1: "):
            cur["n1"] = _endpoint(line[8:])
        elif line.startswith("====="):
            if "n0" in cur:
                out.append(FollowedStream(cur["index"], cur["n0"], cur["n1"],
                                          bytes.fromhex("".join(cur["d0"])), bytes.fromhex("".join(cur["d1"]))))
            cur = None
        elif line.startswith("\t"):
            cur["d1"].append(line.strip())
        elif line.strip():
            cur["d0"].append(line.strip())
    return out


def conversations(path: str, proto: str) -> list[tuple[tuple[str, int], tuple[str, int]]]:
    """Endpoint pairs of ``tshark -q -z conv,<proto>``."""
    text = subprocess.run(["tshark", "-n", "-r", path, "-q", "-z", f"conv,{proto}"],
                          capture_output=True, text=True, check=False).stdout
    pairs = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == "<->":
            try:
                pairs.append((_endpoint(parts[0]), _endpoint(parts[2])))
            except ValueError:
                continue
    return pairs


def frame_packets(path: str) -> dict[int, tuple[float, tuple[str, int], tuple[str, int]]]:
    """Each frame's time and TCP/UDP endpoints (source, destination) as tshark reads them; frames without
    ports (ARP, ICMP, fragments before the last) are left out. For an IP-in-IP or ICMP-quoted packet
    tshark lists several addresses: the innermost (last) one is the packet's."""
    out = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch",
                          "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
                          "-e", "tcp.srcport", "-e", "udp.srcport", "-e", "tcp.dstport", "-e", "udp.dstport"],
                         capture_output=True, text=True, check=False).stdout
    frames = {}
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 10:
            continue
        src, dst = (f[2] or f[3]).split(",")[-1], (f[4] or f[5]).split(",")[-1]
        sport, dport = (f[6] or f[7]).split(",")[-1], (f[8] or f[9]).split(",")[-1]
        if src and dst and sport and dport:
            frames[int(f[0])] = (float(f[1]), (str(ipaddress.ip_address(src)), int(sport)),
                                 (str(ipaddress.ip_address(dst)), int(dport)))
    return frames


def fields(path, names, display_filter: str, decode_as=(), tshark: str = "tshark") -> list[dict[str, list[str]]]:
    """``tshark -T fields`` of the packets that match ``display_filter``: one dict per packet, each field
    a list of its occurrences (empty when absent)."""
    agg = "\x1f"
    cmd = [tshark, "-r", str(path), "-Y", display_filter, "-T", "fields", "-E", f"aggregator={agg}",
           "-E", "occurrence=a"]
    for d in decode_as:
        cmd += ["-d", d]
    for f in names:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [{k: (v.split(agg) if v else []) for k, v in zip(names, line.split("\t"))} for line in out.splitlines()]
