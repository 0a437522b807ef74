"""The dissectors alone, on the calls a real read made (issue 26: the dissectors' per-message cost).

    python -m benchmarks.replay_dissectors record CAPTURE -o REC.pickle     # one read, its calls recorded
    python -m benchmarks.replay_dissectors run REC.pickle --runs 3          # this checkout's dissectors, CPU
    python -m benchmarks.replay_dissectors run REC.pickle --only DnsDissector,SnmpDissector
    python -m benchmarks.replay_dissectors compare REC.pickle BEFORE AFTER --pairs 3   # two checkouts, interleaved

``record`` runs ``wiretale read CAPTURE --no-html --workers 1`` in this process with the dissector classes of
:data:`CLASSES` wrapped: each instance's constructor arguments and every ``feed``, ``gap``, ``close`` and
``bulk`` call (its arguments, buffers as bytes) are kept, in order, and pickled to ``-o`` when the read ends.
``run`` builds each recorded instance again and makes the same calls, and asks every event returned for its
``summary()`` and ``meaning()`` as the host does; it prints the CPU time per class (``time.process_time``
around all instances of a class: the clock is slow on some VMs, so never per call), the least of ``--runs``.
``compare`` runs ``run`` in a subprocess per checkout (``PYTHONPATH`` set to each folder), alternating, and
prints both series and the ratio of the totals' medians. The recording holds the capture's payloads (about
40 MB for the 100 MB corpus; keep it out of the repository) and is only valid for checkouts whose constructors
take the same arguments.

What it leaves out: the engine's routing of the items (rows, timeline, files), detection and the probes, and
the e-mail split (``decoder.session.explode_email``, which a read calls after the SMTP, POP3 and IMAP objects
close). On a shared machine, compare CPU figures of interleaved runs only.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLASSES = {"DnsDissector": "dissectors.dns", "SnmpDissector": "dissectors.snmp",
           "HttpDissector": "dissectors.http", "TelnetDissector": "dissectors.telnet",
           "SmtpDissector": "dissectors.smtp", "Pop3Dissector": "dissectors.pop3",
           "ImapDissector": "dissectors.imap", "FtpDissector": "dissectors.ftp",
           "TftpDissector": "dissectors.tftp"}
METHODS = ("feed", "gap", "close", "bulk")


def _plain(x: object) -> object:
    return bytes(x) if isinstance(x, (memoryview, bytearray)) else x


def record(capture: Path, out: Path) -> None:
    log: list[tuple[str, tuple, dict, list]] = []       # (class name, args, kwargs, calls)
    calls_of: dict[int, list] = {}
    saved: list[tuple[type, str, object]] = []           # put back when the read ends
    for name, module in CLASSES.items():
        cls = getattr(importlib.import_module(module), name)
        saved += [(cls, m, cls.__dict__[m]) for m in ("__init__",) + METHODS if m in cls.__dict__]

        def init(self, *a, _init=cls.__init__, _name=name, **k):
            _init(self, *a, **k)
            calls: list = []
            log.append((_name, a, k, calls))
            calls_of[id(self)] = calls
        cls.__init__ = init
        for meth in METHODS:
            f = getattr(cls, meth, None)
            if f is None:
                continue

            def wrapped(self, *a, _f=f, _meth=meth):
                calls = calls_of.get(id(self))
                if calls is not None:
                    calls.append((_meth, tuple(_plain(x) for x in a)))
                return _f(self, *a)
            setattr(cls, meth, wrapped)
    from decoder.commands.cli import main

    tmp = tempfile.mkdtemp(prefix="wiretale-replay-")
    try:        # main() itself, not runpy: decoder.cli may already stand for decoder.commands.cli in sys.modules
        main(["read", str(capture), "-o", os.path.join(tmp, "out"), "--no-html", "--workers", "1"])
    finally:
        for cls, meth, f in saved:
            setattr(cls, meth, f)
        shutil.rmtree(tmp, ignore_errors=True)
        with open(out, "wb") as fh:
            pickle.dump(log, fh, protocol=5)
    print(f"{len(log)} dissectors, {sum(len(c) for *_, c in log)} calls recorded in {out}")


def run(rec: Path, runs: int, only: list[str] | None) -> dict[str, float]:
    with open(rec, "rb") as fh:
        log = pickle.load(fh)
    by: dict[str, list] = {}
    for name, a, k, calls in log:
        if only is None or name in only:
            by.setdefault(name, []).append((a, k, calls))
    best: dict[str, float] = {}
    for _ in range(runs):
        for name, entries in by.items():
            cls = getattr(importlib.import_module(CLASSES[name]), name)
            t = time.process_time()
            for a, k, calls in entries:
                d = cls(*a, **k)
                for meth, args in calls:
                    items = getattr(d, meth)(*args)
                    if meth == "bulk" or not items:
                        continue
                    for it in items:
                        summary = getattr(it, "summary", None)
                        if summary is not None:
                            summary()
                            meaning = getattr(it, "meaning", None)
                            if meaning is not None:
                                meaning()
            spent = time.process_time() - t
            best[name] = min(best.get(name, spent), spent)
    return best


def _line(best: dict[str, float]) -> str:
    return "  ".join(f"{n} {v:.3f}" for n, v in sorted(best.items())) + f"  total {sum(best.values()):.3f} s CPU"


def compare(rec: Path, before: Path, after: Path, pairs: int, runs: int, only: str | None) -> None:
    totals: dict[Path, list[float]] = {before: [], after: []}
    for _ in range(pairs):
        for folder in (before, after):
            # this file by its path (BEFORE may not have it), the checkout's packages by PYTHONPATH
            cmd = [sys.executable, str(Path(__file__).resolve()), "run", str(rec), "--runs", str(runs),
                   "--pairs-out"] + (["--only", only] if only else [])
            env = dict(os.environ, PYTHONPATH=str(folder.resolve()))
            res = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
            if res.returncode:
                raise SystemExit(f"{folder}: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res}")
            best = {k: float(v) for k, v in (kv.split("=") for kv in res.stdout.split())}
            totals[folder].append(sum(best.values()))
            print(f"{folder}: {_line(best)}", flush=True)
    b, a = statistics.median(totals[before]), statistics.median(totals[after])
    print(f"medians {b:.3f} -> {a:.3f} s CPU, after/before {a / b:.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.replay_dissectors", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("capture", type=Path)
    r.add_argument("-o", "--out", type=Path, required=True)
    p = sub.add_parser("run")
    p.add_argument("recording", type=Path)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--only", help="class names, comma separated")
    p.add_argument("--pairs-out", action="store_true", help=argparse.SUPPRESS)   # name=seconds, for compare
    c = sub.add_parser("compare")
    c.add_argument("recording", type=Path)
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    c.add_argument("--pairs", type=int, default=3)
    c.add_argument("--runs", type=int, default=3)
    c.add_argument("--only")
    a = ap.parse_args(argv)
    if a.cmd == "record":
        record(a.capture, a.out)
    elif a.cmd == "run":
        best = run(a.recording, a.runs, a.only.split(",") if a.only else None)
        print(" ".join(f"{n}={v:.6f}" for n, v in best.items()) if a.pairs_out else _line(best))
    else:
        compare(a.recording, a.before, a.after, a.pairs, a.runs, a.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
