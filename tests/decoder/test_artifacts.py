"""The artifact store on its own: what reaches the disk is what was written, in order, across flushes,
with and without writev, after short writes, under the size cap, from views, under a name we choose."""
from __future__ import annotations

import hashlib
import os
import random
from dataclasses import replace

import pytest

import decoder.artifacts as artifacts
from decoder.artifacts import ArtifactStore
from decoder.model import Limits


def _chunks(seed: int, total: int) -> list[bytes]:
    rnd = random.Random(seed)
    out, left = [], total
    while left > 0:
        n = min(left, rnd.choice([1, 7, 536, 1448, 9000, 70_000]))
        out.append(rnd.randbytes(n))
        left -= n
    return out


def _store(tmp_path, chunks, limits=None, name="report.pdf"):
    st = ArtifactStore(tmp_path, limits or Limits())
    assert st.open("F1", "C1", 1.0, "http", "body", name, None, None, "resp")
    for c in chunks:
        st.write("F1", c)
    return st.close("F1", 2.0)


@pytest.mark.parametrize("writev", ["writev", "none", "short"])
def test_bytes_on_disk_are_the_bytes_written(tmp_path, monkeypatch, writev):
    if writev == "none":
        monkeypatch.setattr(artifacts, "_writev", None)
    elif writev == "short":      # the kernel takes part of each vector only: the rest must follow, in order
        real = os.writev

        def short(fd, bufs):
            return real(fd, [bytes(bufs[0])[: max(1, len(bufs[0]) // 2)]])
        monkeypatch.setattr(artifacts, "_writev", short)
    chunks = _chunks(1, 3 * artifacts._FLUSH + 12345)          # three flushes and a tail at close
    row = _store(tmp_path, chunks)
    data = b"".join(chunks)
    on_disk = (tmp_path / row["path"]).read_bytes()
    assert on_disk == data
    assert row["sha256"] == hashlib.sha256(data).hexdigest() and row["seen_bytes"] == len(data)
    assert row["complete"] and not row["truncated"]


def test_many_small_chunks_cross_the_vector_limit(tmp_path):
    chunks = [bytes([i % 251]) * 3 for i in range(artifacts._IOV * 3 + 5)]   # more chunks than one writev takes
    row = _store(tmp_path, chunks)
    assert (tmp_path / row["path"]).read_bytes() == b"".join(chunks)


def test_cap_and_views_and_names(tmp_path):
    limits = replace(Limits(), max_file_size=100_000)
    src = bytearray(os.urandom(300_000))
    view = memoryview(src)
    st = ArtifactStore(tmp_path, limits)
    assert st.open("F2", "C1", 1.0, "ftp", "file", "../../etc/passwd\x00.sh", None, None, "resp")
    assert st.write("F2", view[:60_000])
    assert not st.write("F2", view[60_000:])        # the cap is hit by this write
    want = bytes(src[:100_000])
    src[:] = bytes(len(src))                          # the buffer is reused after the write: the object is not
    row = st.close("F2", 2.0)
    path = tmp_path / row["path"]
    assert path.parent == tmp_path / "files" and path.name.startswith("F2-") and "/" not in path.name[3:]
    assert path.read_bytes() == want
    assert row["truncated"] and not row["complete"] and row["seen_bytes"] == 100_000


def test_empty_object_is_created_at_close(tmp_path):
    row = _store(tmp_path, [])
    assert (tmp_path / row["path"]).read_bytes() == b"" and row["seen_bytes"] == 0


def test_the_object_just_closed_reads_back_from_memory_as_from_disk(tmp_path, monkeypatch):
    chunks = _chunks(7, 5000)
    st = ArtifactStore(tmp_path, Limits())
    assert st.open("F1", "C1", 1.0, "smtp", "email", "m.eml", None, None, "orig")
    for c in chunks:
        st.write("F1", c)
    row = st.close("F1", 2.0)
    on_disk = (tmp_path / row["path"]).read_bytes()
    assert on_disk == b"".join(chunks)
    opened = []
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a) or (_ for _ in ()).throw(OSError))
    assert st.read(row, 10**9) == on_disk and st.read(row, 100) == on_disk[:100]
    assert not opened                   # served from the chunks still held
    monkeypatch.undo()
    st.rename(row, "renamed.eml")       # renamed: still the object just closed, under its new path
    assert row["path"].endswith("F1-renamed.eml") and st._last is not None and st._last[0].endswith(row["path"])
    assert (tmp_path / row["path"]).read_bytes() == on_disk == st.read(row, 10**9)
    # a second object closes: the first is read from its file again; an object larger than the buffer was
    # flushed before its close and is never served from memory
    assert st.open("F2", "C1", 3.0, "smtp", "email", "n.eml", None, None, "orig")
    big = _chunks(8, artifacts._FLUSH + 10_000)
    for c in big:
        st.write("F2", c)
    row2 = st.close("F2", 4.0)
    assert st._last is None
    assert st.read(row, 10**9) == on_disk and st.read(row2, 10**9) == b"".join(big)
