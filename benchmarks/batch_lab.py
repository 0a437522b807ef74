"""A teacher's batch: forty lab captures through ``wiretale batch``, against tshark (issue 10).

    python -m benchmarks.batch_lab                       # build the set (once), then time it
    python -m benchmarks.batch_lab --count 8 --sizes 1,2 # a smaller set, for a quick look

The set (``benchmarks/data/batch-lab/``, git-ignored, deterministic): ``--count``
captures from ``benchmarks.generate`` with seeds 1..N and sizes cycling through
``--sizes`` MB (default 2–12 MB, about 270 MB in all), like forty hand-ins of one
lab exercise. Timed, each as whole processes (CPU = user + system of the child and
its children from ``os.wait4``; peak RSS the largest single process):

* ``wiretale batch FILES -o TMP --no-html --workers 1`` and ``--workers 2``;
* ``tshark -r FILE`` and ``tshark -r FILE -2 -T fields`` (the application fields of
  ``benchmarks.run``) once per capture, summed.

Then it checks the batch output is whole: the combined ``conn`` table holds a row
per flow of every capture (compared with ``wiretale sessions`` on three of them).
Prints a Markdown table; figures go to benchmarks/README.md by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.run import ROOT, TSHARK_FIELDS, run_once

DATA = ROOT / "benchmarks" / "data" / "batch-lab"


def build(count: int, sizes: list[int]) -> list[Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        p = DATA / f"lab-{i + 1:02d}.pcap"
        if not p.exists():
            subprocess.run([sys.executable, "-m", "benchmarks.generate", "--size", f"{sizes[i % len(sizes)]}M",
                            "--seed", str(i + 1), "-o", str(p), "-q"], cwd=ROOT, check=True)
        out.append(p)
    return out


def _sum(cmds: list[list[str]]) -> dict:
    runs = [run_once(c) for c in cmds]
    return {"wall": sum(r["wall"] for r in runs), "cpu": sum(r["cpu"] for r in runs),
            "rss_mb": max(r["rss_mb"] for r in runs)}


def _conn_rows(out: Path) -> list[dict]:
    """The combined conn table (one Parquet file, or a partitioned folder)."""
    import pandas as pd

    path = out / "tables" / "conn.parquet"
    return pd.read_parquet(path if path.exists() else out / "tables" / "conn").to_dict("records")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.batch_lab", description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--sizes", default="2,4,6,8,10,12", help="MB, cycled over the captures")
    a = ap.parse_args(argv)
    caps = build(a.count, [int(x) for x in a.sizes.split(",")])
    total = sum(p.stat().st_size for p in caps)
    load = os.getloadavg()
    base = [shutil.which("wiretale")] if shutil.which("wiretale") else [sys.executable, "-m", "decoder.cli"]
    res: dict[str, dict] = {}
    for w in (1, 2):
        out = Path(tempfile.mkdtemp(prefix="wiretale-batch-"))
        try:
            res[f"wiretale batch, {w} worker{'s' if w > 1 else ''}"] = run_once(
                base + ["batch", *map(str, caps), "-o", str(out), "--no-html", "--workers", str(w)])
            rows = _conn_rows(out)
            per_cap: dict[str, int] = {}
            for r in rows:
                per_cap[Path(str(r["capture"])).name] = per_cap.get(Path(str(r["capture"])).name, 0) + 1
            assert len(per_cap) == len(caps), f"{len(per_cap)} captures in the combined conn table"
            for p in caps[:3]:
                single = subprocess.run(base + ["sessions", str(p), "--json", "--no-decode"], cwd=ROOT, check=True,
                                        capture_output=True, text=True).stdout.splitlines()
                assert per_cap[p.name] == len(single), (p.name, per_cap[p.name], len(single))
        finally:
            shutil.rmtree(out, ignore_errors=True)
    res["tshark -r, per capture, summed"] = _sum([["tshark", "-r", str(p)] for p in caps])
    fields = [x for f in TSHARK_FIELDS for x in ("-e", f)]
    res["tshark -2 -T fields, per capture, summed"] = _sum(
        [["tshark", "-r", str(p), "-2", "-T", "fields", *fields] for p in caps])
    mb = total / 1e6
    print(f"{len(caps)} captures, {mb:.1f} MB; load average at start {[round(x, 2) for x in load]}\n")
    print("| run | wall s | CPU s | MB/s (wall) | MB/s (CPU) | peak RSS MB (one process) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in res.items():
        print(f"| {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {mb / r['wall']:.1f} | {mb / r['cpu']:.1f} | "
              f"{r['rss_mb']:.0f} |")
    one, two = res["wiretale batch, 1 worker"], res["wiretale batch, 2 workers"]
    print(f"\n2 workers over 1 (wall): {one['wall'] / two['wall']:.2f}; wiretale (1 worker, CPU) over "
          f"tshark -2 -T fields: {res['tshark -2 -T fields, per capture, summed']['cpu'] / one['cpu']:.2f}, "
          f"over tshark -r: {res['tshark -r, per capture, summed']['cpu'] / one['cpu']:.2f}")
    print(json.dumps({k: {kk: round(vv, 2) for kk, vv in v.items()} for k, v in res.items()}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
