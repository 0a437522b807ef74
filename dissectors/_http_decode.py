"""Bounded, incremental Content-Encoding decoding for HTTP bodies (RFC 9110 section 8.4).

:class:`ContentDecoder` undoes a list of content codings (``gzip``/``x-gzip``,
``deflate`` in its zlib-wrapped form and in the raw form some servers send, and
``br``) one piece of body at a time, so memory never grows with the size of the
decoded object:

* zlib objects are driven with ``decompress(data, max_length)`` and their
  ``unconsumed_tail``; brotli with ``process(data, output_buffer_limit)``; input
  is fed in slices of :data:`_IN_STEP` bytes, output taken in pieces of
  :data:`_OUT_STEP`; the usual piece of a gzip or deflate body (one coding, at
  most one input slice, at most one output piece, no further gzip member in it)
  takes a single ``decompress`` call and none of the general loop's bookkeeping;
* an output cap (``max_out``, ``Limits.max_decompressed``) and a ratio cap
  (``max_ratio``, ``Limits.max_decompression_ratio``: decoded bytes per
  encoded byte, enforced once more than :data:`RATIO_GRACE` bytes came out so
  that small, very repetitive bodies pass) stop decoding; the caller reports
  the anomaly and marks the object incomplete;
* a coding error before any output switches to passing the encoded bytes
  through unchanged (a server that mislabels its body), later it stops
  decoding; a gap stops decoding too (a deflate stream cannot resume).

Multi-member gzip streams are followed. Unknown codings are reported and the
body is passed through undecoded.
"""
from __future__ import annotations

import zlib

try:  # brotli is a declared dependency; tolerate its absence anyway
    import brotli as _brotli
except ImportError:  # pragma: no cover
    _brotli = None

_IN_STEP = 16 * 1024
_OUT_STEP = 64 * 1024
RATIO_GRACE = 1024 * 1024
KNOWN = frozenset({"gzip", "x-gzip", "deflate", "br", "identity"})


class DecodeError(Exception):
    """Corrupt coded data; ``pieces``/``total`` is what was decoded before it."""

    def __init__(self, pieces: list[bytes], total: int, pos: int | None = None) -> None:
        super().__init__("corrupt data")
        self.pieces = pieces
        self.total = total
        self.pos = pos            # index of the bad byte in the piece fed, when known


def _ignore(n: int) -> None:
    return None


class _Stage:
    """One coding: feed(bytes) -> bytes, bounded by ``budget`` per call."""

    __slots__ = ("coding", "obj", "pending", "first", "done")

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.obj = None
        self.pending = b""      # deflate: bytes held until the header can be sniffed
        self.first = True
        self.done = False

    def _make(self, head: bytes):
        if self.coding in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.coding == "deflate":
            # RFC 9110 says zlib (RFC 1950); many servers send raw deflate (RFC 1951).
            if len(head) >= 2 and (head[0] & 0x0F) == 8 and ((head[0] << 8) | head[1]) % 31 == 0:
                return zlib.decompressobj(zlib.MAX_WBITS)
            return zlib.decompressobj(-zlib.MAX_WBITS)
        return _brotli.Decompressor()

    def feed(self, data: bytes, over, consumed_cb) -> tuple[list[bytes], int]:
        """Like :meth:`_feed`, but when zlib finds corrupt data the piece is
        replayed byte by byte from a saved state, so the output decoded before the
        bad byte does not depend on how the body was split into pieces; raises
        :class:`DecodeError` carrying that output."""
        if self.coding == "br" or self.done:
            return self._feed(data, over, consumed_cb)
        saved = (self.obj.copy() if self.obj is not None else None, self.pending, self.first)
        used: list[int] = []

        def count(n: int) -> None:
            used.append(n)
            consumed_cb(n)
        try:
            pieces, total = self._feed(data, over, count)
        except zlib.error:
            consumed_cb(-sum(used))
            self.obj, self.pending, self.first = saved
            out: list[bytes] = []
            total = 0
            for i in range(len(data)):
                try:
                    more, n = self._feed(data[i:i + 1], lambda t, b=total: over(b + t), consumed_cb)
                except zlib.error as exc:
                    raise DecodeError(out, total, i) from exc
                out.extend(more)
                total += n
                if self.done or over(total):
                    break
            return out, total
        return pieces, total

    def _feed(self, data: bytes, over, consumed_cb) -> tuple[list[bytes], int]:
        """Decode ``data``; return output pieces and total output length.
        Stops early (the rest of the input is then dropped) as soon as
        ``over(total_output)`` is true. ``consumed_cb(n)`` reports input consumed."""
        out: list[bytes] = []
        total = 0
        if self.done:
            return out, 0
        if self.obj is None:
            if self.coding != "br":
                data = self.pending + data
                if len(data) < 2:
                    self.pending = data
                    return out, 0
                self.pending = b""
                if not self.first and data[:2] != b"\x1f\x8b":
                    self.done = True          # trailing bytes after the last gzip member
                    return out, 0
            self.first = False
            self.obj = self._make(data[:2])
        if self.coding == "br":
            pos = 0
            while pos < len(data) or not self.obj.can_accept_more_data():
                piece = data[pos:pos + _IN_STEP] if self.obj.can_accept_more_data() else b""
                pos += len(piece)
                chunk = self.obj.process(piece, output_buffer_limit=_OUT_STEP)
                consumed_cb(len(piece))
                if chunk:
                    out.append(chunk)
                    total += len(chunk)
                    if over(total):
                        return out, total
                if self.obj.is_finished():
                    self.done = True
                    break
            return out, total
        pos = 0
        while pos < len(data):
            piece = data[pos:pos + _IN_STEP]
            pos += len(piece)
            while piece:
                chunk = self.obj.decompress(piece, _OUT_STEP)
                used = len(piece) - len(self.obj.unconsumed_tail)
                consumed_cb(used)
                piece = self.obj.unconsumed_tail
                if chunk:
                    out.append(chunk)
                    total += len(chunk)
                    if over(total):
                        return out, total
                if self.obj.eof:
                    # what follows the end of the stream is in unused_data; unconsumed_tail may
                    # hold the same bytes again (when an earlier call stopped at max_length)
                    rest = self.obj.unused_data + data[pos:]
                    if self.coding in ("gzip", "x-gzip"):
                        self.obj = None                      # maybe another gzip member
                        if rest:
                            more, n = self._feed(rest, lambda t, b=total: over(b + t), consumed_cb)
                            out.extend(more)
                            total += n
                        return out, total
                    self.done = True
                    return out, total
                if not used and not chunk:
                    break
        return out, total

    def finish(self) -> bool:
        """True when the stream ended properly."""
        if self.done:
            return True
        if self.obj is None:
            return not self.pending and not self.first
        if self.coding == "br":
            return self.obj.is_finished()
        return self.obj.eof


class ContentDecoder:
    """Undo ``codings`` (as listed in Content-Encoding, applied in that order)."""

    def __init__(self, codings: list[str], max_out: int, max_ratio: int) -> None:
        self.codings = [c for c in codings if c != "identity"]
        self.unknown = [c for c in self.codings if c not in KNOWN or (c == "br" and _brotli is None)]
        self.stages = [] if self.unknown else [_Stage(c) for c in reversed(self.codings)]
        self.max_out = max_out
        self.max_ratio = max_ratio
        self.in_total = 0
        self.out_total = 0
        self.consumed = 0
        self.stopped = ""        # "", "capped", "ratio", "error", "gap"
        self.passthrough = bool(self.unknown)
        self._held = bytearray()  # encoded input kept while nothing came out (error fallback)
        self._held_over = False
        self._over = ""            # set when a stage stopped early because of a cap

    def _count(self, n: int) -> None:
        self.consumed += n

    def feed(self, data: bytes) -> tuple[list[bytes], str, list[bytes]]:
        """Return (pieces before the problem, anomaly name or "", pieces after it).
        Pieces are at most about 64 KiB each and never joined, so a call holds at
        most the cap in memory. "After" is non-empty only when corrupt data makes
        the decoder fall back to storing the body as sent."""
        if not data or self.stopped:
            return [], "", []
        self.in_total += len(data)
        if self.passthrough:
            out, a = self._emit([data])
            return out, a, []
        if self.out_total == 0 and not self._held_over:
            if len(self._held) + len(data) <= RATIO_GRACE:
                self._held += data
            else:
                self._held_over = True
                self._held.clear()
        if len(self.stages) == 1 and len(data) <= _IN_STEP:
            done = self._feed_simple(self.stages[0], data)
            if done is not None:
                return done
        failure: Exception | None = None
        try:
            chunks = [data]
            last = len(self.stages) - 1
            for i, st in enumerate(self.stages):
                nxt: list[bytes] = []
                made = 0
                if failure is not None:
                    break
                for c in chunks:
                    cb = self._count if i == 0 else _ignore
                    base = made

                    def over(t: int, base=base, final=(i == last)) -> bool:
                        n = self.out_total + base + t
                        if n > self.max_out:
                            self._over = self._over or "capped"
                            return True
                        if final and n > RATIO_GRACE and n > self.max_ratio * max(self.consumed, 1):
                            self._over = self._over or "ratio"
                            return True
                        return False

                    try:
                        pieces, k = st.feed(c, over, cb)
                    except DecodeError as exc:
                        pieces, k, failure = exc.pieces, exc.total, exc
                    made += k
                    nxt.extend(pieces)
                    if failure is not None or over(0, base=made):
                        break
                chunks = nxt
        except Exception:  # brotli.error and the like: hostile bytes
            return self._error(data, None)
        if failure is not None:
            if self.out_total == 0 and not any(chunks):
                return self._error(data, failure.pos if len(self.stages) == 1 else None)
            out, _ = self._emit(chunks)
            self.stopped = self.stopped or "error"
            return out, "http_content_encoding_error", []
        out, a = self._emit(chunks)
        return out, a, []

    def _over_at(self, n: int) -> bool:
        """The cap check of :meth:`feed` (the single stage's ``over``) for ``n`` more bytes out."""
        n += self.out_total
        if n > self.max_out:
            self._over = self._over or "capped"
            return True
        if n > RATIO_GRACE and n > self.max_ratio * max(self.consumed, 1):
            self._over = self._over or "ratio"
            return True
        return False

    def _feed_simple(self, st: _Stage, data: bytes) -> tuple[list[bytes], str, list[bytes]] | None:
        """The usual piece of a gzip or deflate body, in one ``decompress`` call: what
        :meth:`feed` does for it, without its general loop. None, with the stage as it was,
        when the piece needs the general path (the stream's first bytes, corrupt data,
        output beyond one step, a further gzip member)."""
        obj = st.obj
        if obj is None or st.done or st.coding == "br":
            return None
        saved = obj.copy()
        try:
            chunk = obj.decompress(data, _OUT_STEP)
        except Exception:
            st.obj = saved
            return None
        if obj.unconsumed_tail or (obj.eof and obj.unused_data and st.coding != "deflate"):
            st.obj = saved
            return None
        self.consumed += len(data)
        hit = self._over_at(len(chunk))
        if obj.eof and not (chunk and hit):
            if st.coding == "deflate":
                st.done = True
            else:
                st.obj = None                 # maybe another gzip member
        out, a = self._emit([chunk] if chunk else [])
        return out, a, []

    def _error(self, data: bytes, pos: int | None) -> tuple[list[bytes], str, list[bytes]]:
        """Corrupt data before any output: store the body as sent from now on
        (what was held, up to the bad byte, then the rest)."""
        if self.out_total == 0 and not self._held_over:
            held = bytes(self._held)
            self._held.clear()
            self.passthrough = True
            if pos is None:
                out, _ = self._emit([held])
                return out, "http_content_encoding_error", []
            cut = len(held) - len(data) + pos + 1
            before, _ = self._emit([held[:cut]])
            after, _ = self._emit([held[cut:]])
            return before, "http_content_encoding_error", after
        self.stopped = "error"
        return [], "http_content_encoding_error", []

    def _emit(self, pieces: list[bytes]) -> tuple[list[bytes], str]:
        anomaly = ""
        room = self.max_out - self.out_total
        out: list[bytes] = []
        for p in pieces:
            if not p:
                continue
            if len(p) > room:
                p = p[:max(room, 0)]
                self.stopped = "capped"
                anomaly = "http_decompression_capped"
            if p:
                out.append(p)
            room -= len(p)
            self.out_total += len(p)
            if self.stopped:
                break
        if not self.passthrough and not self.stopped and (self._over == "ratio" or (
                self.out_total > RATIO_GRACE and self.out_total > self.max_ratio * max(self.consumed, 1))):
            self.stopped = "ratio"
            anomaly = "http_decompression_ratio_limit"
        elif not self.stopped and self._over == "capped":
            self.stopped = "capped"
            anomaly = "http_decompression_capped"
        if self.out_total:
            self._held.clear()
        return out, anomaly

    def gap(self) -> str:
        """A gap in the encoded stream: decoding cannot continue."""
        if self.passthrough or self.stopped:
            return ""
        self.stopped = "gap"
        return "http_content_encoding_gap"

    def finish(self) -> str:
        """Anomaly name when the encoded stream ended early, else ""."""
        if self.passthrough or self.stopped:
            return ""
        if self.in_total == 0:
            return ""
        if not all(st.finish() for st in self.stages):
            return "http_content_encoding_truncated"
        return ""
