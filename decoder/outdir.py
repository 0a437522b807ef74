"""The output folder of ``wiretale read``: owned safely, describing exactly one run.

* **A lock.** ``OUT/.wiretale.lock`` is held (``flock``, released by the kernel however the
  process ends) for the whole run: a second run into the same OUT is refused with one line
  naming the first one's pid.
* **A run manifest.** ``OUT/.wiretale-run.json`` says OUT was made by wiretale and lists what
  the run owns: the folders it created (``tables``, ``sessions``, ``files``, ``emails``,
  ``streams``, ``assets``: everything below them is its own) and the files it wrote elsewhere in OUT. It is
  written when the run claims OUT (state ``running``) and again at the end (``complete`` or
  ``partial``), so even a run killed outright leaves its files listed.
* **Foreign folders are refused.** A non-empty OUT without a manifest (the user's own files) is
  refused unless ``--force`` (an OUT of a wiretale from before manifests — its ``summary.json`` names
  wiretale and nothing else is there — counts as an earlier run); with ``--force`` those files are left alone, only same-named ones
  (``index.html``, ``summary.json``, …) are replaced.
* **One run per folder.** What an earlier run owned (its manifest) is removed when a new run
  claims OUT, so the folder never mixes pages or tables of two runs. Nothing is ever followed
  through a symbolic link, and only paths inside OUT are touched.
* **Scratch elsewhere.** Spilled rows and the report's sorting files live in a private
  temporary folder (``tempfile.mkdtemp``: mode 0700, under ``$TMPDIR``), removed at the end;
  nothing is read back from OUT, which other users may be able to write.

Errors about OUT itself are :class:`OutputError` (one line, naming the path and what to do).
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:        # pragma: no cover - not POSIX: no lock (documented)
    fcntl = None  # type: ignore[assignment]

LOCK = ".wiretale.lock"
MANIFEST = ".wiretale-run.json"
OWN_DIRS = ("tables", "sessions", "files", "emails", "streams", "assets")
TOP_FILES = ("summary.json", "http.har", "index.html")
#: what ``wiretale batch`` owns in its OUT (each capture's own folder under ``captures/`` is claimed by
#: its read, as a read's OUT)
BATCH_DIRS = ("captures", "tables", "assets")
BATCH_FILES = ("index.html", "summary.csv", "summary.json", "grades.csv")
#: what ``wiretale live -o OUT`` owns: a read's folders and files, and the capture file it records
LIVE_FILES = TOP_FILES + ("capture.pcapng",)
_TMP_MARK = ".tmp-"        # reports.export.replacing: ".NAME.tmp-PID" beside NAME while it is written


class OutputError(Exception):
    """OUT cannot be used (one line for the user); ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


#: errors of the environment (not wiretale's bugs) on output paths, with what to do about them
ENV_ERRORS = {
    errno.ENOSPC: "the disk is full: free some space or choose another -o",
    errno.EDQUOT: "the disk quota is exhausted: free some space or choose another -o",
    errno.EACCES: "permission denied: check its permissions, or choose another -o",
    errno.EPERM: "operation not permitted: check its permissions, or choose another -o",
    errno.EROFS: "the file system is read-only: choose another -o",
    errno.ENOENT: "no such file or folder (removed during the run?)",
    errno.EEXIST: "it exists and is in the way: remove it or choose another -o",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another -o",
    errno.EISDIR: "it is a folder where a file was expected: remove it or choose another -o",
}


def describe_env_error(e: OSError, out: str | Path | None = None) -> str | None:
    """One line for an environment error on a path, or None when ``e`` is not one. A write that
    failed names no file: ``out`` (the output folder) is named then."""
    what = ENV_ERRORS.get(e.errno or 0)
    if what is None:
        return None
    where = e.filename if e.filename is not None else (f"writing in {out}" if out is not None else "output")
    also = f" → {e.filename2}" if getattr(e, "filename2", None) else ""
    return f"{where}{also}: {what}"


def _rel_ok(out: Path, rel: str) -> Path | None:
    """``OUT/rel`` when ``rel`` is a plain relative path staying inside OUT, else None."""
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel or "\0" in rel:
        return None
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return out.joinpath(*parts)


class OutDir:
    """OUT claimed for one run: see the module docstring. Use :func:`claim`."""

    def __init__(self, out: Path, lock_fd: int | None, created: list[str], foreign: set[str],
                 top_files: tuple[str, ...] = TOP_FILES) -> None:
        self.out = out
        self._lock_fd = lock_fd
        self.created = created          # own folders this run created (everything below is its own)
        self.foreign = foreign          # files that were there and are not ours (--force)
        self.top_files = top_files      # the run's files at OUT's top, listed even before they exist
        self.scratch = Path(tempfile.mkdtemp(prefix="wiretale-scratch-"))
        self.state = "running"

    # ------------------------------------------------------------ manifest
    def owned_files(self) -> list[str]:
        """Files of this run outside the folders it created (walked now; symlinks not followed)."""
        out = []
        for name in sorted(os.listdir(self.out)):
            if name in (LOCK, MANIFEST) or name in self.created:
                continue
            p = self.out / name
            rel = name
            if p.is_symlink() or not p.is_dir():
                if rel not in self.foreign:
                    out.append(rel)
                continue
            for root, dirs, files in os.walk(p):
                for f in files:
                    r = os.path.relpath(os.path.join(root, f), self.out).replace(os.sep, "/")
                    if r not in self.foreign:
                        out.append(r)
        return out

    def write_manifest(self, state: str, reason: str | None = None) -> None:
        from decoder.version import __version__

        self.state = state
        doc: dict[str, Any] = {"tool": "wiretale", "version": __version__, "state": state, "pid": os.getpid(),
                               "written_at": time.time(), "dirs": self.created,
                               "files": sorted(set(self.owned_files()) | {f for f in self.top_files
                                                                        if f not in self.foreign})}
        if reason:
            doc["reason"] = reason
        tmp = self.out / f".{MANIFEST}{_TMP_MARK}{os.getpid()}"
        try:
            tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.out / MANIFEST)
        except BaseException:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise

    def close(self) -> None:
        """Remove the scratch folder and release the lock (the lock file stays: removing it would
        let a third run lock a different file than a second one waiting on it)."""
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


def _lock(out: Path) -> int | None:
    if fcntl is None:  # pragma: no cover
        return None
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            other = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        finally:
            os.close(fd)
        raise OutputError(f"{out}: another wiretale run (pid {other}) is writing there; wait for it to end "
                          "or choose another -o", 2) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _json_object(p: Path) -> dict | None:
    """The JSON object in the regular file ``p`` (not followed through a link), or None."""
    if p.is_symlink() or not p.is_file():
        return None
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _read_manifest(out: Path) -> dict | None:
    doc = _json_object(out / MANIFEST)
    return doc if doc is not None and doc.get("tool") == "wiretale" else None


_LEGACY_TOP = re.compile(r"(index(-\d+)?\.html|summary\.json|http\.har)$")


def _legacy_manifest(out: Path, own_dirs: tuple[str, ...], top_files: tuple[str, ...]) -> dict | None:
    """An OUT written by a wiretale from before run manifests: its ``summary.json`` is one wiretale
    writes (``read``'s names wiretale; ``batch``'s has ``captures`` and ``totals``) and every entry is
    one such a run writes. Its files are then the earlier run's (as a manifest would say)."""
    doc = _json_object(out / "summary.json")
    if doc is None or not ("wiretale" in doc or ("captures" in doc and "totals" in doc)):
        return None
    names = [n for n in os.listdir(out) if n not in (LOCK, MANIFEST)]
    dirs = [n for n in names if n in own_dirs and (out / n).is_dir() and not (out / n).is_symlink()]
    files = [n for n in names if (n in top_files or _LEGACY_TOP.match(n)) and (out / n).is_file()]
    if len(dirs) + len(files) != len(names):
        return None            # something else is there too: not only a run's output
    return {"tool": "wiretale", "dirs": dirs, "files": files}


def _remove_tree_files(top: Path) -> None:
    """Remove ``top`` (a folder an earlier run created) without following links out of it."""
    if top.is_symlink() or not top.is_dir():
        if top.is_symlink() or top.exists():
            top.unlink()
        return
    shutil.rmtree(top)             # rmtree does not follow symbolic links (it unlinks them)


def _remove_earlier_run(out: Path, doc: dict) -> None:
    for d in doc.get("dirs") or []:
        if d in OWN_DIRS or d in BATCH_DIRS:      # (an earlier run of any verb: only names a verb owns)
            _remove_tree_files(out / d)
    for rel in doc.get("files") or []:
        p = _rel_ok(out, rel)
        if p is not None and (p.is_symlink() or p.is_file()):
            p.unlink()
    for name in os.listdir(out):      # temporary names a killed run left (".NAME.tmp-PID")
        if name.startswith(".") and _TMP_MARK in name and name != LOCK:
            p = out / name
            if p.is_symlink() or p.is_file():
                p.unlink()
    for d in {str(Path(r).parent) for r in doc.get("files") or [] if "/" in str(r)}:
        p = _rel_ok(out, d)
        while p is not None and p != out:
            try:
                p.rmdir()                 # only when emptied
            except OSError:
                break
            p = p.parent


def claim(out: Path, force: bool = False, own_dirs: tuple[str, ...] = OWN_DIRS,
          top_files: tuple[str, ...] = TOP_FILES) -> OutDir:
    """Make OUT this run's: create it, lock it, refuse foreign or busy folders, remove the earlier
    run's files, write the manifest. Raises :class:`OutputError` or OSError (environment).

    ``own_dirs``/``top_files``: the folders and top-level files the verb writes (``read``: the
    defaults; ``batch``: :data:`BATCH_DIRS`, :data:`BATCH_FILES`; ``live``: :data:`LIVE_FILES`)."""
    out = Path(out)
    if out.is_symlink() and not out.is_dir():
        raise OutputError(f"{out}: is a symbolic link to nothing usable; choose another -o", 2)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; -o names the output folder", 2)
    out.mkdir(parents=True, exist_ok=True)
    fd = _lock(out)
    try:
        doc = _read_manifest(out) or _legacy_manifest(out, own_dirs, top_files)
        entries = [n for n in os.listdir(out) if n not in (LOCK, MANIFEST)]
        if doc is None and entries and not force:
            shown = ", ".join(sorted(entries)[:3]) + (", …" if len(entries) > 3 else "")
            raise OutputError(f"{out}: holds {len(entries)} entries wiretale did not write ({shown}); choose an "
                              "empty or new folder, or add --force to write beside them (only wiretale's own "
                              "file names are then replaced)", 2)
        if doc is not None:
            _remove_earlier_run(out, doc)
        foreign: set[str] = set()
        for name in os.listdir(out):
            if name in (LOCK, MANIFEST):
                continue
            p = out / name
            if p.is_dir() and not p.is_symlink():
                for root, _dirs, files in os.walk(p):
                    foreign.update(os.path.relpath(os.path.join(root, f), out).replace(os.sep, "/") for f in files)
            else:
                foreign.add(name)
        created = [d for d in own_dirs if not (out / d).exists()]
        od = OutDir(out, fd, created, foreign, top_files)
    except BaseException:
        if fd is not None:
            os.close(fd)
        raise
    od.write_manifest("running")
    return od
