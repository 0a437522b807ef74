"""Capture sources: pcap and pcapng files (optionally gzip-compressed, or stdin) as frames.

Formats followed:

* libpcap (https://www.tcpdump.org/manpages/pcap-savefile.5.html, draft-ietf-opsawg-pcap):
  microsecond (``a1b2c3d4``) and nanosecond (``a1b23c4d``) magic in either byte
  order, and Kuznetzov's modified pcap (``a1b2cd34``, 24-byte records). The link
  type is the low 28 bits of the header's network field (the upper bits carry FCS
  information).
* pcapng (draft-ietf-opsawg-pcapng): several sections (SHB) and interfaces (IDB)
  with per-interface link type, ``if_tsresol`` and ``if_tsoffset``; Enhanced,
  Simple and obsolete Packet Blocks; other blocks skipped. Comments (``opt_comment``, option 1)
  of section headers, interfaces and packets are kept in ``CaptureInfo.comments`` (at most
  ``MAX_COMMENTS`` of at most ``MAX_COMMENT`` bytes each; more is a warning).

Why the framing is ours and not ``dpkt.pcap.UniversalReader``: dpkt 1.9.8's pcapng
reader keeps only the first IDB (so multi-interface files get one link type and
one timestamp resolution), and both readers trust record lengths (a record
claiming 4 GB becomes a 4 GB read). Here every length is checked before it is
read, a truncated tail becomes a warning after everything before it was
delivered, and memory stays at one record. dpkt is still used to *write*
captures (tests, benchmark generator, live ``-w``) and for packet parsing
fallbacks.

Limits: a record longer than ``MAX_RECORD`` (256 KiB, four times the largest
snap length in use) is treated as corruption: reading stops there with a
warning, since no resynchronisation is reliable in pcap.
"""
from __future__ import annotations

import io
import os
import stat
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

MAX_RECORD = 256 * 1024
MAX_COMMENTS = 10_000
MAX_COMMENT = 4096
MAX_BLOCK = MAX_RECORD + 4096
# bytes read per refill: under glibc's 128 KiB mmap threshold, so the buffers are reused heap memory; 1 MiB
# blocks were fresh mappings each time (12,800 page faults per 100 MB, 0.3 s of system time per GB)
_BLOCK = 1 << 16


class CaptureError(Exception):
    """The file cannot be read as a capture at all (one clear line for the user)."""


@dataclass(frozen=True, slots=True)
class Frame:
    index: int          # 1-based, as tshark numbers frames
    ts: float           # epoch seconds
    linktype: int
    data: bytes
    wirelen: int


@dataclass(frozen=True, slots=True)
class Comment:
    """A pcapng ``opt_comment``: ``scope`` is ``capture`` (section header), ``interface N`` or ``packet``
    (then ``ts`` and ``frame`` are the packet's; else ``None``)."""
    ts: float | None
    frame: int | None
    scope: str
    text: str


@dataclass
class CaptureInfo:
    path: str
    format: str = ""
    size: int = 0
    linktypes: set[int] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    frames: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    gzip: bool = False
    comments: list[Comment] = field(default_factory=list)
    #: (frame, linktype, bytes) of the packets whose comments were just read: the engine takes them
    #: after decoding the packet, to find its session
    commented: list[tuple[int, int, bytes]] = field(default_factory=list)

    def comment(self, ts: float | None, frame: int | None, scope: str, raw: bytes) -> bool:
        """Keep one comment (UTF-8 as the pcapng draft says; bad bytes replaced), within the caps.
        False when the cap dropped it."""
        if len(self.comments) >= MAX_COMMENTS:
            if len(self.comments) == MAX_COMMENTS:
                self.warnings.append(f"more than {MAX_COMMENTS} pcapng comments; the rest were not kept")
                self.comments.append(Comment(None, None, "capture", "(further comments not kept)"))
            return False
        text = raw[:MAX_COMMENT].rstrip(b"\x00").decode("utf-8", "replace")
        if len(raw) > MAX_COMMENT:
            text += f" [… {len(raw) - MAX_COMMENT} more bytes not kept]"
        self.comments.append(Comment(ts, frame, scope, text))
        return True


class _Prefixed(io.RawIOBase):
    """A stream with some already-read bytes put back in front (for stdin)."""

    def __init__(self, prefix: bytes, inner: BinaryIO) -> None:
        self._prefix = prefix
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(b), len(self._prefix))
            b[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._inner.read(len(b))
        n = len(data)
        b[:n] = data
        return n


SILENCE = 5.0          # seconds without a byte from a FIFO or pipe before a note says wiretale is waiting
SILENCE_AGAIN = 60.0   # and then every this many seconds


def is_stream(path: str | Path) -> bool:
    """Whether ``path`` is read as a stream (stdin, a FIFO, a character device, a socket): it cannot be
    opened twice or checked ahead without losing bytes."""
    name = str(path)
    if name == "-":
        return True
    try:
        mode = os.stat(name).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode)


def _stderr_note(text: str) -> None:
    print(f"wiretale: {text}", file=sys.stderr, flush=True)


class _Patient(io.RawIOBase):
    """A FIFO or pipe read as a stream: waits for data as long as it takes (a FIFO with no writer yet
    included: it is opened without blocking), and says so after :data:`SILENCE` seconds without a
    byte, then every :data:`SILENCE_AGAIN` seconds. End of file when the writer closes."""

    def __init__(self, fd: int, name: str, note: Callable[[str], None]) -> None:
        self._fd = fd
        self._name = name
        self._note = note

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, b) -> int:  # type: ignore[override]
        import select

        quiet = 0.0
        wait = SILENCE
        while True:
            ready, _, _ = select.select([self._fd], [], [], wait)
            if ready:
                try:
                    data = os.read(self._fd, len(b))
                except BlockingIOError:
                    continue
                b[:len(data)] = data
                return len(data)
            quiet += wait
            wait = SILENCE_AGAIN
            self._note(f"{self._name}: no data for {quiet:.0f} s (a FIFO or pipe whose writer is silent or not "
                       "started yet); still waiting — Ctrl-C to stop")

    def close(self) -> None:
        if not self.closed and self._fd > 2:
            os.close(self._fd)
        super().close()


def _open(path: str | Path, note: Callable[[str], None] | None = None) -> tuple[BinaryIO, CaptureInfo]:
    name = str(path)
    note = note or _stderr_note
    if name == "-":
        raw: BinaryIO = sys.stdin.buffer
        info = CaptureInfo(path="<stdin>")
        if is_stream(name) and not sys.stdin.isatty() and stat.S_ISFIFO(os.fstat(0).st_mode):
            raw = io.BufferedReader(_Patient(0, "<stdin>", note), 1 << 16)  # type: ignore[assignment]
    else:
        p = Path(name)
        if not p.exists():
            raise CaptureError(f"{name}: no such file")
        if p.is_dir():
            raise CaptureError(f"{name}: is a directory, not a capture file")
        try:
            if stat.S_ISFIFO(p.stat().st_mode):      # opened at once, even before its writer
                raw = io.BufferedReader(_Patient(os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), name,
                                                 note), 1 << 16)  # type: ignore[assignment]
                info = CaptureInfo(path=name)
            else:
                raw = open(p, "rb")  # noqa: SIM115 - closed by the source
                info = CaptureInfo(path=name, size=os.fstat(raw.fileno()).st_size)
        except OSError as e:
            raise CaptureError(f"{name}: cannot open ({e.strerror or e})") from None
    head = raw.read(2)
    if raw.seekable():
        raw.seek(0)                # a file: read it directly (no Python-level copy per block)
        stream: BinaryIO = raw
    else:
        stream = io.BufferedReader(_Prefixed(head, raw), 1 << 16)  # type: ignore[arg-type]
    if head == b"\x1f\x8b":
        info.gzip = True
        stream = io.BufferedReader(_Gunzip(stream, info), 1 << 16)  # type: ignore[arg-type]
    return stream, info


def check_capture(path: str | Path) -> None:
    """Raise :class:`CaptureError` (one line) unless ``path`` opens and starts like a pcap or pcapng
    file (gzip-compressed too). Reads the first bytes only, and nothing of a pipe or device (``<(zcat …)``):
    those can be read once, by the run itself."""
    p = Path(path)
    if p.exists() and not p.is_file() and not p.is_dir():
        return
    src = PcapFileSource(path)
    try:
        next(src.each(lambda *rec: None), None)
    finally:
        src.close()


class _Gunzip(io.RawIOBase):
    """Streaming gzip (RFC 1952, several members too) that keeps everything decompressed before a
    cut or a corrupt byte: ``gzip.GzipFile`` raises at the end of a truncated file and loses the
    data of that read. When a block of input fails, it is decompressed again from the state before
    it, one byte at a time, so every byte zlib could produce before the corruption is kept, and
    the warning names the compressed offset where it failed ("corrupt at byte N")."""

    def __init__(self, inner: BinaryIO, info: CaptureInfo) -> None:
        self._inner = inner
        self._info = info
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._out = b""
        self._done = False
        self._pos = 0          # compressed bytes consumed before the current block

    def readable(self) -> bool:
        return True

    def _inflate(self, d, raw: bytes) -> bytes:
        """Decompress ``raw`` with ``d`` (and the members after it); updates ``self._d``."""
        out = d.decompress(raw)
        while d.eof and d.unused_data:      # next member
            rest = d.unused_data
            d = self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += d.decompress(rest)
        return out

    def _salvage(self, saved, raw: bytes) -> tuple[bytes, int]:
        """Replay ``raw`` byte by byte from ``saved``: (what came out before the failure, its offset)."""
        self._d = saved
        parts = []
        for i in range(len(raw)):
            try:
                parts.append(self._inflate(self._d, raw[i:i + 1]))
            except zlib.error:
                return b"".join(parts), self._pos + i
        return b"".join(parts), self._pos + len(raw)

    def readinto(self, b) -> int:  # type: ignore[override]
        while not self._out and not self._done:
            raw = self._inner.read(1 << 16)
            if not raw:
                try:
                    self._out = self._d.flush()
                except zlib.error:          # pragma: no cover - flush of a decompressor does not raise in CPython
                    self._out = b""
                if not self._d.eof:
                    self._info.warnings.append(f"the gzip stream is cut short at byte {self._pos}; "
                                               "everything before the cut was read")
                self._done = True
                break
            saved = self._d.copy()
            try:
                self._out = self._inflate(self._d, raw)
            except zlib.error as e:
                self._out, at = self._salvage(saved, raw)
                self._info.warnings.append(f"the gzip stream is corrupt at byte {at} ({e}); "
                                           "everything decompressed before it was read")
                self._done = True
            self._pos += len(raw)
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


_PCAP_MAGICS = {
    0xA1B2C3D4: (1e-6, 16),
    0xA1B23C4D: (1e-9, 16),
    0xA1B2CD34: (1e-6, 24),   # Kuznetzov modified pcap
}


class PcapFileSource:
    """Iterate the frames of a capture file. ``info`` collects facts and warnings.

    Frames are yielded as they are read; the file is never held in memory.
    Raises :class:`CaptureError` only when nothing can be read (not a capture,
    empty, missing); later problems become ``info.warnings``.
    """

    def __init__(self, path: str | Path, stream: io.RawIOBase | None = None,
                 note: Callable[[str], None] | None = None) -> None:
        """Read the file at ``path``, or, with ``stream``, those bytes (``path`` then only names them:
        a live capture file that another process is still writing, see decoder/dumpcap.py). A FIFO or
        pipe is read as a stream; ``note(text)`` is told when it stays silent (default: stderr)."""
        self.path = str(path)
        if stream is None:
            self._stream, self.info = _open(path, note)
        else:
            self._stream, self.info = io.BufferedReader(stream, _BLOCK), CaptureInfo(path=self.path)
        self.bytes_read = 0
        # pcapng Decryption Secrets Blocks go here as (secrets type, data), in file order (before the
        # packets that need them, as editcap --inject-secrets writes them); None: skipped
        self.on_secrets: Callable[[int, bytes], object] | None = None

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:  # pragma: no cover - closing a broken gzip stream
            pass

    def _read(self, n: int) -> bytes:
        try:
            data = self._stream.read(n)
        except (OSError, EOFError, zlib.error) as e:
            # truncated or corrupt gzip: report what we had
            self.info.warnings.append(f"compressed stream ends early or is corrupt ({e})")
            return b""
        self.bytes_read += len(data)
        return data

    def __iter__(self) -> Iterator[Frame]:
        for rec in self.records():
            yield Frame(*rec)

    def records(self) -> Iterator[tuple[int, float, int, bytes, int]]:
        """Frames as plain tuples ``(index, ts, linktype, data, wirelen)``."""
        pending: list[tuple] = []
        for _ in self._blocks(lambda *rec: pending.append(rec)):
            yield from pending
            pending.clear()

    def each(self, fn: Callable[[int, float, int, bytes, int], object]) -> Iterator[None]:
        """Call ``fn(index, ts, linktype, data, wirelen)`` for every frame (the engine's hot path: no
        generator step and no tuple per frame). A generator itself: it yields after every block read
        (pcap: about 64 KiB; pcapng: every record), so the caller can report progress; exhaust it to read
        the whole file."""
        return self._blocks(fn)

    def _blocks(self, fn: Callable[..., object]) -> Iterator[None]:
        try:
            head = self._read(4)
            if len(head) < 4:
                raise CaptureError(f"{self.info.path}: empty file" if not head else
                                   f"{self.info.path}: too short to be a capture ({len(head)} bytes)")
            if head == b"\x0a\x0d\x0d\x0a":
                self.info.format = "pcapng"
                for rec in self._pcapng(head):
                    fn(*rec)
                    yield
                return
            for order in ("<", ">"):
                magic = struct.unpack(order + "I", head)[0]
                if magic in _PCAP_MAGICS:
                    self.info.format = "pcap" + ("-ns" if magic == 0xA1B23C4D else "")
                    yield from self._pcap(order, magic, fn)
                    return
            raise CaptureError(f"{self.info.path}: not a pcap or pcapng capture "
                               f"(starts with {head.hex()})")
        finally:
            self.close()

    # -------------------------------------------------------------- pcap
    def _pcap(self, order: str, magic: int, fn: Callable[..., object]) -> Iterator[None]:
        """Read records into ``fn``, one block at a time (yielding after each)."""
        scale, rec_len = _PCAP_MAGICS[magic]
        rest = self._read(20)
        if len(rest) < 20:
            raise CaptureError(f"{self.info.path}: pcap header is cut short")
        _vmaj, _vmin, _tz, _sig, snaplen, network = struct.unpack(order + "HHiIII", rest)
        linktype = network & 0x0FFFFFFF
        self.info.linktypes.add(linktype)
        rec = struct.Struct(order + "IIII")
        unpack = rec.unpack_from
        index = 0
        info = self.info
        read = self._read
        buf = b""
        pos = 0
        first_ts = None
        ts = 0.0
        try:
            while True:
                # refill: keep the unread tail, add a block (or as much as the next record needs)
                need = rec_len
                if len(buf) - pos >= rec_len:
                    incl = unpack(buf, pos)[2]
                    if incl > MAX_RECORD:
                        info.warnings.append(
                            f"record {index + 1} claims {incl} bytes (over {MAX_RECORD}); the file is corrupt "
                            "from there on and reading stopped")
                        return
                    need = rec_len + incl
                buf = buf[pos:] + read(max(_BLOCK, need - (len(buf) - pos)))
                pos = 0
                blen = len(buf)
                if blen < need:
                    if buf and need == rec_len:
                        info.warnings.append(f"capture is cut short inside the header of record {index + 1}")
                    elif buf:
                        info.warnings.append(f"capture is cut short inside record {index + 1} "
                                             f"({blen - rec_len} of {need - rec_len} bytes)")
                    return
                if first_ts is None:
                    first_ts = info.first_ts = unpack(buf, 0)[0] + unpack(buf, 0)[1] * scale
                # the hot loop: every record wholly inside the buffer
                last = blen - rec_len
                while pos <= last:
                    sec, frac, incl, orig = unpack(buf, pos)
                    start = pos + rec_len
                    end = start + incl
                    if end > blen or incl > MAX_RECORD:
                        break
                    index += 1
                    ts = sec + frac * scale
                    fn(index, ts, linktype, buf[start:end], orig if orig > incl else incl)
                    pos = end
                yield
        finally:
            info.frames = index
            if index:
                info.last_ts = ts

    # -------------------------------------------------------------- pcapng
    def _pcapng(self, first_type: bytes) -> Iterator[tuple]:
        info = self.info
        read = self._read
        index = 0
        order = "<"
        ifaces: list[tuple[int, float, float, int]] = []  # linktype, scale, offset, snaplen
        pending_type: bytes | None = first_type
        last_ts = 0.0
        while True:
            if pending_type is not None:
                btype_raw = pending_type
                pending_type = None
            else:
                btype_raw = read(4)
                if not btype_raw:
                    return
                if len(btype_raw) < 4:
                    info.warnings.append("capture is cut short between blocks")
                    return
            blen_raw = read(4)
            if len(blen_raw) < 4:
                info.warnings.append("capture is cut short inside a block header")
                return
            if btype_raw == b"\x0a\x0d\x0d\x0a":
                bom = read(4)
                if len(bom) < 4:
                    info.warnings.append("capture is cut short inside a section header")
                    return
                if bom == b"\x4d\x3c\x2b\x1a":
                    order = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    order = ">"
                else:
                    if index == 0:
                        raise CaptureError(f"{info.path}: pcapng section header has an unknown byte order")
                    info.warnings.append("a pcapng section header has an unknown byte order; reading stopped")
                    return
                blen = struct.unpack(order + "I", blen_raw)[0]
                if blen < 28 or blen % 4 or blen > MAX_BLOCK:
                    info.warnings.append(f"pcapng section header with bad length {blen}; reading stopped")
                    if index == 0 and blen < 28:
                        raise CaptureError(f"{info.path}: pcapng section header is malformed")
                    return
                body = read(blen - 12)
                if len(body) < blen - 12:
                    info.warnings.append("capture is cut short inside a section header")
                    return
                for code, val in _options(body[:-4], 12, order):
                    if code == 1:
                        info.comment(None, None, "capture", val)
                ifaces = []  # interfaces are numbered per section
                continue
            btype = struct.unpack(order + "I", btype_raw)[0]
            blen = struct.unpack(order + "I", blen_raw)[0]
            if blen < 12 or blen % 4 or blen > MAX_BLOCK:
                info.warnings.append(
                    f"pcapng block of type {btype:#x} claims {blen} bytes; the file is corrupt from "
                    "there on and reading stopped")
                return
            body = read(blen - 8)
            if len(body) < blen - 8:
                info.warnings.append(f"capture is cut short inside a block (type {btype:#x})")
                return
            body = body[:-4]  # trailing length
            if btype == 1:  # IDB
                if len(body) < 8:
                    info.warnings.append("malformed interface description block skipped")
                    ifaces.append((1, 1e-6, 0.0, 0))
                    continue
                lt, _res, snap = struct.unpack_from(order + "HHI", body)
                scale, offset = 1e-6, 0.0
                for code, val in _options(body, 8, order):
                    if code == 1:
                        info.comment(None, None, f"interface {len(ifaces)}", val)
                    elif code == 9 and val:
                        r = val[0]
                        scale = 2.0 ** -(r & 0x7F) if r & 0x80 else 10.0 ** -(r & 0x7F)
                    elif code == 14 and len(val) >= 8:
                        offset = float(struct.unpack(order + "q", val[:8])[0])
                ifaces.append((lt, scale, offset, snap))
                info.linktypes.add(lt)
            elif btype in (6, 2):  # EPB, PB
                if len(body) < 20:
                    info.warnings.append("malformed packet block skipped")
                    continue
                if btype == 6:
                    iface, hi, lo, cap, orig = struct.unpack_from(order + "IIIII", body)
                else:
                    iface, _drops, hi, lo, cap, orig = struct.unpack_from(order + "HHIIII", body)
                if iface >= len(ifaces):
                    info.warnings.append(f"packet block names interface {iface}, which is not described; skipped")
                    continue
                lt, scale, offset, _snap = ifaces[iface]
                data = body[20:20 + cap]
                if len(data) < cap:
                    info.warnings.append("packet block shorter than its captured length; data cut")
                index += 1
                ts = offset + ((hi << 32) | lo) * scale
                last_ts = ts
                info.frames = index
                if info.first_ts is None:
                    info.first_ts = ts
                info.last_ts = ts
                opts = 20 + ((cap + 3) & ~3)
                if len(body) > opts:
                    kept = False
                    for code, val in _options(body, opts, order):
                        if code == 1:
                            kept = info.comment(ts, index, "packet", val) or kept
                    if kept:
                        info.commented.append((index, lt, data))
                yield index, ts, lt, data, max(orig, len(data))
            elif btype == 3:  # SPB: interface 0, no timestamp
                if not ifaces or len(body) < 4:
                    info.warnings.append("simple packet block without an interface; skipped")
                    continue
                orig = struct.unpack_from(order + "I", body)[0]
                lt, _scale, _off, snap = ifaces[0]
                cap = min(orig, snap or orig, len(body) - 4)
                index += 1
                info.frames = index
                yield index, last_ts, lt, body[4:4 + cap], orig
            elif btype == 10:  # DSB: secrets type, length, data
                if len(body) < 8:
                    info.warnings.append("malformed decryption secrets block skipped")
                    continue
                stype, slen = struct.unpack_from(order + "II", body)
                if self.on_secrets is not None:
                    self.on_secrets(stype, body[8:8 + slen])
            # other blocks (NRB, ISB, custom) carry nothing we decode


def _options(body: bytes, pos: int, order: str) -> Iterator[tuple[int, bytes]]:
    n = len(body)
    while pos + 4 <= n:
        code, length = struct.unpack_from(order + "HH", body, pos)
        pos += 4
        if code == 0:
            return
        yield code, body[pos:pos + length]
        pos += (length + 3) & ~3
