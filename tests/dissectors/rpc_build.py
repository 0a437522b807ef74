"""Builders of ONC RPC messages for tests, written from RFC 5531 / 1094 / 1813 / 1833 (struct only:
nothing of the decoder under test)."""
from __future__ import annotations

import struct


def u32(*v: int) -> bytes:
    return b"".join(struct.pack(">I", x) for x in v)


def u64(v: int) -> bytes:
    return struct.pack(">Q", v)


def opaque(b: bytes) -> bytes:
    return u32(len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def string(s: str) -> bytes:
    return opaque(s.encode())


def auth_sys(uid: int = 1000, gid: int = 1000, machine: str = "client", gids: tuple[int, ...] = ()) -> bytes:
    body = u32(0) + string(machine) + u32(uid, gid, len(gids), *gids)
    return u32(1) + opaque(body)


def call(xid: int, prog: int, vers: int, proc: int, args: bytes = b"", cred: bytes | None = None) -> bytes:
    cred = auth_sys() if cred is None else cred
    return u32(xid, 0, 2, prog, vers, proc) + cred + u32(0, 0) + args


def reply(xid: int, results: bytes = b"", accept_stat: int = 0) -> bytes:
    return u32(xid, 1, 0, 0, 0, accept_stat) + results


def denied_auth(xid: int, auth_stat: int) -> bytes:
    return u32(xid, 1, 1, 1, auth_stat)


def rm(msg: bytes, frags: int = 1) -> bytes:
    """Record marking: ``msg`` in ``frags`` fragments, the last flagged."""
    out = b""
    step = max(1, -(-len(msg) // frags))
    parts = [msg[i:i + step] for i in range(0, len(msg), step)] or [b""]
    for i, p in enumerate(parts):
        out += u32(len(p) | (0x80000000 if i == len(parts) - 1 else 0)) + p
    return out


def fattr3(size: int, ftype: int = 1) -> bytes:
    return u32(ftype, 0o644, 1, 0, 0) + u64(size) + u64(size) + u64(0) + u64(1) + u64(2) + u32(0) * 6


def post_op_attr(size: int | None) -> bytes:
    return u32(0) if size is None else u32(1) + fattr3(size)


def fattr2(size: int) -> bytes:
    return u32(1, 0o644, 1, 0, 0, size, 4096, 0, 1, 1, 2) + u32(0) * 6
