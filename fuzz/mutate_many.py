"""Fuzz the whole pipeline over many mutated captures, fast and in-process (no atheris needed).

    python -m fuzz.mutate_many --count 100000 --jobs 2            # the documented run (docs/HARDENING.md)
    python -m fuzz.mutate_many --count 2000 --shared              # also mutate ../shared/captures
    python -m fuzz.mutate_many --replay 12345                     # re-run one case with a traceback
    python -m fuzz.mutate_many --replay 12345 --save case.pcap    # and keep the mutated file

Case ``seed`` is fully determined by its number: ``random.Random(seed)`` picks the base capture,
a second capture for splicing, and 1–3 mutations (:mod:`fuzz.mutate`). Each case runs
``Engine(strict=True)`` with OUT in a tmpfs scratch folder and is checked by
:func:`fuzz.runner.check`. A case that raises, breaks an invariant or runs longer than
``--timeout`` seconds (SIGALRM) is a finding: its seed, mutators and traceback go to the
report and the mutated file to ``--crash-dir``. Workers run under an address-space rlimit
(``--max-mem-mb``) so a memory blow-up becomes a MemoryError finding, and the peak RSS of each
worker (``ru_maxrss``) and the RSS sampled after every 200 cases are reported.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from fuzz.mutate import ROOT, mutate, sample_corpus

SHARED = ROOT.parent / "shared" / "captures"


class Hang(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - only on hangs
    raise Hang("per-capture time bound exceeded")


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # pragma: no cover - not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_CORPUS: list[tuple[str, bytes]] = []
_OPTS: dict = {}


def _init(paths: list[str], opts: dict) -> None:
    global _CORPUS, _OPTS
    _CORPUS = [(Path(p).name, Path(p).read_bytes()) for p in paths]
    _OPTS = opts
    if opts.get("max_mem_mb"):
        lim = opts["max_mem_mb"] * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    signal.signal(signal.SIGALRM, _alarm)


def make_case(seed: int) -> tuple[str, list[str], bytes]:
    rng = random.Random(seed)
    name, base = _CORPUS[rng.randrange(len(_CORPUS))]
    _oname, other = _CORPUS[rng.randrange(len(_CORPUS))]
    data, used = mutate(base, rng, other)
    return name, used, data


def _work(chunk: tuple[int, int]) -> dict:
    from fuzz.runner import run_bytes, scratch

    start, stop = chunk
    work = scratch()
    stats = {"cases": 0, "findings": [], "times": [], "rss": [], "mutators": Counter(), "bases": Counter(),
             "unreadable": 0, "limits_hit": Counter(), "anomalies": 0, "packets": 0, "files": 0}
    timeout = _OPTS.get("timeout", 20)
    try:
        for seed in range(start, stop):
            name, used, data = make_case(seed)
            stats["mutators"].update(used)
            stats["bases"][name] += 1
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                s = run_bytes(data, work)
                err = None
            except BaseException as e:  # noqa: BLE001 - every escape is a finding
                if isinstance(e, KeyboardInterrupt):
                    raise
                err = (type(e).__name__, str(e)[:300], traceback.format_exc()[-3000:])
                s = None
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            dt = time.perf_counter() - t0
            stats["times"].append(dt)
            stats["cases"] += 1
            if s is not None:
                if s["errors"] and not s["captures"]:
                    stats["unreadable"] += 1
                stats["limits_hit"].update(s["limits_hit"])
                stats["anomalies"] += sum(s["anomalies"].values())
                stats["packets"] += s["packets"]["total"]
                stats["files"] += s["files"]
            if err is not None:
                crash_dir = Path(_OPTS["crash_dir"])
                crash_dir.mkdir(parents=True, exist_ok=True)
                (crash_dir / f"case-{seed}.pcap").write_bytes(data)
                stats["findings"].append({"seed": seed, "base": name, "mutators": used, "error": err[0],
                                          "message": err[1], "traceback": err[2], "seconds": round(dt, 2)})
                shutil.rmtree(work, ignore_errors=True)
                work = scratch()
            if stats["cases"] % 200 == 0:
                stats["rss"].append(rss_mb())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stats["rss"].append(rss_mb())
    stats["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz.mutate_many", description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=500, help="cases per task")
    ap.add_argument("--timeout", type=float, default=20.0, help="per-capture time bound (seconds)")
    ap.add_argument("--max-mem-mb", type=int, default=2048, help="address-space rlimit per worker")
    ap.add_argument("--shared", action="store_true", help="also mutate ../shared/captures (≤ 2 MB each)")
    ap.add_argument("--crash-dir", default="/tmp/wiretale-fuzz-crashes")
    ap.add_argument("--json", help="write the full statistics here")
    ap.add_argument("--replay", type=int, help="run one seed in this process and show its traceback")
    ap.add_argument("--save", help="with --replay: write the mutated capture here")
    args = ap.parse_args(argv)

    corpus = [str(p) for p in sample_corpus((SHARED,) if args.shared else ())]
    opts = {"timeout": args.timeout, "crash_dir": args.crash_dir, "max_mem_mb": args.max_mem_mb}
    if args.replay is not None:
        global _CORPUS
        _CORPUS = [(Path(p).name, Path(p).read_bytes()) for p in corpus]
        name, used, data = make_case(args.replay)
        print(f"seed {args.replay}: {name} mutated by {used} ({len(data)} bytes)")
        if args.save:
            Path(args.save).write_bytes(data)
        from fuzz.runner import run_bytes, scratch
        work = scratch()
        try:
            s = run_bytes(data, work)
            print(json.dumps({k: s[k] for k in ("packets", "anomalies", "limits_hit", "errors")}, indent=1))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return 0

    chunks = [(a, min(a + args.chunk, args.start + args.count))
              for a in range(args.start, args.start + args.count, args.chunk)]
    t0 = time.time()
    total = {"cases": 0, "findings": [], "times": [], "rss": [], "maxrss_mb": 0.0, "mutators": Counter(),
             "bases": Counter(), "unreadable": 0, "limits_hit": Counter(), "anomalies": 0, "packets": 0,
             "files": 0}
    ctx = mp.get_context("fork")
    with ctx.Pool(args.jobs, initializer=_init, initargs=(corpus, opts), maxtasksperchild=20) as pool:
        for st in pool.imap_unordered(_work, chunks):
            for k in ("cases", "unreadable", "anomalies", "packets", "files"):
                total[k] += st[k]
            total["findings"] += st["findings"]
            total["times"] += st["times"]
            total["rss"] += st["rss"]
            total["maxrss_mb"] = max(total["maxrss_mb"], st["maxrss_mb"])
            for k in ("mutators", "bases", "limits_hit"):
                total[k].update(st[k])
            done = total["cases"]
            print(f"\r{done}/{args.count} cases, {len(total['findings'])} findings, "
                  f"{time.time() - t0:.0f} s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    wall = time.time() - t0
    times = sorted(total["times"])
    report = {
        "command": "python -m fuzz.mutate_many " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cases": total["cases"], "seeds": [args.start, args.start + args.count - 1], "jobs": args.jobs,
        "corpus": [Path(p).name for p in corpus],
        "wall_seconds": round(wall, 1), "cases_per_second": round(total["cases"] / wall, 1) if wall else None,
        "per_case_seconds": {"mean": round(sum(times) / len(times), 4) if times else None,
                             "p99": round(times[int(len(times) * 0.99)], 3) if times else None,
                             "max": round(times[-1], 3) if times else None},
        "rss_mb": {"sampled_max": round(max(total["rss"]), 1) if total["rss"] else None,
                   "worker_peak_maxrss": round(total["maxrss_mb"], 1)},
        "unreadable_captures": total["unreadable"], "packets": total["packets"], "anomalies": total["anomalies"],
        "files_extracted": total["files"], "mutators": dict(total["mutators"].most_common()),
        "limits_hit": dict(total["limits_hit"].most_common()),
        "findings": len(total["findings"]),
        "finding_kinds": dict(Counter(f"{f['error']}: {f['message'][:80]}" for f in total["findings"]).most_common()),
    }
    if args.json:
        Path(args.json).write_text(json.dumps({**report, "finding_list": total["findings"]}, indent=1))
    print(json.dumps(report, indent=1))
    for f in total["findings"][:5]:
        print(f"\n--- seed {f['seed']} ({f['base']}, {f['mutators']}):\n{f['traceback']}")
    return 1 if total["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
