"""Structure-aware mutations of capture files (pcap and pcapng), for fuzzing the whole pipeline.

A capture is split into its framing (pcap file header + records, or pcapng blocks) so
mutations can target what hostile or broken files really do:

* ``bitflip``      flip 1–64 random bits anywhere in the file (headers included);
* ``truncate``     cut the file at a random byte;
* ``reclen``       give one record (or pcapng block) a random captured/total length;
* ``snaplen``      cut every packet to a snap length (captured < original length);
* ``zerolen``      insert or turn records into zero-length records;
* ``huge``         a record/block claiming 4 GB (0xFFFFFFFF, 0xFFFFFFF0, 2**31…);
* ``blocklen``     pcapng: a block whose leading or trailing length is bogus (0, odd, huge);
* ``duplicate``    duplicate records (one, a run, or all);
* ``reorder``      swap, reverse or shuffle records;
* ``payload``      flip/overwrite/insert bytes inside packet data (past the link header), which
                   reaches the dissectors with intact framing;
* ``interesting``  overwrite a byte run in packet data with boundary values (0xFF…, 0x7FFFFFFF,
                   ``{4294967295}``, ``%n``, ``../``, CRLF runs);
* ``splice``       graft records of another capture into this one (link types may then mismatch).

``mutate(data, rng)`` applies 1–3 random mutations; ``MUTATORS`` maps names to functions
``f(data, rng, other) -> bytes``. Everything is deterministic given ``rng``'s seed, so a
failing case is reproduced with ``python -m fuzz.mutate_many --replay SEED``.
"""
from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

PCAP_MAGICS = (0xA1B2C3D4, 0xA1B23C4D, 0xA1B2CD34)
HUGE = (0xFFFFFFFF, 0xFFFFFFF0, 0x80000000, 0x7FFFFFFF, 0x00040001, 0x00100000, 65536 * 4 + 1)
INTERESTING = (
    b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00", b"\x80\x00", b"\xc0\x0c", b"\xc0\x00",
    b"{4294967295}\r\n", b"{99999999999999999999}\r\n", b"ffffffffffffffffff\r\n", b"%n%s%x", b"../../etc/passwd\x00",
    b"\r\n\r\n", b"\r\n.\r\n", b"=?utf-8?b?====?=", b"<script>alert(1)</script>", b"\x1f\x8b\x08\x00",
    b"Content-Length: 99999999999999999999\r\n", b"Transfer-Encoding: chunked\r\n", b"\xff\xfb\x18\xff\xfa",
    b"boundary=\"\"\r\n", b"\x00" * 16, b"A" * 300, b"\x3f" * 8,
)


# ---------------------------------------------------------------------------- framing
@dataclass
class Pcap:
    order: str
    header: bytes                 # 24-byte file header
    rec_len: int                  # 16 or 24 (Kuznetzov)
    records: list[list]           # [sec, frac, incl, orig, data, extra]

    def to_bytes(self) -> bytes:
        out = [self.header]
        for sec, frac, incl, orig, data, extra in self.records:
            out.append(struct.pack(self.order + "IIII", sec & 0xFFFFFFFF, frac & 0xFFFFFFFF,
                                   incl & 0xFFFFFFFF, orig & 0xFFFFFFFF) + extra + data)
        return b"".join(out)


@dataclass
class Pcapng:
    order: str
    blocks: list[list]            # [type, body, lead_len or None, trail_len or None]

    def to_bytes(self) -> bytes:
        out = []
        for btype, body, lead, trail in self.blocks:
            pad = (-len(body)) % 4
            n = 12 + len(body) + pad
            out.append(struct.pack(self.order + "II", btype & 0xFFFFFFFF, (n if lead is None else lead) & 0xFFFFFFFF)
                       + body + b"\x00" * pad + struct.pack(self.order + "I", (n if trail is None else trail) & 0xFFFFFFFF))
        return b"".join(out)

    def packet_blocks(self) -> list[int]:
        return [i for i, b in enumerate(self.blocks) if b[0] in (6, 2, 3)]


def parse(data: bytes) -> Pcap | Pcapng | None:
    """Split a well-formed capture into framing; None when it is not one."""
    if len(data) >= 12 and data[:4] == b"\x0a\x0d\x0d\x0a":
        order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        blocks = []
        pos = 0
        while pos + 12 <= len(data):
            btype, blen = struct.unpack_from(order + "II", data, pos)
            if blen < 12 or pos + blen > len(data):
                break
            blocks.append([btype, data[pos + 8:pos + blen - 4], None, None])
            pos += blen
        return Pcapng(order, blocks)
    if len(data) >= 24:
        for order in "<>":
            magic = struct.unpack(order + "I", data[:4])[0]
            if magic in PCAP_MAGICS:
                rec_len = 24 if magic == 0xA1B2CD34 else 16
                pos = 24
                recs = []
                while pos + rec_len <= len(data):
                    sec, frac, incl, orig = struct.unpack_from(order + "IIII", data, pos)
                    extra = data[pos + 16:pos + rec_len]
                    body = data[pos + rec_len:pos + rec_len + incl]
                    if len(body) < incl:
                        break
                    recs.append([sec, frac, incl, orig, body, extra])
                    pos += rec_len + incl
                return Pcap(order, data[:24], rec_len, recs)
    return None


def _records(cap: Pcap | Pcapng) -> list:
    return cap.records if isinstance(cap, Pcap) else [cap.blocks[i] for i in cap.packet_blocks()]


def _set_records(cap: Pcap | Pcapng, recs: list) -> None:
    if isinstance(cap, Pcap):
        cap.records = recs
        return
    idx = cap.packet_blocks()
    if not idx:
        cap.blocks.extend(recs)
        return
    # keep the non-packet blocks before the first packet block (SHB, IDBs) in place
    head = cap.blocks[:idx[0]]
    tail = [b for i, b in enumerate(cap.blocks) if i > idx[0] and b[0] not in (6, 2, 3)]
    cap.blocks = head + recs + tail


def _pkt_data(rec: list, cap: Pcap | Pcapng) -> tuple[bytes, int]:
    """(packet bytes, offset of the packet inside what we store) for a record/block."""
    if isinstance(cap, Pcap):
        return rec[4], 0
    if rec[0] == 6:
        return rec[1][20:], 20
    if rec[0] == 2:
        return rec[1][20:], 20
    return rec[1][4:], 4


def _replace_pkt(rec: list, cap: Pcap | Pcapng, new: bytes, fix_len: bool = True) -> None:
    if isinstance(cap, Pcap):
        rec[4] = new
        if fix_len:
            rec[2] = len(new)
        return
    body = rec[1]
    off = 20 if rec[0] in (6, 2) else 4
    hdr = bytearray(body[:off])
    if fix_len and rec[0] in (6, 2) and len(hdr) >= 20:
        struct.pack_into(cap.order + "I", hdr, 12, len(new))
    rec[1] = bytes(hdr) + new


# ---------------------------------------------------------------------------- mutators
def m_bitflip(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    if not data:
        return data
    b = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 8, 16, 64))):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def m_truncate(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    if len(data) < 2:
        return data
    choice = rng.random()
    if choice < 0.1:
        return data[:rng.randrange(0, min(len(data), 40))]   # inside the file/section header
    return data[:rng.randrange(1, len(data))]


def m_reclen(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    if cap is None:
        return m_bitflip(data, rng)
    recs = _records(cap)
    if not recs:
        return data
    rec = rng.choice(recs)
    val = rng.choice((0, 1, 13, rng.randrange(0, 70000), rng.randrange(0, 1 << 32)))
    if isinstance(cap, Pcap):
        if rng.random() < 0.7:
            rec[2] = val          # incl_len lies; data that follows does not move
        else:
            rec[3] = val          # orig_len lies
    else:
        if rng.random() < 0.5:
            rec[2] = val          # block total length lies
        else:
            body = bytearray(rec[1])
            if rec[0] in (6, 2) and len(body) >= 20:
                struct.pack_into(cap.order + "I", body, 12 if rng.random() < 0.7 else 16, val)
                rec[1] = bytes(body)
            else:
                rec[2] = val
    return cap.to_bytes()


def m_snaplen(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    if cap is None:
        return m_truncate(data, rng)
    snap = rng.choice((14, 34, 54, 60, 64, 68, 96, 128, 200, rng.randrange(1, 1600)))
    recs = _records(cap)
    targets = recs if rng.random() < 0.7 else [r for r in recs if rng.random() < 0.3]
    for rec in targets:
        pkt, _ = _pkt_data(rec, cap)
        if len(pkt) > snap:
            _replace_pkt(rec, cap, pkt[:snap])   # captured length shrinks; original length stays
    return cap.to_bytes()


def m_zerolen(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    if cap is None:
        return data
    recs = _records(cap)
    if not recs:
        return data
    n = rng.choice((1, 2, 5, len(recs)))
    for _ in range(n):
        i = rng.randrange(len(recs))
        if rng.random() < 0.5:
            _replace_pkt(recs[i], cap, b"")
        else:
            import copy
            z = copy.deepcopy(recs[i])
            _replace_pkt(z, cap, b"")
            recs.insert(i, z)
    _set_records(cap, recs)
    return cap.to_bytes()


def m_huge(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    if cap is None:
        return data
    recs = _records(cap)
    if not recs:
        return data
    rec = rng.choice(recs)
    val = rng.choice(HUGE)
    if isinstance(cap, Pcap):
        if rng.random() < 0.8:
            rec[2] = val
        else:
            rec[3] = val
    elif rec[0] in (6, 2) and len(rec[1]) >= 20 and rng.random() < 0.5:
        body = bytearray(rec[1])
        struct.pack_into(cap.order + "I", body, 12, val)
        rec[1] = bytes(body)
    else:
        rec[2] = val
    return cap.to_bytes()


def m_blocklen(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    if not isinstance(cap, Pcapng) or not cap.blocks:
        return m_reclen(data, rng)
    blk = rng.choice(cap.blocks)
    val = rng.choice((0, 4, 8, 11, 12, 13, 14, 27, 28, 4095, 1 << 20, rng.randrange(0, 1 << 32))
                     + HUGE)
    which = rng.random()
    if which < 0.45:
        blk[2] = val
    elif which < 0.9:
        blk[3] = val
    else:
        blk[2] = blk[3] = val
    if rng.random() < 0.2:   # or an IDB/option body that is garbage
        b = bytearray(blk[1])
        if b:
            for _ in range(4):
                b[rng.randrange(len(b))] = rng.randrange(256)
        blk[1] = bytes(b)
    return cap.to_bytes()


def m_duplicate(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    if cap is None:
        return data
    recs = _records(cap)
    if not recs:
        return data
    mode = rng.random()
    if mode < 0.4:
        i = rng.randrange(len(recs))
        recs.insert(i, list(recs[i]))
    elif mode < 0.8:
        i = rng.randrange(len(recs))
        j = min(len(recs), i + rng.randrange(1, 20))
        recs[j:j] = [list(r) for r in recs[i:j]]
    else:
        recs = [list(r) for r in recs for _ in (0, 1)]
    _set_records(cap, recs)
    return cap.to_bytes()


def m_reorder(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    if cap is None:
        return data
    recs = _records(cap)
    if len(recs) < 2:
        return data
    mode = rng.random()
    if mode < 0.5:
        for _ in range(rng.choice((1, 2, 5, 20))):
            i, j = rng.randrange(len(recs)), rng.randrange(len(recs))
            recs[i], recs[j] = recs[j], recs[i]
    elif mode < 0.7:
        recs.reverse()
    elif mode < 0.85:
        i = rng.randrange(len(recs))
        j = min(len(recs), i + rng.randrange(2, 30))
        win = recs[i:j]
        rng.shuffle(win)
        recs[i:j] = win
    else:
        rng.shuffle(recs)
    _set_records(cap, recs)
    return cap.to_bytes()


def _payload_edit(pkt: bytes, rng: random.Random) -> bytes:
    if len(pkt) <= 14:
        return pkt
    b = bytearray(pkt)
    lo = 14 if rng.random() < 0.5 else min(len(b) - 1, 54)   # past Ethernet, or past IPv4+TCP
    if lo >= len(b):
        lo = 0
    op = rng.random()
    if op < 0.4:
        for _ in range(rng.choice((1, 2, 4, 8))):
            i = rng.randrange(lo, len(b))
            b[i] = rng.randrange(256)
    elif op < 0.6:
        i = rng.randrange(lo, len(b))
        del b[i:i + rng.randrange(1, 64)]
    elif op < 0.8:
        i = rng.randrange(lo, len(b) + 1)
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 32)))
    else:
        i = rng.randrange(lo, len(b))
        j = rng.randrange(lo, len(b))
        n = rng.randrange(1, 64)
        b[i:i + n] = bytes(b[j:j + n])          # copy a run from elsewhere in the packet
    return bytes(b)


def m_payload(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    if cap is None:
        return m_bitflip(data, rng)
    recs = _records(cap)
    if not recs:
        return data
    for _ in range(rng.choice((1, 1, 2, 3, 8))):
        rec = rng.choice(recs)
        pkt, _ = _pkt_data(rec, cap)
        _replace_pkt(rec, cap, _payload_edit(pkt, rng))
    return cap.to_bytes()


def m_interesting(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    if cap is None:
        return data
    recs = [r for r in _records(cap) if len(_pkt_data(r, cap)[0]) > 54]
    if not recs:
        return m_payload(data, rng)
    for _ in range(rng.choice((1, 2, 4))):
        rec = rng.choice(recs)
        pkt, _ = _pkt_data(rec, cap)
        b = bytearray(pkt)
        i = rng.randrange(14, len(b))
        val = rng.choice(INTERESTING)
        if rng.random() < 0.5:
            b[i:i + len(val)] = val          # overwrite (may grow the packet at the end)
        else:
            b[i:i] = val                     # insert
        _replace_pkt(rec, cap, bytes(b))
    return cap.to_bytes()


def m_splice(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    oc = parse(other) if other else None
    if cap is None or oc is None or type(cap) is not type(oc):
        return m_duplicate(data, rng)
    recs, orecs = _records(cap), _records(oc)
    if not orecs:
        return data
    i = rng.randrange(len(orecs))
    j = min(len(orecs), i + rng.randrange(1, 40))
    at = rng.randrange(len(recs) + 1)
    graft = [list(r) for r in orecs[i:j]]
    if isinstance(cap, Pcap) and cap.rec_len != oc.rec_len:
        return data
    recs[at:at] = graft
    _set_records(cap, recs)
    return cap.to_bytes()


MUTATORS = {
    "bitflip": m_bitflip, "truncate": m_truncate, "reclen": m_reclen, "snaplen": m_snaplen,
    "zerolen": m_zerolen, "huge": m_huge, "blocklen": m_blocklen, "duplicate": m_duplicate,
    "reorder": m_reorder, "payload": m_payload, "interesting": m_interesting, "splice": m_splice,
}
# payload-level edits are weighted up: they reach the dissectors; framing edits mostly stop reading early
WEIGHTS = {"bitflip": 2, "truncate": 1, "reclen": 1, "snaplen": 1, "zerolen": 1, "huge": 1, "blocklen": 1,
           "duplicate": 1, "reorder": 2, "payload": 5, "interesting": 3, "splice": 1}


def mutate(data: bytes, rng: random.Random, other: bytes | None = None,
           names: tuple[str, ...] | None = None) -> tuple[bytes, list[str]]:
    """Apply 1–3 weighted random mutations; returns the new bytes and the mutator names used."""
    pool = list(names or MUTATORS)
    w = [WEIGHTS.get(n, 1) for n in pool]
    used = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        name = rng.choices(pool, w)[0]
        data = MUTATORS[name](data, rng, other)
        used.append(name)
    return data, used


def sample_corpus(extra_dirs: tuple[Path, ...] = ()) -> list[Path]:
    """The captures mutations start from: samples/ (and any extra directories)."""
    files = sorted(p for p in SAMPLES.glob("*.pcap*") if p.suffix in (".pcap", ".pcapng"))
    for d in extra_dirs:
        if d.is_dir():
            files += sorted(p for p in d.glob("*") if p.suffix in (".pcap", ".pcapng")
                            and p.stat().st_size <= 2_000_000)
    return files
