"""Per-session transcripts on disk: the reassembled chunks of a flow, capped.

``OUT/streams/<uid>.bin`` holds a flow's chunks in capture order as records of
``direction (1 byte), kind (1 byte: 0 data, 1 gap), ts (float64), frame (uint32),
length (uint32)`` followed by ``length`` data bytes for data records (big
endian). At most ``limits.max_transcript`` bytes per direction are kept; a
final record of kind 2 says how many bytes were left out. The HTML report reads
the first part of each direction through :meth:`Transcripts.head` (handed to it by the
command or the :class:`~decoder.api.Analysis` that made the run, so the report
never reads this format itself), tools all of it with :func:`read_transcript`.

Memory: the open flows' transcripts are written as they grow (:class:`TranscriptSpool`): a flow's
buffer goes to its file at :data:`FLUSH_AT` bytes, and all the open flows together hold at most
:data:`SPOOL_BUDGET` bytes, so memory does not follow the number of open flows times their size
(the 100 MB benchmark corpus keeps its ~4,000 sessions open to the end: 81 MB of buffers before).
"""
from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_REC = struct.Struct("!BBdII")


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
    __slots__ = ("parts", "kept", "dropped", "cap", "held", "started")

    def __init__(self, cap: int) -> None:
        self.parts: list[bytes] = []
        self.kept = [0, 0]
        self.dropped = [0, 0]
        self.cap = cap
        self.held = 0          # bytes in ``parts``
        self.started = False   # part of the transcript is already in its file

    def add(self, direction: int, data: bytes | None, gap: int, ts: float, frame: int) -> bool:
        """Keep a chunk; True the first time this direction's cap cuts something."""
        if data is None:
            self._keep(_REC.pack(direction, 1, ts, frame, gap))
            return False
        room = self.cap - self.kept[direction]
        first_cut = not self.dropped[direction]
        if room <= 0:
            self.dropped[direction] += len(data)
            return first_cut and len(data) > 0
        if len(data) > room:
            self.dropped[direction] += len(data) - room
            data = data[:room]
            self.kept[direction] += len(data)
            self._keep(_REC.pack(direction, 0, ts, frame, len(data)) + data)
            return first_cut
        self.kept[direction] += len(data)
        self._keep(_REC.pack(direction, 0, ts, frame, len(data)) + data)
        return False

    def _keep(self, part: bytes) -> None:
        self.parts.append(part)
        self.held += len(part)

    def flush(self, path: Path) -> int:
        """Append the buffered records to ``path`` (created by the first flush); the bytes written."""
        n = self.held
        if not self.started:
            path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab" if self.started else "wb") as fh:
            fh.write(b"".join(self.parts))
        self.started = True
        self.parts = []
        self.held = 0
        return n

    def write(self, path: Path, ts: float) -> None:
        """The rest of the transcript, and what the cap left out, at the flow's end (``ts``)."""
        for d in (0, 1):
            if self.dropped[d]:
                self._keep(_REC.pack(d, 2, ts, 0, self.dropped[d]))
        self.flush(path)


class TranscriptSpool:
    """The transcripts of the open flows, by uid, written to ``folder/<uid>.bin`` as they grow: a buffer
    is written at :data:`FLUSH_AT` bytes, and when all of them hold more than ``budget`` the large ones
    (then, if that is not enough, all) are written, so memory holds at most about ``budget`` bytes
    whatever the number of open flows. ``cap``: data bytes kept per direction of a flow."""

    def __init__(self, folder: Path, cap: int, budget: int = SPOOL_BUDGET) -> None:
        self.folder = folder
        self.cap = cap
        self.budget = budget
        self.held = 0
        self.flushes = 0
        self._open: dict[str, TranscriptBuffer] = {}

    def add(self, uid: str, direction: int, data: bytes | None, gap: int, ts: float, frame: int) -> bool:
        """Keep a chunk (``data`` None: a gap of ``gap`` bytes); True the first time the cap cuts it."""
        tx = self._open.get(uid)
        if tx is None:
            tx = self._open[uid] = TranscriptBuffer(self.cap)
        before = tx.held
        cut = tx.add(direction, data, gap, ts, frame)
        self.held += tx.held - before
        if tx.held >= FLUSH_AT:
            self.held -= tx.flush(self._path(uid))
            self.flushes += 1
        if self.held > self.budget:
            self._relieve()
        return cut

    def close(self, uid: str, ts: float) -> None:
        """The flow ended at ``ts``: the rest of its transcript to its file (nothing if it had none)."""
        tx = self._open.pop(uid, None)
        if tx is not None:
            self.held -= tx.held
            tx.write(self._path(uid), ts)

    def _relieve(self) -> None:
        """Write the largest buffers until the spool holds half its budget (few files opened per byte)."""
        for uid, tx in sorted(((u, t) for u, t in self._open.items() if t.held), key=lambda ut: -ut[1].held):
            self.held -= tx.flush(self._path(uid))
            self.flushes += 1
            if self.held <= self.budget // 2:
                return

    def _path(self, uid: str) -> Path:
        return self.folder / f"{uid}.bin"


def read_transcript_head(path: str | Path, per_direction: int) -> list[TranscriptChunk]:
    """The chunks of a transcript with at most ``per_direction`` data bytes of each direction (the
    chunk that crosses the bound is cut); gap and truncation records are all kept. The data past the
    bound is skipped on disk, not read, so a page's cost does not follow the session's size."""
    out: list[TranscriptChunk] = []
    kept = [0, 0]
    with open(path, "rb") as fh:
        while True:
            head = fh.read(_REC.size)
            if len(head) < _REC.size:
                break
            d, kind, ts, frame, length = _REC.unpack(head)
            if kind != 0:
                out.append(TranscriptChunk(d, kind, ts, frame, length))
                continue
            want = min(length, max(per_direction - kept[d & 1], 0))
            data = fh.read(want) if want else b""
            if length > want:
                fh.seek(length - want, 1)
            if want:
                kept[d & 1] += len(data)
                out.append(TranscriptChunk(d, 0, ts, frame, length, data))
    return out


def read_transcript(path: str | Path) -> list[TranscriptChunk]:
    blob = Path(path).read_bytes()
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
    engine's in-memory ``streams`` (uid → chunks with ``direction``, ``ts``, ``frame``, ``data`` (None at a
    gap) and ``gap``: ``analyze(keep_streams=…)``)."""

    out_dir: Path | None
    streams: Mapping[str, Any] | None = None

    def head(self, uid: str, per_direction: int) -> tuple[list[tuple], str]:
        """The flow's chunks as (direction, kind, ts, frame, length, data), with at most ``per_direction``
        data bytes of each direction (``length`` is the whole chunk's), and where they came from:
        ``"transcript"`` (the file), ``"memory"`` or ``""`` (none)."""
        if self.out_dir is not None:
            p = Path(self.out_dir) / "streams" / f"{uid}.bin"
            if p.is_file():
                return [(c.direction, c.kind, c.ts, c.frame, c.length, c.data)
                        for c in read_transcript_head(p, per_direction)], "transcript"
        streams = self.streams or {}
        if uid in streams:
            out, kept = [], [0, 0]
            for c in streams[uid]:
                if c.data is None:
                    out.append((c.direction, 1, c.ts, c.frame, c.gap, b""))
                    continue
                piece = c.data[:max(per_direction - kept[c.direction], 0)]
                if piece:
                    kept[c.direction] += len(piece)
                    out.append((c.direction, 0, c.ts, c.frame, len(c.data), piece))
            return out, "memory"
        return [], ""
