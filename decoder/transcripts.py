"""Per-session transcripts on disk: the reassembled chunks of a flow, capped.

``OUT/streams/<uid>.bin`` holds a flow's chunks in capture order as records of
``direction (1 byte), kind (1 byte: 0 data, 1 gap), ts (float64), frame (uint32),
length (uint32)`` followed by ``length`` data bytes for data records (big
endian). At most ``limits.max_transcript`` bytes per direction are kept; a
final record of kind 2 says how many bytes were left out. The HTML report reads
the first part of each direction through :meth:`Transcripts.head` (handed to it by the
command or the :class:`~decoder.api.Analysis` that made the run, so the report
never reads this format itself), tools all of it with :func:`read_transcript`.

Only a flow with more than :data:`WHOLE_BYTES` in a direction (or with bytes the cap left out) gets
its own ``<uid>.bin``: a session page shows the first :data:`WHOLE_BYTES` of each direction, so the
page already carries every byte of the others. Their records go, in the same format, to one *pack*
per spool (``streams/whole-<token>.pack``: segments of ``uid length (uint16), records length (uint32)``,
the uid, the records), read by :class:`Transcripts` and removed once the report is written
(:func:`remove_packs`). A flow that outgrows its page after some of its records went to the pack starts
its file with them, and their segments' uid is blanked (NULs), so a pack names only the flows it holds
whole and a page looks there first. Creating a file costs about 0.3 ms of CPU here (ext4): the 100 MB benchmark
corpus has 3,983 sessions, of which 3,219 fit their pages.

Memory: the open flows' transcripts are written as they grow (:class:`TranscriptSpool`): a flow's
buffer goes to its file at :data:`FLUSH_AT` bytes, and all the open flows together hold at most
:data:`SPOOL_BUDGET` bytes, so memory does not follow the number of open flows times their size
(the 100 MB benchmark corpus keeps its ~4,000 sessions open to the end: 81 MB of buffers before).
"""
from __future__ import annotations

import os
import struct
import uuid
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_REC = struct.Struct("!BBdII")
_SEG = struct.Struct("!HI")        # a pack's segment: uid length, records length
PACK_SUFFIX = ".pack"
WHOLE_BYTES = 4 * 1024   # a session page shows this much of each direction (reports.html.VIEW_BYTES)


@dataclass(frozen=True, slots=True)
class TranscriptChunk:
    direction: int
    kind: int          # 0 data, 1 gap, 2 truncated (length = bytes left out)
    ts: float
    frame: int
    length: int        # bytes of the chunk (``data`` may hold fewer: read_transcript_head cuts)
    data: bytes = b""


FLUSH_AT = 64 * 1024          # bytes of one flow's buffer written to its file at once
SPOOL_BUDGET = 2 * 1024 * 1024  # bytes of all open flows' buffers together


class TranscriptBuffer:
    """One open flow's transcript while it is written: its buffered records and what was kept and cut of each
    direction. One exists per open flow (thousands at once in a large capture), so it is small: ints in
    slots, no list until a record is buffered, the pack segments as one int each (``offset << 32 | length``)."""

    __slots__ = ("parts", "kept0", "kept1", "dropped0", "dropped1", "held", "started", "packed")

    def __init__(self) -> None:
        self.parts: list[bytes] | None = None
        self.kept0 = self.kept1 = 0       # data bytes kept of each direction
        self.dropped0 = self.dropped1 = 0  # data bytes the cap left out of each direction
        self.held = 0          # bytes in ``parts``
        self.started = False   # part of the transcript is already in its file
        self.packed: tuple[int, ...] = ()   # its records already in the pack: offset << 32 | length each

    def whole_within(self, bound: int) -> bool:
        """Every byte kept so far fits ``bound`` in each direction and nothing was cut."""
        return self.kept0 <= bound and self.kept1 <= bound and not (self.dropped0 or self.dropped1)

    def add(self, direction: int, data: bytes | None, gap: int, ts: float, frame: int, cap: int) -> bool:
        """Keep a chunk, at most ``cap`` data bytes of a direction; True the first time this direction's cap
        cuts something."""
        if data is None:
            self._keep(_REC.pack(direction, 1, ts, frame, gap))
            return False
        kept, dropped = (self.kept1, self.dropped1) if direction else (self.kept0, self.dropped0)
        room = cap - kept
        n = len(data)
        if room <= 0:
            self._count(direction, kept, dropped + n)
            return not dropped and n > 0
        if n > room:
            self._count(direction, cap, dropped + n - room)
            self._keep(_REC.pack(direction, 0, ts, frame, room) + data[:room])
            return not dropped
        self._count(direction, kept + n, dropped)
        self._keep(_REC.pack(direction, 0, ts, frame, n) + data)
        return False

    def _count(self, direction: int, kept: int, dropped: int) -> None:
        if direction:
            self.kept1, self.dropped1 = kept, dropped
        else:
            self.kept0, self.dropped0 = kept, dropped

    def _keep(self, part: bytes) -> None:
        if self.parts is None:
            self.parts = [part]
        else:
            self.parts.append(part)
        self.held += len(part)

    def _joined(self) -> bytes:
        blob = b"".join(self.parts) if self.parts else b""
        self.parts = None
        self.held = 0
        return blob

    def flush(self, path: Path) -> int:
        """Append the buffered records to ``path`` (created by the first flush); the bytes written."""
        n = self.held
        if not self.started:
            path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab" if self.started else "wb") as fh:
            fh.write(self._joined())
        self.started = True
        return n

    def take(self) -> bytes:
        """The buffered records, handed over (to the pack)."""
        return self._joined()

    def end(self, ts: float) -> None:
        """What the cap left out, as the flow's last records (its end: ``ts``)."""
        for d, dropped in ((0, self.dropped0), (1, self.dropped1)):
            if dropped:
                self._keep(_REC.pack(d, 2, ts, 0, dropped))


class TranscriptSpool:
    """The transcripts of the open flows, by uid, written to ``folder/<uid>.bin`` as they grow: a buffer
    is written at :data:`FLUSH_AT` bytes, and when all of them hold more than ``budget`` the large ones
    (then, if that is not enough, all) are written, so memory holds at most about ``budget`` bytes
    whatever the number of open flows. ``cap``: data bytes kept per direction of a flow. A flow whose
    kept bytes stay within ``whole`` in each direction, with nothing cut, is written to the spool's pack
    instead (one file for all of them); the first record past that moves it to its own file."""

    def __init__(self, folder: Path, cap: int, budget: int = SPOOL_BUDGET, whole: int = WHOLE_BYTES) -> None:
        self.folder = folder
        self.cap = cap
        self.budget = budget
        self.whole = whole
        self.held = 0
        self.flushes = 0
        self._open: dict[str, TranscriptBuffer] = {}
        self._pack: Path | None = None
        self._pack_end = 0

    def add(self, uid: str, direction: int, data: bytes | None, gap: int, ts: float, frame: int) -> bool:
        """Keep a chunk (``data`` None: a gap of ``gap`` bytes); True the first time the cap cuts it."""
        tx = self._open.get(uid)
        if tx is None:
            tx = self._open[uid] = TranscriptBuffer()
        before = tx.held
        cut = tx.add(direction, data, gap, ts, frame, self.cap)
        self.held += tx.held - before
        if tx.held >= FLUSH_AT:
            self._flush(uid, tx)
        if self.held > self.budget:
            self._relieve()
        return cut

    def close(self, uid: str, ts: float) -> None:
        """The flow ended at ``ts``: the rest of its transcript to its file or the pack (nothing if it had
        none)."""
        tx = self._open.pop(uid, None)
        if tx is not None:
            self.held -= tx.held
            tx.end(ts)
            self.held += tx.held
            if tx.held or not (tx.started or tx.packed):
                self._flush(uid, tx, count=False)

    def _flush(self, uid: str, tx: TranscriptBuffer, count: bool = True) -> None:
        """``tx``'s buffered records to the pack while the flow fits a page, else to its own file (which
        starts with what the pack held of it)."""
        self.held -= tx.held
        self.flushes += count
        if not tx.started and tx.whole_within(self.whole):
            blob = tx.take()
            off, n = self._to_pack(uid, blob)
            tx.packed += (off << 32 | n,)
            return
        if tx.packed:                  # it outgrew its page: its file starts with what the pack has
            head = _move_segments(self._pack_path(), [(x >> 32, x & 0xFFFFFFFF) for x in tx.packed], len(uid.encode()))
            tx.packed = ()
            tx.parts = [head, *(tx.parts or ())]
        tx.flush(self._path(uid))

    def _to_pack(self, uid: str, blob: bytes) -> tuple[int, int]:
        u = uid.encode("utf-8")
        path = self._pack_path()
        if not self._pack_end:
            path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fh:
            fh.write(_SEG.pack(len(u), len(blob)) + u + blob)
        off = self._pack_end + _SEG.size + len(u)
        self._pack_end = off + len(blob)
        return off, len(blob)

    def _pack_path(self) -> Path:
        if self._pack is None:       # a unique name: the workers of a split run move theirs into one folder
            self._pack = self.folder / f"whole-{os.getpid()}-{uuid.uuid4().hex[:8]}{PACK_SUFFIX}"
        return self._pack

    def _relieve(self) -> None:
        """Write the largest buffers until the spool holds half its budget (few files opened per byte)."""
        for uid, tx in sorted(((u, t) for u, t in self._open.items() if t.held), key=lambda ut: -ut[1].held):
            self._flush(uid, tx)
            if self.held <= self.budget // 2:
                return

    def _path(self, uid: str) -> Path:
        return self.folder / f"{uid}.bin"


def _move_segments(path: Path, segments: list[tuple[int, int]], uid_len: int) -> bytes:
    """The records of a flow's pack ``segments`` (offset, length), for its own file; the uid each segment
    was written with (``uid_len`` bytes before it) is blanked with NULs, so that the pack no longer names
    the flow (:class:`PackIndex` finds no segment of it: its transcript is its file)."""
    with open(path, "r+b") as fh:
        parts = []
        for off, n in segments:
            fh.seek(off)
            parts.append(fh.read(n))
            fh.seek(off - uid_len)
            fh.write(b"\0" * uid_len)
    return b"".join(parts)


class PackIndex:
    """Where each uid's segments are in a run's packs: for every segment, the hash of its uid, its pack,
    offset and length, in arrays sorted by hash (the order written kept among equal hashes), about 22 bytes
    a segment instead of a dict entry and the uid's string per session (tens of thousands in a large run).
    :meth:`segments` checks the uid each segment was written with, so a hash shared by two uids costs a
    read, never a wrong transcript."""

    def __init__(self, packs: list[Path]) -> None:
        self.packs = packs
        keys, packs_no, offs, lens = array("q"), array("H"), array("Q"), array("I")
        for i, p in enumerate(packs):
            with open(p, "rb") as fh:
                pos = 0
                while True:
                    head = fh.read(_SEG.size)
                    if len(head) < _SEG.size:
                        break
                    nu, n = _SEG.unpack(head)
                    name = fh.read(nu)
                    pos += _SEG.size + nu
                    if not name.strip(b"\0"):       # a flow that outgrew the pack: its file has these records
                        fh.seek(n, 1)
                        pos += n
                        continue
                    keys.append(hash(name.decode("utf-8", "replace")))
                    packs_no.append(i)
                    offs.append(pos)
                    lens.append(n)
                    fh.seek(n, 1)
                    pos += n
        self.keys, self.pack_no, self.offs, self.lens = array("q"), array("H"), array("Q"), array("I")
        for order in _sorted_in_ranges(keys):
            self.keys.extend(keys[j] for j in order)
            self.pack_no.extend(packs_no[j] for j in order)
            self.offs.extend(offs[j] for j in order)
            self.lens.extend(lens[j] for j in order)

    def __len__(self) -> int:
        return len(self.keys)

    def segments(self, uid: str) -> list[tuple[int, int, int]]:
        """(pack number, offset, length) of each segment of ``uid``, in the order written."""
        return [(q, off, n) for q, off, n, _fh in self._found(uid)]

    def read(self, uid: str) -> bytes | None:
        """The records of ``uid``'s segments, in the order written (each pack opened once: the uid check
        and the read together); None when no pack has a segment of it."""
        parts = [fh.read(n) for _q, _off, n, fh in self._found(uid)]
        return b"".join(parts) if parts else None

    def _found(self, uid: str) -> Iterator[tuple[int, int, int, Any]]:
        """Each segment of ``uid`` as (pack, offset, length, the pack's file positioned at the segment's
        records): a segment whose hash matches is checked against the uid it was written with."""
        k = hash(uid)
        j = bisect_left(self.keys, k)
        name = uid.encode("utf-8", "replace")
        files: dict[int, Any] = {}
        try:
            while j < len(self.keys) and self.keys[j] == k:
                q, off = self.pack_no[j], self.offs[j]
                fh = files.get(q)
                if fh is None:
                    fh = files[q] = open(self.packs[q], "rb")
                fh.seek(off - len(name))
                if fh.read(len(name)) == name:
                    yield q, off, self.lens[j], fh
                j += 1
        finally:
            for fh in files.values():
                fh.close()


_SORT_PASSES = 8      # PackIndex sorts its segments' hashes in this many ranges, one at a time


def _sorted_in_ranges(keys: array) -> Iterator[list[int]]:
    """The positions of ``keys`` (64-bit hashes) in key order (stable), as :data:`_SORT_PASSES` lists, one range
    of hashes each: a sort of all of them at once held two lists of Python ints as long as the run's
    segments (4 MB for 37,000), an eighth of that now, for a pass over the keys per range."""
    step = (1 << 64) // _SORT_PASSES
    for k in range(_SORT_PASSES):
        lo = -(1 << 63) + k * step
        hi = lo + step if k < _SORT_PASSES - 1 else 1 << 63
        yield sorted((j for j in range(len(keys)) if lo <= keys[j] < hi), key=keys.__getitem__)


def read_packs(folder: str | Path) -> PackIndex:
    """The segments of every pack in ``folder`` (:class:`PackIndex`)."""
    try:
        packs = sorted(p for p in Path(folder).iterdir() if p.name.endswith(PACK_SUFFIX))
    except OSError:
        packs = []
    return PackIndex(packs)


def remove_packs(folder: str | Path) -> None:
    """Remove the packs of ``folder`` (a report was written: its pages carry those bytes whole)."""
    try:
        with os.scandir(folder) as entries:
            for e in entries:
                if e.name.endswith(PACK_SUFFIX):
                    os.unlink(e.path)
    except OSError:
        pass


def read_transcript_head(path: str | Path, per_direction: int) -> list[TranscriptChunk]:
    """The chunks of a transcript with at most ``per_direction`` data bytes of each direction (the
    chunk that crosses the bound is cut); gap and truncation records are all kept. Only the record headers
    and the data kept are read (the rest is skipped), so a page's cost follows the number of records, not
    the session's bytes, and memory holds a read buffer, not the file."""
    return [TranscriptChunk(*t) for t in _file_head(path, per_direction)]


_READ_WHOLE = 256 * 1024   # a transcript file up to this size is read at once to find its head


def _file_head(path: str | Path, per_direction: int) -> list[tuple]:
    """:func:`_head_of` of a transcript file: read at once up to :data:`_READ_WHOLE` bytes, else through a buffer
    (record headers read, the data past the bound skipped): a mapped file's pages count as the process's memory once touched, and the headers of a
    transcript of a few MB touch them all (the 1 GB report's peak grew by 2 MB so)."""
    out: list[tuple] = []
    kept = [0, 0]
    size = _REC.size
    unpack = _REC.unpack
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size <= _READ_WHOLE:      # (most: one read, then parsed in memory)
            return _head_of(fh.read(), per_direction)
        while len(head := fh.read(size)) == size:
            d, kind, ts, frame, length = unpack(head)
            if kind != 0:
                out.append((d, kind, ts, frame, length, b""))
                continue
            want = min(length, max(per_direction - kept[d & 1], 0))
            if want:
                data = fh.read(want)
                kept[d & 1] += len(data)
                out.append((d, 0, ts, frame, length, data))
            if length > want:
                fh.seek(length - want, 1)
    return out


def _head_of(blob: Any, per_direction: int) -> list[tuple]:
    """:func:`read_transcript_head` of records in memory, as (direction, kind, ts, frame,
    length, data) tuples."""
    out: list[tuple] = []
    kept = [0, 0]
    pos, n, size = 0, len(blob), _REC.size
    unpack = _REC.unpack_from
    while pos + size <= n:
        d, kind, ts, frame, length = unpack(blob, pos)
        pos += size
        if kind != 0:
            out.append((d, kind, ts, frame, length, b""))
            continue
        want = min(length, max(per_direction - kept[d & 1], 0))
        if want:
            data = blob[pos:pos + want]
            kept[d & 1] += len(data)
            out.append((d, 0, ts, frame, length, data))
        pos += length
    return out


def read_transcript(path: str | Path) -> list[TranscriptChunk]:
    return parse_records(Path(path).read_bytes())


def parse_records(blob: bytes) -> list[TranscriptChunk]:
    """The chunks of a transcript's records (a file's bytes, or a flow's segments of a pack)."""
    out: list[TranscriptChunk] = []
    pos = 0
    n = len(blob)
    while pos + _REC.size <= n:
        d, kind, ts, frame, length = _REC.unpack_from(blob, pos)
        pos += _REC.size
        data = b""
        if kind == 0:
            data = blob[pos:pos + length]
            pos += length
        out.append(TranscriptChunk(d, kind, ts, frame, length, data))
    return out


@dataclass(frozen=True)
class Transcripts:
    """A run's session transcripts: ``out_dir/streams/<uid>.bin`` when the engine wrote one, else the
    flow's segments of a pack in ``out_dir/streams/`` (a flow its page shows whole), else the engine's
    in-memory ``streams`` (uid → chunks with ``direction``, ``ts``, ``frame``, ``data`` (None at a gap)
    and ``gap``: ``analyze(keep_streams=…)``)."""

    out_dir: Path | None
    streams: Mapping[str, Any] | None = None
    #: the streams folder's packs, read once on first use: "packs" (:func:`read_packs`)
    _folder: dict = field(default_factory=dict, compare=False, repr=False)

    def head(self, uid: str, per_direction: int) -> tuple[list[tuple], str]:
        """The flow's chunks as (direction, kind, ts, frame, length, data), with at most ``per_direction``
        data bytes of each direction (``length`` is the whole chunk's), and where they came from:
        ``"transcript"`` (its file), ``"pack"`` (a pack: no file of its own), ``"memory"`` or ``""``
        (none)."""
        if self.out_dir is not None:
            folder = Path(self.out_dir) / "streams"
            if not self._folder:
                self._folder["packs"] = read_packs(folder)
            index = self._folder["packs"]      # (a flow that outgrew the pack is no longer named there)
            blob = index.read(uid) if len(index) else None
            if blob is not None:
                return _head_of(blob, per_direction), "pack"
            try:                     # (not a set of the folder's names: one per session of a large run)
                return _file_head(folder / f"{uid}.bin", per_direction), "transcript"
            except (FileNotFoundError, NotADirectoryError):
                pass
        streams = self.streams or {}
        if uid in streams:
            return _cut(((c.direction, 1, c.ts, c.frame, c.gap, b"") if c.data is None else
                         (c.direction, 0, c.ts, c.frame, len(c.data), c.data) for c in streams[uid]),
                        per_direction), "memory"
        return [], ""


def _cut(chunks: Iterable[tuple], per_direction: int) -> list[tuple]:
    """``chunks`` with at most ``per_direction`` data bytes of each direction (a data chunk past the bound
    is left out, the one that crosses it cut); gap and truncation records all kept."""
    out, kept = [], [0, 0]
    for ch in chunks:
        d, kind, data = ch[0], ch[1], ch[5]
        if kind != 0:
            out.append(ch)
            continue
        piece = data[:max(per_direction - kept[d & 1], 0)]
        if piece:
            kept[d & 1] += len(piece)
            out.append((*ch[:5], piece))
    return out
