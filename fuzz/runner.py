"""Run one capture (bytes) through the whole pipeline and check the invariants that must hold
whatever the bytes are. Shared by the Hypothesis tests, the mutation loop and the atheris harness.

Invariants (:func:`check`):

* nothing escapes: ``Engine(strict=True)`` re-raises dissector bugs, and any exception is a failure;
* packet totals reconcile: ``total == sum(by_kind) == decoded + skipped`` and ``total`` equals the
  number of records the reader delivered (``captures[*].frames``); an unreadable file has no packets
  and one error line;
* ``limits_hit`` only names cap anomalies and every count matches the anomalies table;
* nothing is written outside ``OUT``: every file below it resolves inside it, extracted objects
  live in ``OUT/files`` with safe names, and no symlinks are created.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from decoder.model import Limits

CAP_SUFFIXES = ("_too_long", "_too_many", "_too_deep", "_capped", "_limit")
SAFE_FILE = re.compile(r"^F[A-Za-z0-9]{17}-[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")   # fuid (decoder.model.short_uid) + safe name


class InvariantError(AssertionError):
    pass


def run_bytes(data: bytes, work: Path, limits: Limits | None = None, strict: bool = True,
              keep: bool = False) -> dict:
    """Decode ``data`` as a capture with OUT = ``work/out``; returns the summary (and checks it)."""
    from decoder.pipeline import Engine, build_summary, run_engine

    cap = work / "capture.bin"
    out = work / "out"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cap.write_bytes(data)
    engine = Engine(limits=limits, out_dir=out, strict=strict)
    try:
        run_engine(engine, [cap])
        summary = build_summary(engine)
        anomalies = Counter(a["name"] for a in engine.results.tables.get("anomalies", []))
    finally:
        engine.results.cleanup()
    check(summary, anomalies, out)
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return summary


def check(summary: dict, anomalies: Counter, out: Path) -> None:
    pk = summary["packets"]
    if pk["total"] != sum(pk["by_kind"].values()):
        raise InvariantError(f"packet total {pk['total']} != sum of kinds {pk['by_kind']}")
    if pk["total"] != pk["decoded"] + pk["skipped"]:
        raise InvariantError(f"packet total {pk['total']} != decoded + skipped ({pk})")
    frames = sum(c["frames"] for c in summary["captures"])
    if pk["total"] != frames:
        raise InvariantError(f"packet total {pk['total']} != records read {frames}")
    if not summary["captures"] and not summary["errors"]:
        raise InvariantError("no capture read and no error reported")
    for name, n in summary["limits_hit"].items():
        if not name.endswith(CAP_SUFFIXES):
            raise InvariantError(f"limits_hit names a non-cap anomaly {name}")
        if anomalies.get(name) != n:
            raise InvariantError(f"limits_hit[{name}]={n} but the anomalies table has {anomalies.get(name)}")
    for name, n in anomalies.items():
        if name.endswith(CAP_SUFFIXES) and summary["limits_hit"].get(name) != n:
            raise InvariantError(f"cap anomaly {name} x{n} missing from limits_hit")
    check_tree(out)


def check_tree(out: Path) -> None:
    """Everything below ``out`` stays inside it; extracted objects have safe names."""
    root = os.path.realpath(out)
    for dirpath, dirnames, filenames in os.walk(out):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            if os.path.islink(p):
                raise InvariantError(f"symlink created: {p}")
            if not os.path.realpath(p).startswith(root + os.sep):
                raise InvariantError(f"path escapes OUT: {p}")
            if any(ord(ch) < 32 or ch in "\\:*?\"<>|" for ch in n):
                raise InvariantError(f"unsafe characters in a written name: {n!r}")
        if os.path.realpath(dirpath) == os.path.join(root, "files"):
            for n in filenames:
                if not SAFE_FILE.match(n):
                    raise InvariantError(f"extracted object with an unsafe name: {n!r}")


def scratch() -> Path:
    base = Path("/dev/shm") if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="wiretale-fuzz-", dir=base))
