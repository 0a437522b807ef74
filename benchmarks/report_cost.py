"""What the HTML report costs (issue 22, acceptance 1). A measurement, not a test.

    python -m benchmarks.report_cost --corpus-mb 100 --scan [--flood 500000] [--pipelined 100000]
                                     [--work DIR] [--keep] [--repeat N]

Makes the captures (the reference corpus with ``../shared/bench/make_corpus.py --size-mb N``; the
port scan of 21,000 rejected connections plus one DNS and one HTTP exchange, the SYN flood and the
pipelined HTTP connection with tests/reports/scale_captures.py), then runs, for each, in one run
and one after the other, ``wiretale read CAPTURE -o OUT`` (with the report) and ``wiretale read
--no-html``, each in its own process. Prints one JSON line per capture: CPU seconds (user + sys of
that process, from wait4) of each and their ratio, peak RSS of each, bytes of all HTML written (with the
style sheet and script the pages share, OUT/assets/),
of index.html, and HTML bytes over capture bytes. The machine may be shared: compare ratios from
one run, not seconds from different runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"


def run_measured(argv: list[str]) -> dict:
    """Run ``argv``; its CPU seconds and peak RSS (its own, from wait4), wall seconds and exit code."""
    t = time.monotonic()
    p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode("utf-8", "replace") if p.stderr else ""
    return {"cpu_s": round(ru.ru_utime + ru.ru_stime, 2), "rss_mb": round(ru.ru_maxrss / 1024, 1),
            "wall_s": round(time.monotonic() - t, 1), "rc": p.returncode, "stderr": err[-500:]}


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
    res: dict = {"capture": name, "capture_bytes": cap.stat().st_size}
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus-mb", type=float, default=0, help="the reference corpus of this size (0: none)")
    ap.add_argument("--scan", action="store_true", help="the 21,000-connection port scan")
    ap.add_argument("--flood", type=int, default=0, metavar="N", help="N unanswered SYNs from N hosts")
    ap.add_argument("--pipelined", type=int, default=0, metavar="N", help="N HTTP exchanges on one connection")
    ap.add_argument("--work", type=Path, help="where captures and outputs go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the outputs")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run each pair N times and keep each mode's run of least CPU (a shared machine)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.reports import scale_captures as sc

    work = args.work or Path(tempfile.mkdtemp(prefix="wiretale-report-cost-"))
    work.mkdir(parents=True, exist_ok=True)
    caps: list[tuple[str, Path]] = []
    if args.corpus_mb:
        cap = work / f"corpus-{args.corpus_mb:g}mb.pcap"
        if not cap.exists():
            subprocess.run([sys.executable, str(CORPUS), "--size-mb", str(args.corpus_mb), "-o", str(cap)],
                           check=True, stdout=subprocess.DEVNULL)
        caps.append((cap.stem, cap))
    for flag, name, make in ((args.scan, "scan-21000", lambda p: sc.write_scan(p)),
                             (args.flood, f"flood-{args.flood}", lambda p: sc.write_flood(p, args.flood)),
                             (args.pipelined, f"pipelined-{args.pipelined}",
                              lambda p: sc.write_pipelined(p, args.pipelined))):
        if flag:
            cap = work / f"{name}.pcap"
            if not cap.exists():
                make(cap)
            caps.append((name, cap))
    for name, cap in caps:
        print(json.dumps(measure(name, cap, work, args.keep, repeat=args.repeat)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
