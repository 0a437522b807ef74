"""IP fragment reassembly for IPv4 (RFC 791) and IPv6 (RFC 8200 section 4.5).

Keys: IPv4 ``(src, dst, proto, id)``, IPv6 ``(src, dst, identification)``.
Fragments are kept as a sorted list of non-overlapping byte ranges (the hole
bookkeeping of RFC 815 expressed as ranges). On overlap the **first copy wins**
(what Linux and most endpoints keep for the data already queued) and an
``ip_fragment_overlap_differs`` anomaly is raised when the overlapping bytes
differ — the classic evasion trick. Sets that never complete expire after
``limits.fragment_timeout`` seconds of capture time (``ip_fragments_incomplete``).

Limits: a datagram larger than ``limits.max_fragment_bytes`` or more than
``limits.max_fragment_sets`` sets pending at once are dropped with an anomaly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from decoder.link import Fragment
from decoder.ranges import insert_first_copy
from decoder.model import Limits


@dataclass
class _Set:
    first_ts: float
    first_frame: int
    proto: int
    src: bytes
    dst: bytes
    version: int
    starts: list[int] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    total: int | None = None
    size: int = 0
    frames: int = 0


@dataclass(frozen=True, slots=True)
class DefragEvent:
    """An anomaly-worthy happening (the engine turns it into an Anomaly row)."""

    name: str
    detail: str
    frame: int
    ts: float


class Defragmenter:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._sets: dict[tuple, _Set] = {}
        self.events: list[DefragEvent] = []
        self.pending_frames = 0      # fragments held in incomplete sets
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._sets)

    def add(self, frag: Fragment, ts: float, frame: int) -> tuple[int, bytes, bytes, bytes, int] | None:
        """Add a fragment. Returns ``(version, src, dst, payload, proto)`` when a datagram completes."""
        if ts >= self._next_sweep:
            self.expire(ts)
            self._next_sweep = ts + 1.0
        lim = self.limits
        st = self._sets.get(frag.key)
        if st is None:
            if len(self._sets) >= lim.max_fragment_sets:
                oldest_key = next(iter(self._sets))
                old = self._sets.pop(oldest_key)
                self.pending_frames -= old.frames
                self.events.append(DefragEvent(
                    "ip_fragment_sets_too_many",
                    f"more than {lim.max_fragment_sets} fragmented datagrams pending; the oldest was dropped",
                    frame, ts))
            st = _Set(ts, frame, frag.proto, frag.src, frag.dst, frag.version)
            self._sets[frag.key] = st
        st.frames += 1
        self.pending_frames += 1
        start = frag.offset
        data = frag.data
        end = start + len(data)
        if end > lim.max_fragment_bytes:
            self.events.append(DefragEvent(
                "ip_fragment_too_long", f"fragment reaches byte {end}, beyond the largest IP datagram",
                frame, ts))
            self._drop(frag.key)
            return None
        if not frag.more:
            if st.total is not None and st.total != end:
                self.events.append(DefragEvent(
                    "ip_fragment_inconsistent_end",
                    f"two last fragments disagree on the datagram length ({st.total} vs {end})", frame, ts))
            if st.total is None:
                st.total = end
        if frag.offset == 0:
            st.proto = frag.proto
        self._insert(st, start, data, frame, ts)
        if st.total is not None and self._complete(st):
            self._sets.pop(frag.key, None)
            self.pending_frames -= st.frames
            payload = b"".join(st.chunks)[: st.total]
            return st.version, st.src, st.dst, payload, st.proto
        return None

    def _insert(self, st: _Set, start: int, data: bytes, frame: int, ts: float) -> None:
        added, differs = insert_first_copy(st.starts, st.chunks, start, data)
        st.size += added
        if differs:
            self.events.append(DefragEvent(
                "ip_fragment_overlap_differs",
                "overlapping IP fragments carry different bytes; the first copy was kept", frame, ts))

    @staticmethod
    def _complete(st: _Set) -> bool:
        pos = 0
        for s, c in zip(st.starts, st.chunks):
            if s > pos:
                return False
            pos = max(pos, s + len(c))
        return pos >= (st.total or 0)

    def _drop(self, key: tuple) -> None:
        st = self._sets.pop(key, None)
        if st is not None:
            self.pending_frames -= st.frames

    def expire(self, now: float | None) -> None:
        """Drop sets older than the timeout (``now=None``: drop all, at end of capture)."""
        to = self.limits.fragment_timeout
        for key in list(self._sets):
            st = self._sets[key]
            if now is None or now - st.first_ts > to:
                self._sets.pop(key)
                self.pending_frames -= st.frames
                self.events.append(DefragEvent(
                    "ip_fragments_incomplete",
                    f"{st.frames} fragment(s) of a datagram never completed ({st.size} bytes seen)",
                    st.first_frame, st.first_ts))
