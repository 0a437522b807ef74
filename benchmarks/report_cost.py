"""What the HTML report costs (issue 22, acceptance 1): a measurement with a verdict, not a test.

    python -m benchmarks.report_cost --corpus-mb 100 --scan [--flood 500000] [--pipelined 100000]
                                     [--workers default,1] [--work DIR] [--keep] [--repeat N]

Makes the captures (the reference corpus with ``../shared/bench/make_corpus.py --size-mb N``; the
port scan of 21,000 rejected connections plus one DNS and one HTTP exchange, the SYN flood and the
pipelined HTTP connection with tests/reports/scale_captures.py), then, for each capture and each
``--workers`` setting (by default both ``read``'s default, every core for a capture of 16 MB or more, and
``--workers 1``), runs one after the other in one run ``wiretale read CAPTURE -o OUT`` (with the report) and
``wiretale read --no-html``, each in its own process and with the same ``--workers``. Prints one JSON line
per capture and setting: CPU seconds of each run and their ratio, peak RSS, bytes of all HTML written (with
the style sheet and script the pages share, OUT/assets/), of index.html, and HTML bytes over capture bytes;
then one line per bound of acceptance 1 that the capture is measured against, with ``met`` true or false.

CPU is that of the whole process tree: ``wait4`` gives the user and system time of ``read`` and of every
process it waited for (the split run's workers, the report's renderers, the side writer: each is joined).
Each run is the leader of its own process group; a process of that group still alive after ``read`` ended
(its CPU would be missing) is said in ``stray`` and killed. Peak RSS is the largest of the tree's processes
(``ru_maxrss``), not their sum. The machine may be shared: compare ratios from one run, not seconds from
different runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
CPU_RATIO = 1.5               # the corpus: report CPU over --no-html CPU
HTML_RATIO = 0.25             # the corpus: all HTML over the capture's bytes
SCAN_CPU_RATIO = 2.0          # the port scan: report CPU over --no-html CPU
SCAN_INDEX_MAX = 2 * 10**6    # the port scan's index.html
HTML_MAX = 50 * 10**6         # the flood's and the pipelined capture's HTML


def run_measured(argv: list[str]) -> dict:
    """Run ``argv`` in a process group of its own; the CPU seconds and peak RSS of its process tree (wait4),
    wall seconds, exit code, and whether a process of its group outlived it (``stray``, then killed)."""
    t = time.monotonic()
    p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), start_new_session=True)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t
    try:
        os.killpg(p.pid, signal.SIGKILL)      # (the group of the process this run started, and only it)
        stray = True
    except ProcessLookupError:
        stray = False
    err = p.stderr.read().decode("utf-8", "replace") if p.stderr else ""
    return {"cpu_s": round(ru.ru_utime + ru.ru_stime, 2), "rss_mb": round(ru.ru_maxrss / 1024, 1),
            "wall_s": round(wall, 1), "rc": p.returncode, "stray": stray, "stderr": err[-500:]}


def html_bytes(out: Path) -> int:
    """The report's pages (``index*.html``, ``sessions/*.html``) and the style sheet and script they share
    (``assets/``); not extracted files that happen to end in ``.html`` (HTTP bodies under ``files/``, about
    7 MB of the 100 MB corpus, written with ``--no-html`` too)."""
    files = [*out.glob("index*.html"), *(out / "sessions").glob("*.html"), *(out / "assets").glob("*")]
    return sum(p.stat().st_size for p in files if p.is_file())


def measure(name: str, cap: Path, work: Path, keep: bool, options: Sequence[str] = (), repeat: int = 1) -> dict:
    """Both runs on ``cap`` (``options``: more arguments of ``read`` for both); with ``repeat`` > 1 each pair
    is run that many times, one after the other, and each mode keeps its run of least CPU (on a shared
    machine, the least disturbed), with every CPU figure listed in ``cpu_runs``."""
    res: dict = {"capture": name, "capture_bytes": cap.stat().st_size, "options": " ".join(options)}
    for _ in range(repeat):
        for mode, extra in (("report", []), ("no_html", ["--no-html"])):
            out = work / f"{name}-{mode}"
            shutil.rmtree(out, ignore_errors=True)
            r = run_measured([sys.executable, "-m", "decoder.cli", "read", str(cap), "-o", str(out), *options, *extra])
            r = {k: v for k, v in r.items() if k != "stderr" or r["rc"]}
            res.setdefault("cpu_runs", {}).setdefault(mode, []).append(r["cpu_s"])
            if mode in res and res[mode]["cpu_s"] <= r["cpu_s"]:
                continue
            res[mode] = r
            if mode == "report":
                res["html_bytes"] = html_bytes(out)
                res["index_bytes"] = (out / "index.html").stat().st_size if (out / "index.html").exists() else None
                res["session_pages"] = len(list((out / "sessions").glob("*.html")))
    for mode in ("report", "no_html"):
        if not keep:
            shutil.rmtree(work / f"{name}-{mode}", ignore_errors=True)
    res["cpu_ratio"] = round(res["report"]["cpu_s"] / max(res["no_html"]["cpu_s"], 1e-9), 2)
    res["rss_ratio"] = round(res["report"]["rss_mb"] / max(res["no_html"]["rss_mb"], 1e-9), 2)
    res["html_over_capture"] = round(res["html_bytes"] / res["capture_bytes"], 3)
    return res


def verdict(what: str, value: float, bound: float, met: bool) -> dict:
    """One bound of the issue, printed as a JSON line with ``met``."""
    v = {"bound": what, "value": value, "limit": bound, "met": met}
    print(json.dumps(v), flush=True)
    return v


def bounds(kind: str, r: dict) -> list[dict]:
    """Acceptance 1's bounds on the CPU and the HTML of one capture's measurement (memory: report_memory)."""
    at = f"{r['capture']} {r['options'] or '(default workers)'}"
    out = []
    if kind == "corpus":
        out.append(verdict(f"{at}: report CPU / no-html CPU", r["cpu_ratio"], CPU_RATIO, r["cpu_ratio"] <= CPU_RATIO))
        out.append(verdict(f"{at}: HTML / capture", r["html_over_capture"], HTML_RATIO,
                           r["html_over_capture"] <= HTML_RATIO))
    elif kind == "scan":
        out.append(verdict(f"{at}: report CPU / no-html CPU", r["cpu_ratio"], SCAN_CPU_RATIO,
                           r["cpu_ratio"] <= SCAN_CPU_RATIO))
        out.append(verdict(f"{at}: index.html bytes", r["index_bytes"] or 0, SCAN_INDEX_MAX,
                           (r["index_bytes"] or 0) <= SCAN_INDEX_MAX))
    else:
        out.append(verdict(f"{at}: HTML bytes", r["html_bytes"], HTML_MAX, r["html_bytes"] < HTML_MAX))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus-mb", type=float, default=0, help="the reference corpus of this size (0: none)")
    ap.add_argument("--scan", action="store_true", help="the 21,000-connection port scan")
    ap.add_argument("--flood", type=int, default=0, metavar="N", help="N unanswered SYNs from N hosts")
    ap.add_argument("--pipelined", type=int, default=0, metavar="N", help="N HTTP exchanges on one connection")
    ap.add_argument("--workers", default="default,1", metavar="LIST",
                    help="the --workers settings to measure, comma-separated ('default': read's own choice); "
                         "default: default,1")
    ap.add_argument("--work", type=Path, help="where captures and outputs go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the outputs")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run each pair N times and keep each mode's run of least CPU (a shared machine)")
    args = ap.parse_args(argv)
    settings = [w.strip() for w in args.workers.split(",") if w.strip()]
    if not settings or any(w != "default" and not w.isdigit() for w in settings):
        ap.error("--workers: a comma-separated list of 'default' and numbers")
    sys.path.insert(0, str(ROOT))
    from tests.reports import scale_captures as sc

    work = args.work or Path(tempfile.mkdtemp(prefix="wiretale-report-cost-"))
    work.mkdir(parents=True, exist_ok=True)
    caps: list[tuple[str, str, Path]] = []
    if args.corpus_mb:
        cap = work / f"corpus-{args.corpus_mb:g}mb.pcap"
        if not cap.exists():
            subprocess.run([sys.executable, str(CORPUS), "--size-mb", str(args.corpus_mb), "-o", str(cap)],
                           check=True, stdout=subprocess.DEVNULL)
        caps.append(("corpus", cap.stem, cap))
    for kind, flag, name, make in (("scan", args.scan, "scan-21000", lambda p: sc.write_scan(p)),
                                   ("flood", args.flood, f"flood-{args.flood}", lambda p: sc.write_flood(p, args.flood)),
                                   ("pipelined", args.pipelined, f"pipelined-{args.pipelined}",
                                    lambda p: sc.write_pipelined(p, args.pipelined))):
        if flag:
            cap = work / f"{name}.pcap"
            if not cap.exists():
                make(cap)
            caps.append((kind, name, cap))
    verdicts = []
    for kind, name, cap in caps:
        for w in settings:
            r = measure(name, cap, work, args.keep, options=[] if w == "default" else ["--workers", w],
                        repeat=args.repeat)
            print(json.dumps(r), flush=True)
            verdicts += bounds(kind, r)
    return 0 if all(v["met"] for v in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
