"""Compare what two checkouts of wiretale write, byte for byte (issue 25, acceptance 1).

    python -m benchmarks.compare_checkouts BEFORE AFTER            # tables, files, e-mails, summary
    python -m benchmarks.compare_checkouts main HEAD --html        # ... and the HTML report and HAR
    python -m benchmarks.compare_checkouts main . --only smtp      # captures whose name holds "smtp"
    python -m benchmarks.compare_checkouts main . --read=--workers=2   # the split run (flags for read)
    python -m benchmarks.compare_checkouts main . --engine big.pcap --runs 5   # engine CPU, not outputs

BEFORE and AFTER are each a folder holding a checkout or a git revision of the repository this
script sits in (a revision is checked out with ``git worktree add --detach`` into a temporary folder,
removed at the end). Every capture is read by both with ``python -m decoder.cli read CAPTURE -o OUT``
(``--no-html`` unless ``--html``; the sample's key log from ``samples/keys/`` when there is one), with
``PYTHONPATH`` set to the checkout, so each side runs its own code on the same input files: the
samples of AFTER (``samples/*.pcap*``) and every capture in ``../shared/captures`` (skipped when
absent). Each output tree is compared file by file: a file only on one side, or differing in one byte,
is a difference. Two files are not compared byte for byte: ``.wiretale.lock`` (holds the pid) is left
out, and of ``.wiretale-run.json`` (the run manifest) ``pid`` and ``written_at``, which differ on every
run, are dropped before comparing its other fields. The exit status also differs when
the two runs' exit statuses differ.

Prints one line per capture that differs (the files), then one summary line, and exits 1 when
anything differs. Runs ``--jobs`` reads at a time (default 2), each under ``nice``.

``--engine CAPTURE`` compares speed instead (issue 25, acceptance 4): ``wiretale sessions CAPTURE
--no-decode`` (the engine without decoding) run ``--runs`` times by each checkout in turn, the CPU time
(user + sys) of each run, their medians and the ratio after/before, all from the same run of this script.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SHARED = HERE.parent / "shared" / "captures"
MANIFEST = ".wiretale-run.json"
LOCK = ".wiretale.lock"
VOLATILE = ("pid", "written_at")


def checkout(spec: str, keep: list[Path]) -> Path:
    """A folder holding the checkout ``spec`` names: the folder itself, or a detached worktree of
    the revision ``spec`` (recorded in ``keep`` for removal)."""
    p = Path(spec)
    if (p / "decoder" / "cli.py").is_file():
        return p.resolve()
    rev = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--verify", spec + "^{commit}"],
                         capture_output=True, text=True)
    if rev.returncode:
        raise SystemExit(f"compare_checkouts: {spec!r} is neither a checkout nor a git revision")
    dest = Path(tempfile.mkdtemp(prefix="wiretale-cmp-")) / rev.stdout.strip()[:12]
    subprocess.run(["git", "-C", str(HERE), "worktree", "add", "-q", "--detach", str(dest),
                    rev.stdout.strip()], check=True)
    keep.append(dest)
    return dest


def captures(after: Path, only: str | None) -> list[Path]:
    found = sorted((after / "samples").glob("*.pcap*"))
    if SHARED.is_dir():
        found += sorted(c for c in SHARED.iterdir() if ".pcap" in c.name)
    return [c for c in found if only is None or only in c.name]


def keylog_for(capture: Path, after: Path) -> list[str]:
    key = after / "samples" / "keys" / (capture.name.split(".")[0] + ".keylog")
    return ["--keylog", str(key)] if capture.parent == after / "samples" and key.is_file() else []


def read(code: Path, capture: Path, out: Path, extra: list[str]) -> int:
    env = dict(os.environ, PYTHONPATH=str(code))
    cmd = ["nice", "-n", "10", sys.executable, "-m", "decoder.cli", "read", str(capture), "-o", str(out),
           *extra]
    return subprocess.run(cmd, cwd=code, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode


def tree(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            if rel == LOCK:
                continue
            data = p.read_bytes()
            if rel == MANIFEST:
                doc = json.loads(data)
                data = json.dumps({k: v for k, v in doc.items() if k not in VOLATILE}, sort_keys=True).encode()
            files[rel] = data
    return files


def differences(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    out = []
    for name in sorted(a.keys() | b.keys()):
        if name not in b:
            out.append(f"{name} (only before)")
        elif name not in a:
            out.append(f"{name} (only after)")
        elif a[name] != b[name]:
            out.append(name)
    return out


def compare_one(before: Path, after: Path, capture: Path, html: bool, work: Path,
                flags: list[str]) -> tuple[int, list[str]]:
    extra = keylog_for(capture, after) + ([] if html else ["--no-html"]) + flags
    outs, codes = [], []
    for side, code in (("before", before), ("after", after)):
        out = work / f"{capture.name}.{side}"
        codes.append(read(code, capture, out, extra))
        outs.append(tree(out) if out.is_dir() else {})
    diff = differences(*outs)
    if codes[0] != codes[1]:
        diff.insert(0, f"exit status {codes[0]} -> {codes[1]}")
    return len(outs[1]), diff


def engine_cpu(before: Path, after: Path, capture: str, runs: int) -> str:
    """CPU seconds of ``sessions CAPTURE --no-decode`` by each checkout, alternating, and the ratio."""
    cpu: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(runs):
        for side, code in (("before", before), ("after", after)):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(["nice", "-n", "10", sys.executable, "-m", "decoder.cli", "sessions",
                            str(Path(capture).resolve()), "--no-decode"], cwd=code,
                           env=dict(os.environ, PYTHONPATH=str(code)), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[side].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    med = {k: sorted(v)[len(v) // 2] for k, v in cpu.items()}
    runs_text = "; ".join(f"{k} {' '.join(f'{x:.2f}' for x in v)} s" for k, v in cpu.items())
    return (f"sessions --no-decode CPU (user+sys): {runs_text}; medians {med['before']:.2f} -> "
            f"{med['after']:.2f} s, ratio after/before {med['after'] / med['before']:.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compare_checkouts",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--html", action="store_true", help="write and compare the HTML report and HAR too")
    ap.add_argument("--only", help="only captures whose file name contains this")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--engine", metavar="CAPTURE", help="time the engine on CAPTURE instead of comparing outputs")
    ap.add_argument("--runs", type=int, default=5, help="--engine: runs per checkout")
    ap.add_argument("--read", action="append", default=[], metavar="FLAG",
                    help="a flag for 'wiretale read' on both sides (repeatable), e.g. --read=--workers=2")
    args = ap.parse_args(argv)
    keep: list[Path] = []
    try:
        before, after = checkout(args.before, keep), checkout(args.after, keep)
        if args.engine:
            print(engine_cpu(before, after, args.engine, max(1, args.runs)))
            return 0
        caps = captures(after, args.only)
        with tempfile.TemporaryDirectory(prefix="wiretale-cmp-out-") as work, \
                ThreadPoolExecutor(max(1, args.jobs)) as pool:
            results = list(pool.map(lambda c: compare_one(before, after, c, args.html, Path(work), args.read), caps))
        files = sum(n for n, _ in results)
        bad = [(c, d) for c, (_, d) in zip(caps, results) if d]
        for c, d in bad:
            print(f"{c.name}: {', '.join(d)}")
        what = "tables, files, report" if args.html else "tables, files"
        print(f"compare_checkouts: {len(caps)} captures, {files} output files ({what}); "
              f"{'identical' if not bad else f'{len(bad)} captures differ'}")
        return 1 if bad else 0
    finally:
        for dest in keep:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force", str(dest)],
                           capture_output=True)
            dest.parent.rmdir()


if __name__ == "__main__":
    raise SystemExit(main())
