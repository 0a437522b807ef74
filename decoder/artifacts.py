"""The artifact store: objects that travelled, written under names we choose.

Captured names are hostile (``../../etc/passwd``, NUL, control characters,
10 KB long). On disk every object is ``files/<fuid>-<safe name>`` where the safe
name keeps letters, digits, ``.``, ``-`` and ``_`` of the last path component,
never starts with a dot and is at most 80 characters; the original name is kept
only as data (``filename`` column). Content is hashed (sha256) while it is
written, capped at ``limits.max_file_size`` (``file_size_capped``), and gaps
are counted (``missing_bytes``), never zero-filled. Data is buffered per object
(the chunks themselves, up to 256 KB) and appended in blocks with one ``writev``
each, so thousands of open objects need no open descriptors and no byte is
copied on the way to the kernel. The last object closed, when all its bytes were still buffered at close,
keeps them until the next close: reading it back at once (an e-mail is parsed as soon as it is closed,
decoder.session) takes no open, read and close of the file just written (issue 26: fewer syscalls per object).
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from decoder.model import Limits

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_FLUSH = 256 * 1024
_IOV = 1024               # chunks per writev (Linux's IOV_MAX)
_writev = getattr(os, "writev", None)      # not on Windows


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data`` to descriptor ``fd`` (``os.write`` may take part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def safe_name(hint: str | None, default: str = "file") -> str:
    """A file-system-safe name from a captured one (never a path)."""
    if not hint:
        return default
    name = str(hint).replace("\\", "/").split("/")[-1]
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    name = _SAFE.sub("_", name).strip("._-")
    if not name:
        return default
    if len(name) > 80:
        root, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = root[: 79 - len(ext)] + "." + ext
        else:
            name = name[:80]
    return name


_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"), (b"GIF87a", 0, "image/gif"), (b"GIF89a", 0, "image/gif"),
    (b"\xff\xd8\xff", 0, "image/jpeg"), (b"%PDF-", 0, "application/pdf"), (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"), (b"BZh", 0, "application/x-bzip2"),
    (b"\xfd7zXZ\x00", 0, "application/x-xz"), (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"), (b"\x7fELF", 0, "application/x-executable"),
    (b"MZ", 0, "application/x-dosexec"), (b"RIFF", 0, "application/octet-stream"),
    (b"\x00\x00\x01\x00", 0, "image/x-icon"), (b"BM", 0, "image/bmp"), (b"OggS", 0, "audio/ogg"),
    (b"ID3", 0, "audio/mpeg"), (b"wOFF", 0, "font/woff"), (b"wOF2", 0, "font/woff2"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),
    (b"ftyp", 4, "video/mp4"), (b"<?xml", 0, "text/xml"),
)


def sniff_mime(head: bytes) -> str:
    """A small content sniffer (magic numbers, then text heuristics)."""
    for magic, off, mime in _MAGIC:
        if head[off:off + len(magic)] == magic:
            if mime == "application/octet-stream" and head[8:12] == b"WEBP":
                return "image/webp"
            return mime
    if not head:
        return "application/x-empty"
    h = head[:512].lstrip()
    low = h[:64].lower()
    if low.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "text/html"
    if low.startswith(b"<svg"):
        return "image/svg+xml"
    if h[:1] in (b"{", b"[") and b"\x00" not in h:
        return "application/json"
    if low.startswith((b"received:", b"from:", b"return-path:", b"message-id:", b"mime-version:",
                       b"date:", b"subject:", b"to:", b"delivered-to:", b"x-")) and b"\n" in h:
        return "message/rfc822"
    sample = head[:1024]
    if b"\x00" in sample:
        return "application/octet-stream"
    try:
        sample.decode("utf-8")
        return "text/plain"
    except UnicodeDecodeError as e:
        if e.start > len(sample) - 4:   # cut inside a multi-byte character
            return "text/plain"
        return "application/octet-stream"


@dataclass
class _Open:
    fuid: str
    uid: str
    ts: float
    source: str
    kind: str
    name_hint: str | None
    mime_type: str | None
    total_size: int | None
    direction: str | None
    parent_fuid: str | None
    path: str | None                                # files/<fuid>-<safe name> below the store's root
    sha: "hashlib._Hash" = field(default_factory=hashlib.sha256)
    buf: list = field(default_factory=list)      # chunks (bytes) not yet written
    buffered: int = 0                              # their bytes
    head: bytes = b""
    seen: int = 0
    missing: int = 0
    capped: bool = False
    gaps: int = 0
    written: bool = False


class ArtifactStore:
    """Writes objects below ``root/files``; ``root=None`` keeps only hashes and metadata."""

    def __init__(self, root: Path | None, limits: Limits) -> None:
        self.root = root
        self.files_dir = (root / "files") if root is not None else None
        self._files_dir = str(self.files_dir) if self.files_dir is not None else None
        self.limits = limits
        self._open: dict[str, _Open] = {}
        self.open_by_uid: dict[str, int] = {}     # flows with objects still open
        self.capped = 0
        self.count = 0
        self._dir_made = False
        self._root = str(root) if root is not None else None
        # the last object closed whose file is exactly its buffered chunks: (its path, the chunks)
        self._last: tuple[str, list[bytes]] | None = None

    def open(self, fuid: str, uid: str, ts: float, source: str, kind: str, name_hint: str | None,
             mime_type: str | None, total_size: int | None, direction: str | None,
             parent_fuid: str | None = None) -> bool:
        if fuid in self._open:
            self.close(fuid, ts, complete=False, reason="reopened")
        if self.count >= self.limits.max_files:
            return False
        self.count += 1
        path = None
        if self.files_dir is not None:
            if not self._dir_made:
                self.files_dir.mkdir(parents=True, exist_ok=True)
                self._dir_made = True
            path = os.path.join(self._files_dir, f"{fuid}-{safe_name(name_hint, kind)}")
            if self._last is not None and self._last[0] == path:
                self._last = None           # the file is written anew
        self.open_by_uid[uid] = self.open_by_uid.get(uid, 0) + 1
        self._open[fuid] = _Open(fuid, uid, ts, source, kind, name_hint, mime_type, total_size,
                                 direction, parent_fuid, path)
        return True

    def write(self, fuid: str, data: bytes) -> bool:
        """Append data; False when the size cap was hit by this write (first time only)."""
        o = self._open.get(fuid)
        if o is None or not data:
            return True
        room = self.limits.max_file_size - o.seen
        hit = False
        if len(data) > room:
            data = data[: max(room, 0)]
            if not o.capped:
                o.capped = True
                hit = True
                self.capped += 1
        if not data:
            return not hit
        if len(o.head) < 1024:
            o.head += data[: 1024 - len(o.head)]
        o.sha.update(data)
        o.seen += len(data)
        if o.path is not None:
            if type(data) is not bytes:      # a view would pin the buffer it is cut from
                data = bytes(data)
            o.buf.append(data)
            o.buffered += len(data)
            if o.buffered >= _FLUSH:
                self._flush(o)
        return not hit

    def gap(self, fuid: str, length: int) -> None:
        o = self._open.get(fuid)
        if o is not None and length > 0:
            o.missing += length
            o.gaps += 1

    def _flush(self, o: _Open, final: bool = False) -> None:
        """Write buffered data: the first write creates the file, later ones append; an empty
        object is created at close. One open per object when it fits the buffer."""
        if o.path is None or not (o.buf or (final and not o.written)):
            return
        fd = os.open(o.path, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if o.written else os.O_TRUNC), 0o666)
        try:
            buf = o.buf
            for i in range(0, len(buf), _IOV):
                part = buf[i:i + _IOV]
                n = _writev(fd, part) if _writev is not None else 0
                if n < sum(map(len, part)):       # a short write (a signal, a full disk), or no writev
                    write_all(fd, memoryview(b"".join(part))[n:])
        finally:
            os.close(fd)
        o.written = True
        o.buf = []
        o.buffered = 0

    def close(self, fuid: str, ts: float, complete: bool = True, reason: str = "") -> dict | None:
        o = self._open.pop(fuid, None)
        if o is None:
            return None
        left = self.open_by_uid.get(o.uid, 1) - 1
        if left > 0:
            self.open_by_uid[o.uid] = left
        else:
            self.open_by_uid.pop(o.uid, None)
        chunks, flushed = o.buf, o.written
        self._flush(o, final=True)
        if o.path is not None:
            self._last = None if flushed else (o.path, chunks)     # written in one go: the file is these chunks
        complete = complete and not o.missing and not o.capped
        if o.total_size is not None and o.seen + o.missing < o.total_size:
            complete = False
        row = {
            "ts": o.ts, "uid": o.uid, "fuid": o.fuid, "source": o.source, "kind": o.kind,
            "direction": o.direction, "filename": o.name_hint, "mime_type": o.mime_type,
            "sniffed_mime_type": sniff_mime(o.head), "seen_bytes": o.seen, "total_bytes": o.total_size,
            "missing_bytes": o.missing, "complete": complete, "truncated": o.capped,
            "sha256": o.sha.hexdigest(), "parent_fuid": o.parent_fuid,
            "path": os.path.join("files", os.path.basename(o.path)) if o.path is not None else None,
            "close_ts": ts, "close_reason": reason,
        }
        return row

    def add_bytes(self, fuid: str, uid: str, ts: float, source: str, kind: str, name_hint: str | None,
                  mime_type: str | None, data: bytes | Iterable[bytes], parent_fuid: str | None = None,
                  direction: str | None = None, size: int | None = None) -> dict | None:
        """A whole object at once (MIME attachments): ``data``, or its pieces in order when ``size`` (their
        total) is given."""
        if not self.open(fuid, uid, ts, source, kind, name_hint, mime_type, len(data) if size is None else size,
                         direction, parent_fuid):
            return None
        for piece in ((data,) if size is None else data):
            self.write(fuid, piece)
        return self.close(fuid, ts, complete=True)

    def read(self, row: dict, limit: int) -> bytes | None:
        if self.root is None or not row.get("path"):
            return None
        p = os.path.join(self._root, row["path"])
        last = self._last
        if last is not None and last[0] == p:          # the object just closed: its bytes are still here
            data = b"".join(last[1])
            return data if len(data) <= limit else data[:limit]
        try:
            with open(p, "rb") as fh:
                return fh.read(limit)
        except OSError:
            return None

    def rename(self, row: dict, new_hint: str | None) -> None:
        """Give a stored object its proper (safe) name after cross-flow assembly."""
        if self.root is None or not row.get("path") or not new_hint:
            return
        old = self.root / row["path"]
        new = old.with_name(f"{row['fuid']}-{safe_name(new_hint, row.get('kind') or 'file')}")
        if new != old and old.exists():
            if self._last is not None and self._last[0] == str(old):
                self._last = (str(new), self._last[1])
            os.replace(old, new)
            row["path"] = os.path.relpath(new, self.root)

    def close_all(self, ts: float) -> list[dict]:
        return [r for f in list(self._open) if (r := self.close(f, ts, complete=False,
                                                                 reason="capture ended"))]
