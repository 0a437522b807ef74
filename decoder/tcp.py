"""TCP stream reassembly, one instance per direction of a connection.

Follows RFC 9293 sequence space rules: offsets are kept relative to the initial
sequence number (SYN + 1) or, for a connection whose start was not captured, to
the first segment seen, and 32-bit wrap-around is handled by unwrapping every
sequence number against the next expected offset (a signed 31-bit window).

What it does with each segment:

* **in order** → handed on at once (the fast path: no copy, no buffering);
* **old** (retransmission, keep-alive) → trimmed or dropped, counted; if the
  repeated bytes differ from what was already delivered (compared against a
  the last chunks delivered) an overlap anomaly is raised — **first copy wins**;
* **ahead of a hole** → queued (sorted, non-overlapping, first copy wins with an
  anomaly when overlapping copies differ) until the hole fills. Adjacent queued
  pieces are **coalesced** into one range (a ``bytearray`` grown in place; a
  piece is joined to the range before it only when that copies at most
  ``COALESCE_COPY`` bytes, so no order of arrival makes queueing quadratic), so
  a body sent as 100,000 one-byte segments in any order waits as a few
  thousand ranges, not 100,000 entries.

A hole is never zero-filled. It is declared a **gap** (``("gap", length)``)
when the peer acknowledges data beyond it (the data was received, so it will
not be retransmitted: the capture missed it), when more than
``limits.tcp_hole_buffer`` bytes wait above it (the bound on pending data; the
number of separate pending ranges, ``tcp_max_pending_segments``, is a second
guard against many tiny non-adjacent pieces), or when the stream ends (FIN, RST,
idle timeout, end of capture).

Counters say what the capture shows: ``missed`` counts bytes never seen (a
hole a cap forced to be skipped whose bytes arrive later is taken back out of
``missed``, and those late bytes are not retransmissions); ``retrans`` counts
segments carrying at least one byte already delivered or already queued.

Limits: memory per direction is bounded by the hole buffer (plus per-range bookkeeping
for at most ``tcp_max_pending_segments`` ranges) and references to the last eight chunks
delivered (kept to compare retransmissions with; no copies).
"""
from __future__ import annotations

import bisect

from decoder.model import Limits
from decoder.ranges import insert_first_copy

M32 = 0xFFFFFFFF
TAIL_CHUNKS = 8
COALESCE_COPY = 4096     # at most this many bytes are copied to join a queued range to the one before it
SKIPPED_KEPT = 16        # holes skipped by a cap remembered, to recognise their bytes arriving late
_NO_TAIL: tuple = ()     # a finished direction's tail (nothing more is delivered or compared)
_NONE: tuple = ()        # an empty list not made yet: a direction's lists are made by their first item (a SYN
                         # flood holds 100,000 open flows whose four lists per direction stay empty: 45 MB)


class Half:
    """One direction's reassembler. ``out`` collects ``(False, bytes)`` data and
    ``(True, length)`` gaps in stream order."""

    __slots__ = ("base", "next", "starts", "datas", "pending_bytes", "fin", "tail",
                 "retrans", "ooo", "overlap_differs", "max_ack", "missed",
                 "limits", "seen_syn", "closed", "cap_hit", "raw_ack", "expect",
                 "pkts", "seg_bytes", "data_bytes", "seen_a", "seen_d", "skipped")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.base: int | None = None   # absolute seq of offset 0
        self.next = 0                  # next offset expected
        self.starts: list[int] | tuple = _NONE    # pending segments (sorted offsets)
        self.datas: list[bytes | bytearray] | tuple = _NONE
        self.pending_bytes = 0
        self.fin: int | None = None    # offset of FIN
        self.tail: list[tuple[int, bytes]] | tuple = _NONE   # the last TAIL_CHUNKS deliveries (no copies; a list
                                                     # is a tenth of an empty deque's size, two per flow)
        self.retrans = 0
        self.ooo = 0
        self.overlap_differs = 0
        self.max_ack: int | None = None  # highest offset the peer acknowledged
        self.missed = 0
        self.seen_syn = False
        self.closed = False
        self.cap_hit: str | None = None   # set when a cap forced a gap (the engine reports it)
        self.raw_ack: int | None = None   # latest acknowledgement number not yet unwrapped
        # the engine's: the sequence number that continues this direction in order when nothing is queued
        # and no FIN seen (-1 otherwise; :meth:`rearm`), and this direction's counters for the conn row
        self.expect = -1
        self.pkts = 0
        self.seg_bytes = 0                # TCP header and payload
        self.data_bytes = 0               # payload
        self.seen_a = False               # shortcuts for the two most frequent history letters (Flow.mark)
        self.seen_d = False
        self.skipped: list[list[int]] | tuple = _NONE  # [start, end) of holes a cap skipped (last SKIPPED_KEPT)

    def rearm(self) -> None:
        """Recompute :attr:`expect` after anything but the engine's in-order path changed this half."""
        if self.base is not None and self.fin is None and not self.starts:
            self.expect = (self.base + self.next) & M32
        else:
            self.expect = -1

    def compact(self) -> None:
        """The stream ended: drop what only reassembly needed (counters, base and flags stay)."""
        self.tail = _NO_TAIL
        self.expect = -1
        self.starts = self.datas = self.skipped = _NONE
        self.pending_bytes = 0

    # ------------------------------------------------------------ helpers
    def offset(self, seq: int) -> int:
        diff = (seq - self.base - self.next) & M32  # type: ignore[operator]
        if diff >= 0x80000000:
            diff -= 0x100000000
        return self.next + diff

    def syn(self, seq: int) -> None:
        if self.base is None or (not self.seen_syn and self.next == 0 and not self.starts):
            self.base = (seq + 1) & M32
            self.next = 0
        self.seen_syn = True

    def _remember(self, off: int, data: bytes) -> None:
        tail = self.tail
        if not tail:
            tail = self.tail = []
        tail.append((off, data))
        if len(tail) > TAIL_CHUNKS:
            del tail[0]

    def _compare_old(self, off: int, data: bytes) -> bool:
        """True when ``data`` at ``off`` (already delivered) differs from what was delivered
        (compared with the last few chunks delivered; older repeats are counted, not compared)."""
        end = off + len(data)
        for roff, rdata in self.tail:
            rend = roff + len(rdata)
            s, e = max(off, roff), min(end, rend)
            if s < e and data[s - off:e - off] != rdata[s - roff:e - roff]:
                return True
        return False

    # ------------------------------------------------------------ input
    def segment(self, seq: int, data: bytes, fin: bool, out: list) -> int:
        """Add a segment. Returns the number of anomalies of kind overlap-differs it caused."""
        if self.base is None:
            self.base = seq & M32
            self.next = 0
        off = self.offset(seq)
        n = len(data)
        if fin:
            f = off + n
            if self.fin is None:
                self.fin = f
        if not n or self.closed:
            if fin and self.fin is not None and self.fin <= self.next and not self.starts:
                self.closed = True
            return 0
        if self.fin is not None and off >= self.fin and not fin:
            self.retrans += 1  # data after FIN: ignored
            return 0
        end = off + n
        nxt = self.next
        differs = 0
        if off == nxt and not self.starts:            # fast path
            self.next = end
            out.append((False, data))
            self._remember(off, data)
            return 0
        if end <= nxt:                                # all old
            if self.skipped and self._late(off, end) == n:
                return 0                              # bytes of a skipped hole, late: not a repeat
            self.retrans += 1
            if n > 1 and self._compare_old(off, data):
                self.overlap_differs += 1
                differs += 1
            return differs
        repeated = False
        if off < nxt:                                 # partly old
            repeated = not (self.skipped and self._late(off, nxt) == nxt - off)
            if self._compare_old(off, data[: nxt - off]):
                self.overlap_differs += 1
                differs += 1
            data = data[nxt - off:]
            off = nxt
        if off != nxt:
            self.ooo += 1
        added, differs_q = self._queue(off, data)
        differs += differs_q
        if repeated or added < len(data):             # some bytes were delivered or queued already
            self.retrans += 1
        if off == nxt:
            self._drain(out)
            return differs
        lim = self.limits
        while self.starts and (self.pending_bytes > lim.tcp_hole_buffer
                               or len(self.starts) > lim.tcp_max_pending_segments):
            self.cap_hit = ("tcp_hole_buffer_limit" if self.pending_bytes > lim.tcp_hole_buffer
                            else "tcp_pending_segments_limit")
            self._skip_hole(out, forced=True)
        return differs

    def _queue(self, off: int, data: bytes) -> tuple[int, int]:
        """Queue ``data`` at ``off`` (first copy wins) and coalesce it with its neighbours;
        returns (bytes added, 1 if overlapping queued bytes differed else 0)."""
        if not self.starts:
            self.starts, self.datas = [], []
        added, differs = insert_first_copy(self.starts, self.datas, off, data)
        if added:
            self.pending_bytes += added
            self._coalesce(off, off + len(data))
        if differs:
            self.overlap_differs += 1
        return added, int(differs)

    def _coalesce(self, lo: int, hi: int) -> None:
        """Join touching queued ranges around [lo, hi): the left range becomes a bytearray grown
        in place; the right one is copied into it only when it holds at most COALESCE_COPY bytes."""
        starts, datas = self.starts, self.datas
        i = max(bisect.bisect_left(starts, lo) - 1, 0)
        while i + 1 < len(starts) and starts[i] <= hi:
            left, right = datas[i], datas[i + 1]
            if starts[i] + len(left) == starts[i + 1] and len(right) <= COALESCE_COPY:
                if type(left) is not bytearray:
                    left = datas[i] = bytearray(left)
                left += right
                del starts[i + 1]
                del datas[i + 1]
            else:
                i += 1

    def _drain(self, out: list) -> None:
        starts, datas = self.starts, self.datas
        k = 0
        while k < len(starts) and starts[k] <= self.next:
            s, d = starts[k], datas[k]
            k += 1
            self.pending_bytes -= len(d)
            e = s + len(d)
            if e <= self.next:
                continue
            if s < self.next:
                d = d[self.next - s:]
                s = self.next
            if self.fin is not None and e > self.fin:
                d = d[: max(0, self.fin - s)]
                e = s + len(d)
                if not d:
                    continue
            if type(d) is not bytes:
                d = bytes(d)
            out.append((False, d))
            self._remember(s, d)
            self.next = e
        if k:
            del starts[:k]
            del datas[:k]

    def _skip_hole(self, out: list, forced: bool = False) -> None:
        if not self.starts:
            return
        hole = self.starts[0] - self.next
        if hole > 0:
            out.append((True, hole))
            self.missed += hole
            if forced:                                # its bytes may still be in the capture
                if not self.skipped:
                    self.skipped = []
                self.skipped.append([self.next, self.starts[0]])
                if len(self.skipped) > SKIPPED_KEPT:
                    del self.skipped[0]
            self.next = self.starts[0]
        self._drain(out)

    def _late(self, off: int, end: int) -> int:
        """Bytes of [off, end) inside holes a cap skipped: they are in the capture after all, so
        they leave ``missed`` and the hole (a second copy of them is then a retransmission)."""
        got = 0
        kept: list[list[int]] = []
        for h in self.skipped:
            s, e = max(off, h[0]), min(end, h[1])
            if s >= e:
                kept.append(h)
                continue
            got += e - s
            kept += [p for p in ([h[0], s], [e, h[1]]) if p[0] < p[1]]
        self.skipped = kept[-SKIPPED_KEPT:]
        self.missed -= got
        return got

    def ack(self, ackno: int, out: list) -> None:
        """The peer acknowledged up to ``ackno``: holes it covers are gaps now. With nothing queued
        (the common case) only the number is kept; it is unwrapped when it matters."""
        if self.base is None:
            return
        if not self.starts:
            self.raw_ack = ackno
            return
        self._note_ack()
        a = self.offset(ackno)
        if self.max_ack is None or a > self.max_ack:
            self.max_ack = a
        while self.starts and a >= self.starts[0] + len(self.datas[0]):
            self._skip_hole(out)

    def _note_ack(self) -> None:
        if self.raw_ack is not None:
            a = self.offset(self.raw_ack)
            if self.max_ack is None or a > self.max_ack:
                self.max_ack = a
            self.raw_ack = None

    def flush(self, out: list) -> None:
        """End of stream: every queued segment is delivered, holes become gaps,
        and bytes the peer acknowledged but the capture never showed are a final gap."""
        while self.starts:
            self._skip_hole(out)
        if self.base is not None:
            self._note_ack()
        if self.max_ack is not None:
            limit = self.max_ack
            if self.fin is not None:
                limit = min(limit, self.fin)
            if limit > self.next and self.base is not None:
                hole = limit - self.next
                out.append((True, hole))
                self.missed += hole
                self.next = limit
        self.closed = True
