"""The report's memory (issue 22, acceptance 1 and 3): a measurement with a verdict, not a test.

    python -m benchmarks.report_memory [--corpus PCAP ...] [--flood N] [--pipelined N] [--work DIR]

For each capture, in one run and one after the other, ``wiretale read CAPTURE -o OUT --workers 1`` with the
report and with ``--no-html`` (each in its own process, :func:`benchmarks.report_cost.measure`); prints one JSON
line per capture (peak RSS of both, their ratio, CPU of both, HTML bytes), then one line per bound of the
issue with ``met`` true or false:

* a corpus (``--corpus``, e.g. ``../shared/bench/make_corpus.py --size-mb 100``): report RSS at most 1.25x
  ``--no-html`` and under 300 MB; given two or more corpora, the largest one's report RSS within 25% of the
  smallest one's;
* the SYN flood (``--flood``, 500,000 in the issue) and the pipelined HTTP connection (``--pipelined``,
  100,000): RSS under 300 MB with and without the report, HTML under 50 MB.

Peak RSS is the child's ``ru_maxrss`` (wait4). On a shared machine CPU seconds vary; RSS much less.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.report_cost import HTML_MAX, ROOT, measure
from benchmarks.report_cost import verdict as _verdict

RSS_MAX_MB = 300          # every capture, with and without the report
RSS_RATIO = 1.25          # report over --no-html on a corpus; the largest corpus over the smallest


def _measure(name: str, cap: Path, work: Path) -> dict:
    res = measure(name, cap, work, keep=False, options=["--workers", "1"])
    print(json.dumps(res), flush=True)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, action="append", default=[], help="a reference corpus (repeatable)")
    ap.add_argument("--flood", type=int, default=0, metavar="N", help="N unanswered SYNs from N hosts")
    ap.add_argument("--pipelined", type=int, default=0, metavar="N", help="N HTTP exchanges on one connection")
    ap.add_argument("--work", type=Path, help="where captures and outputs go (default: a temporary folder)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.reports import scale_captures as sc

    work = args.work or Path(tempfile.mkdtemp(prefix="wiretale-report-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    verdicts = []
    corpora = []
    for cap in args.corpus:
        r = _measure(cap.stem, cap, work)
        corpora.append(r)
        verdicts.append(_verdict(f"{cap.stem}: report RSS / no-html RSS", r["rss_ratio"], RSS_RATIO,
                                 r["rss_ratio"] <= RSS_RATIO))
        verdicts.append(_verdict(f"{cap.stem}: report RSS MB", r["report"]["rss_mb"], RSS_MAX_MB,
                                 r["report"]["rss_mb"] < RSS_MAX_MB))
    if len(corpora) >= 2:
        small, large = min(corpora, key=lambda r: r["capture_bytes"]), max(corpora, key=lambda r: r["capture_bytes"])
        ratio = round(large["report"]["rss_mb"] / small["report"]["rss_mb"], 2)
        verdicts.append(_verdict(f"report RSS {large['capture']} / {small['capture']}", ratio, RSS_RATIO,
                                 ratio <= RSS_RATIO))
    for n, name, make in ((args.flood, f"flood-{args.flood}", lambda p: sc.write_flood(p, args.flood)),
                          (args.pipelined, f"pipelined-{args.pipelined}",
                           lambda p: sc.write_pipelined(p, args.pipelined))):
        if not n:
            continue
        cap = work / f"{name}.pcap"
        if not cap.exists():
            make(cap)
        r = _measure(name, cap, work)
        for mode in ("report", "no_html"):
            verdicts.append(_verdict(f"{name}: {mode} RSS MB", r[mode]["rss_mb"], RSS_MAX_MB,
                                     r[mode]["rss_mb"] < RSS_MAX_MB))
        verdicts.append(_verdict(f"{name}: HTML bytes", r["html_bytes"], HTML_MAX, r["html_bytes"] < HTML_MAX))
    return 0 if all(v["met"] for v in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
