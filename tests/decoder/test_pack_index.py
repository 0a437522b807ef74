"""The transcripts' pack index (decoder.transcripts.PackIndex): each uid's segments in the order written,
across packs, and never another uid's, even where two uids share a hash."""
from __future__ import annotations

from array import array
from pathlib import Path

from decoder.transcripts import _SEG, PACK_SUFFIX, read_packs


def _write_pack(path: Path, records: list[tuple[str, bytes]]) -> None:
    with open(path, "wb") as fh:
        for uid, blob in records:
            u = uid.encode()
            fh.write(_SEG.pack(len(u), len(blob)) + u + blob)


def _read(index, uid: str) -> list[bytes]:
    out = []
    for q, off, n in index.segments(uid):
        with open(index.packs[q], "rb") as fh:
            fh.seek(off)
            out.append(fh.read(n))
    return out


def test_segments_in_the_order_written_across_packs(tmp_path):
    _write_pack(tmp_path / f"a{PACK_SUFFIX}", [("C1", b"one"), ("C2", b"two"), ("C1", b"three")])
    _write_pack(tmp_path / f"b{PACK_SUFFIX}", [("C3", b"four"), ("C1", b"five")])
    index = read_packs(tmp_path)
    assert len(index) == 5
    assert _read(index, "C1") == [b"one", b"three", b"five"]
    assert _read(index, "C2") == [b"two"] and _read(index, "C3") == [b"four"]
    assert index.segments("C9") == []
    assert index.read("C1") == b"onethreefive" and index.read("C9") is None    # (what a page reads)
    assert len(read_packs(tmp_path / "missing")) == 0


def test_a_shared_hash_never_gives_another_uids_bytes(tmp_path):
    _write_pack(tmp_path / f"a{PACK_SUFFIX}", [("C1", b"mine"), ("C2", b"theirs"), ("C1", b"mine too")])
    index = read_packs(tmp_path)
    index.keys = array("q", [hash("C1")] * len(index))     # as if every segment's uid hashed like C1's
    assert _read(index, "C1") == [b"mine", b"mine too"]
    assert index.read("C1") == b"minemine too"
