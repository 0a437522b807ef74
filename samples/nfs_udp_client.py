#!/usr/bin/env python3
"""A small NFS v3 client over UDP, written from RFC 5531 (RPC), RFC 1833 (portmapper), RFC 1813
(MOUNT v3, NFS v3) and RFC 1094 (MOUNT v1) with ``struct`` only — nothing of wiretale. Used by
``samples/record_nfs.py``: libnfs's tools speak NFS over TCP only, so the UDP capture needs a client
of its own. It prints one JSON object: what it asked, what it read and wrote (bytes as sha256),
and the statuses the server answered.

Usage: ``nfs_udp_client.py HOST EXPORT``
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import sys

PMAP, NFS, MOUNT = 100000, 100003, 100005
_xid = 0x5A000000


def u32(*v: int) -> bytes:
    return b"".join(struct.pack(">I", x) for x in v)


def opaque(b: bytes) -> bytes:
    return u32(len(b)) + b + b"\0" * (-len(b) % 4)


def auth_sys() -> bytes:
    body = u32(0) + opaque(b"wiretale-rec") + u32(0, 0, 1, 0)      # root, as nfs-cp run by root
    return u32(1) + opaque(body)


class Rd:
    def __init__(self, b: bytes) -> None:
        self.b, self.p = b, 0

    def u32(self) -> int:
        v = struct.unpack_from(">I", self.b, self.p)[0]
        self.p += 4
        return v

    def u64(self) -> int:
        v = struct.unpack_from(">Q", self.b, self.p)[0]
        self.p += 8
        return v

    def opaque(self) -> bytes:
        n = self.u32()
        v = self.b[self.p:self.p + n]
        self.p += n + (-n % 4)
        return v

    def skip(self, n: int) -> None:
        self.p += n


def rpc(sock: socket.socket, addr: tuple[str, int], prog: int, vers: int, proc: int, args: bytes = b"") -> Rd:
    """One call, one reply (retransmitted twice on timeout, as UDP clients do)."""
    global _xid
    _xid += 1
    msg = u32(_xid, 0, 2, prog, vers, proc) + auth_sys() + u32(0, 0) + args
    for _ in range(3):
        sock.sendto(msg, addr)
        try:
            while True:
                data, _ = sock.recvfrom(65536)
                if struct.unpack_from(">I", data)[0] == _xid:
                    break
            break
        except socket.timeout:
            continue
    else:
        raise TimeoutError(f"no reply to program {prog} procedure {proc}")
    r = Rd(data)
    r.skip(8)
    if r.u32() != 0:
        return Rd(b"\xff\xff\xff\xfe")          # denied
    r.u32()
    r.opaque()
    acc = r.u32()
    if acc != 0:
        out = Rd(u32(0xFFFFFF00 | acc) + data[r.p:])
        return out
    return Rd(data[r.p:])


def post_op_attr_size(r: Rd) -> int | None:
    if r.u32():
        attrs = r.b[r.p:r.p + 84]
        r.skip(84)
        return struct.unpack_from(">Q", attrs, 20)[0]
    return None


def main() -> None:
    host, export = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    pm = (host, 111)
    out: dict = {"steps": []}

    def step(**kw) -> None:
        out["steps"].append(kw)

    mport = rpc(s, pm, PMAP, 2, 3, u32(MOUNT, 3, 17, 0)).u32()
    nport = rpc(s, pm, PMAP, 2, 3, u32(NFS, 3, 17, 0)).u32()
    step(op="PMAP2 GETPORT", program=MOUNT, version=3, transport="udp", port=mport)
    step(op="PMAP2 GETPORT", program=NFS, version=3, transport="udp", port=nport)
    m, n = (host, mport), (host, nport)

    r = rpc(s, m, MOUNT, 1, 1, opaque(export.encode()))      # MOUNT v1: a 32-byte v2 handle
    st = r.u32()
    if st >= 0xFFFFFF00:      # refused at the RPC level
        step(op="MOUNT1 MNT", path=export, accept_stat=st & 0xFF)
    else:
        step(op="MOUNT1 MNT", path=export, status=st, fh=r.b[r.p:r.p + 32].hex() if st == 0 else None)
    rpc(s, m, MOUNT, 1, 3, opaque(export.encode()))
    step(op="MOUNT1 UMNT", path=export)
    r = rpc(s, m, MOUNT, 3, 1, opaque(export.encode()))
    st = r.u32()
    root = r.opaque()
    step(op="MOUNT3 MNT", path=export, status=st, fh=root.hex())

    r = rpc(s, n, NFS, 2, 0)
    step(op="NFS2 NULL", accept_stat=r.u32() & 0xFF, note="the server does not serve NFS v2")
    rpc(s, n, NFS, 3, 0)
    step(op="NFS3 NULL")

    def lookup(dirfh: bytes, name: str) -> tuple[int, bytes | None]:
        r = rpc(s, n, NFS, 3, 3, opaque(dirfh) + opaque(name.encode()))
        st = r.u32()
        fh = r.opaque() if st == 0 else None
        step(op="NFS3 LOOKUP", name=name, status=st, fh=fh.hex() if fh else None)
        return st, fh

    _, fh = lookup(root, "hello.txt")
    body = b""
    off = 0
    while True:                       # 4 KiB reads, as a client with rsize 4096
        r = rpc(s, n, NFS, 3, 6, opaque(fh) + struct.pack(">Q", off) + u32(4096))
        st = r.u32()
        size = post_op_attr_size(r)
        count, eof = r.u32(), r.u32()
        data = r.opaque()
        step(op="NFS3 READ", name="hello.txt", offset=off, count=4096, status=st, got=count, eof=bool(eof),
             size=size)
        body += data
        off += len(data)
        if eof or not data:
            break
    out["read"] = {"path": f"{export}/hello.txt", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}

    _, dfh = lookup(root, "docs")
    _, bfh = lookup(dfh, "notes.txt")
    # the second half first, then the first: reassembly by offset
    halves = {}
    for o in (4096, 0):
        r = rpc(s, n, NFS, 3, 6, opaque(bfh) + struct.pack(">Q", o) + u32(4096))
        st = r.u32()
        post_op_attr_size(r)
        count, eof = r.u32(), r.u32()
        halves[o] = r.opaque()
        step(op="NFS3 READ", name="notes.txt", offset=o, count=4096, status=st, got=count, eof=bool(eof))
    notes = halves[0] + halves[4096]
    out["read_out_of_order"] = {"path": f"{export}/docs/notes.txt", "size": len(notes),
                                "sha256": hashlib.sha256(notes).hexdigest()}

    lookup(root, "missing.txt")

    payload = bytes.fromhex(os.environ.get("WT_UDP_PAYLOAD_HEX", "")) or b"written over UDP\n" * 300
    r = rpc(s, n, NFS, 3, 8, opaque(root) + opaque(b"udp-upload.txt") + u32(0) + u32(1, 0o644) + u32(0) * 5)
    st = r.u32()
    new = r.opaque() if st == 0 and r.u32() else None
    step(op="NFS3 CREATE", name="udp-upload.txt", status=st, fh=new.hex() if new else None)
    if new is None:
        raise SystemExit(f"CREATE failed: status {st}: {json.dumps(out)}")
    for o in range(0, len(payload), 4096):
        chunk = payload[o:o + 4096]
        r = rpc(s, n, NFS, 3, 7, opaque(new) + struct.pack(">Q", o) + u32(len(chunk), 0) + opaque(chunk))
        step(op="NFS3 WRITE", name="udp-upload.txt", offset=o, count=len(chunk), status=r.u32())
    r = rpc(s, n, NFS, 3, 21, opaque(new) + struct.pack(">Q", 0) + u32(0))
    step(op="NFS3 COMMIT", name="udp-upload.txt", status=r.u32())
    out["write"] = {"path": f"{export}/udp-upload.txt", "size": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest()}

    r = rpc(s, n, NFS, 3, 16, opaque(root) + struct.pack(">Q", 0) + b"\0" * 8 + u32(4096))
    step(op="NFS3 READDIR", status=r.u32())
    rpc(s, m, MOUNT, 3, 3, opaque(export.encode()))
    step(op="MOUNT3 UMNT", path=export)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
