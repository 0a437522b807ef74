"""Forty lab hand-ins through ``wiretale batch``, with the HTML reports, against tshark (issue 10).

    python -m benchmarks.batch40                          # build the set (once), time it, check it
    python -m benchmarks.batch40 --count 8 --sizes 1,2    # a smaller set, for a quick look
    python -m benchmarks.batch40 --no-tshark              # wiretale only

The set (``benchmarks/data/batch40/``, git-ignored, deterministic; files that are not part of
it are removed from that folder, since the folder itself is what gets batched): ``--count``
captures named ``student-NN``. Every ``--sample-every``-th is a copy of one of the bundled
``samples/*.pcap*`` (real recorded software, a few KB to 0.8 MB: one protocol per hand-in);
the others come from ``benchmarks.generate`` with seed NN and a size from ``--sizes`` (MB, a
spread of 1–20 by default). The default set: 30 generated + 10 samples, about 296 MB.

Timed, each as a whole process started from the repository root (wall time; CPU = user + system
of the process and its waited-for children from ``os.wait4``; peak RSS = the largest single
process, as ``ru_maxrss`` reports it):

* ``wiretale batch DIR -o TMP`` with ``--workers 1``, ``--workers 2`` and the default (one
  worker per core), each writing what a teacher gets: per-capture reports, the index,
  combined Parquet tables, ``summary.csv``;
* ``wiretale batch DIR -o TMP --workers 2 --no-html`` (tables only), to show the report's share;
* ``tshark -r FILE`` and ``tshark -r FILE -2 -T fields`` with ``benchmarks.run``'s application
  fields, once per capture, summed (tshark has no batch mode; its start-up is paid 40 times).

Checks on every batch output: ``summary.json`` and ``summary.csv`` list every capture with
status ok, ``index.html`` exists, the combined ``conn`` table has each capture's flow count,
and for three captures (a sample and two generated) that count equals the rows of ``conn``
from a plain ``wiretale read``. Prints a Markdown table (one run of each; the machine is
shared, so CPU times are the figures to compare) and writes JSON to ``benchmarks/results/``.
MB = 10^6 bytes of capture file.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.run import RESULTS, ROOT, TSHARK_FIELDS, machine, run_once

DATA = ROOT / "benchmarks" / "data" / "batch40"
SAMPLES = sorted(p for p in (ROOT / "samples").iterdir() if p.suffix in (".pcap", ".pcapng"))
DEFAULT_SIZES = ",".join(str(1 + 7 * i % 20) for i in range(30))   # 1..20 once, then 1..17 again


def plan(count: int, sizes: list[int], sample_every: int) -> list[tuple[str, str, int]]:
    """(file name, source, size MB) per hand-in; source is a sample's name or ``generate``."""
    out, gen = [], 0
    for i in range(1, count + 1):
        if sample_every and i % sample_every == 0:
            src = SAMPLES[(i // sample_every - 1) % len(SAMPLES)]
            out.append((f"student-{i:02d}-{src.stem}{src.suffix}", src.name, 0))
        else:
            mb = sizes[gen % len(sizes)]
            gen += 1
            out.append((f"student-{i:02d}-seed{i}-{mb}M.pcap", "generate", mb))
    return out


def build(items: list[tuple[str, str, int]], data: Path) -> list[Path]:
    """Write the set into ``data`` (files already there are kept; others are removed)."""
    data.mkdir(parents=True, exist_ok=True)
    wanted = {name for name, _, _ in items}
    for p in data.iterdir():
        if p.name not in wanted:
            p.unlink() if p.is_file() else shutil.rmtree(p)
    for seed, (name, src, mb) in enumerate(items, 1):      # seed = hand-in number
        dest = data / name
        if dest.exists():
            continue
        tmp = data / f".{name}.part"
        if src == "generate":
            subprocess.run([sys.executable, "-m", "benchmarks.generate", "--size", f"{mb}M", "--seed",
                            str(seed), "-o", str(tmp), "-q"], cwd=ROOT, check=True)
        else:
            shutil.copyfile(ROOT / "samples" / src, tmp)
        tmp.rename(dest)
    return [data / name for name, _, _ in items]


def wiretale() -> list[str]:
    return [shutil.which("wiretale")] if shutil.which("wiretale") else [sys.executable, "-m", "decoder.cli"]


def read_conn_rows(path: Path) -> int:
    """Rows of the conn table a plain ``wiretale read`` writes for one capture."""
    with tempfile.TemporaryDirectory(prefix="wiretale-b40-") as out:
        subprocess.run(wiretale() + ["read", str(path), "-o", out, "--no-html"], cwd=ROOT, check=True,
                       capture_output=True)
        with open(Path(out) / "tables" / "conn.jsonl", "rb") as f:
            return sum(1 for line in f if line.strip())


def check(out: Path, caps: list[Path], html: bool, expect: dict[str, int]) -> str:
    """Raise AssertionError unless the batch output in ``out`` is complete; a one-line account."""
    import pandas as pd

    summ = json.loads((out / "summary.json").read_text())["captures"]
    by_path = {Path(c["path"]).name: c for c in summ}
    assert sorted(by_path) == sorted(p.name for p in caps), f"summary.json lists {len(by_path)} captures"
    bad = [n for n, c in by_path.items() if not c["ok"]]
    assert not bad, f"captures with errors: {bad}"
    with open(out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(caps) and all(r["status"] == "ok" for r in rows), "summary.csv incomplete"
    assert (out / "index.html").exists(), "no index.html"
    if html:
        missing = [n for n, c in by_path.items() if not (out / c["out"] / "index.html").exists()]
        assert not missing, f"no report for {missing}"
    conn = pd.read_parquet(out / "tables" / "conn.parquet", columns=["capture"])["capture"].value_counts()
    name_of = {Path(c["path"]).name: c["name"] for c in summ}
    for fname, c in by_path.items():
        flows = c["summary"]["flows"]["total"]
        assert int(conn.get(c["name"], 0)) == flows, (fname, int(conn.get(c["name"], 0)), flows)
    for fname, n in expect.items():
        assert int(conn.get(name_of[fname], 0)) == n, (fname, int(conn.get(name_of[fname], 0)), n)
    return (f"{len(summ)} captures ok, {int(conn.sum()):,} conn rows; "
            + ", ".join(f"{f}: {n} = wiretale read" for f, n in expect.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.batch40", description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=40, help="hand-ins (default 40)")
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help="MB of the generated ones, cycled (default: 1–20)")
    ap.add_argument("--sample-every", type=int, default=4, help="every Nth is a bundled sample (0: none)")
    ap.add_argument("--data", type=Path, default=DATA, help="where the set is built (default %(default)s)")
    ap.add_argument("--no-tshark", action="store_true", help="skip the tshark runs")
    ap.add_argument("--json", type=Path, help="where to write the JSON (default benchmarks/results/<time>.json)")
    a = ap.parse_args(argv)
    if a.count < 1:
        ap.error("--count must be at least 1")
    try:
        sizes = [int(x) for x in a.sizes.split(",") if x]
    except ValueError:
        ap.error("--sizes: comma-separated whole MB, e.g. 1,5,20")
    if not sizes or min(sizes) < 1:
        ap.error("--sizes: comma-separated whole MB, e.g. 1,5,20")
    if not a.no_tshark and not shutil.which("tshark"):
        ap.error("tshark is not installed (use --no-tshark)")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    items = plan(a.count, sizes, a.sample_every)
    caps = build(items, a.data.resolve())
    mb = sum(p.stat().st_size for p in caps) / 1e6
    n_gen = sum(src == "generate" for _, src, _ in items)
    setdesc = (f"{len(caps)} captures, {mb:.1f} MB: {n_gen} generated ({min(sizes)}–{max(sizes)} MB, seed = "
               f"hand-in number), {len(caps) - n_gen} copies of samples/")
    info = machine()
    git = [subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
           for cmd in (["rev-parse", "--short", "HEAD"], ["status", "--porcelain", "--untracked-files=no"])]
    info["commit"] = git[0] + (" (+ uncommitted edits)" if git[1] else "")
    log(setdesc)
    # the expected conn rows for three hand-ins: a sample (if any) and two generated
    picks = [p for p, (_, s, _) in zip(caps, items) if s != "generate"][:1]
    picks += [p for p, (_, s, _) in zip(caps, items) if s == "generate"][:3 - len(picks)]
    expect = {p.name: read_conn_rows(p) for p in picks}

    runs: dict[str, dict] = {}
    for label, flags, html in (("wiretale batch, --workers 1", ["--workers", "1"], True),
                               ("wiretale batch, --workers 2", ["--workers", "2"], True),
                               (f"wiretale batch, default workers ({os.cpu_count()})", [], True),
                               ("wiretale batch, --workers 2 --no-html", ["--workers", "2", "--no-html"], False)):
        out = Path(tempfile.mkdtemp(prefix="wiretale-b40-"))
        try:
            r = run_once(wiretale() + ["batch", str(a.data.resolve()), "-o", str(out), *flags])
            r["check"] = check(out, caps, html, expect)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        runs[label] = r
        log(f"  {label}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, {r['rss_mb']:.0f} MB; {r['check']}")
    if not a.no_tshark:
        fields = [x for f in TSHARK_FIELDS for x in ("-e", f)]
        for label, extra in (("tshark -r, once per capture, summed", []),
                             ("tshark -2 -T fields (24 app fields), once per capture, summed",
                              ["-2", "-T", "fields", *fields])):
            each = [run_once(["tshark", "-r", str(p), *extra]) for p in caps]
            runs[label] = {"wall": sum(x["wall"] for x in each), "cpu": sum(x["cpu"] for x in each),
                           "rss_mb": max(x["rss_mb"] for x in each)}
            log(f"  {label}: {runs[label]['wall']:.1f} s wall, {runs[label]['cpu']:.1f} s CPU")

    ts_r = runs.get("tshark -r, once per capture, summed")
    ts_f = runs.get("tshark -2 -T fields (24 app fields), once per capture, summed")
    lines = [f"Set: {setdesc}.",
             (f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gb']} GB RAM, Python {info['python']}, "
              f"{info['tshark'].rstrip('.')}; wiretale {info['commit']}; "
              f"load average at start {info['loadavg_at_start']}."),
             "",
             ("| run | captures | MB | wall s | CPU s | MB/s (wall) | MB/s (CPU) | peak RSS MB | "
              "× tshark -r (CPU) | × tshark fields (CPU) |"),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, r in runs.items():
        vs = [f"{t['cpu'] / r['cpu']:.2f}" if t and label.startswith("wiretale") else "" for t in (ts_r, ts_f)]
        lines.append(f"| {label} | {len(caps)} | {mb:.1f} | {r['wall']:.1f} | {r['cpu']:.1f} | {mb / r['wall']:.1f} "
                     f"| {mb / r['cpu']:.1f} | {r['rss_mb']:.0f} | {vs[0]} | {vs[1]} |")
    one, two = runs["wiretale batch, --workers 1"], runs["wiretale batch, --workers 2"]
    nohtml = runs["wiretale batch, --workers 2 --no-html"]
    lines += ["", (f"Speed-up of 2 workers over 1 (wall): {one['wall'] / two['wall']:.2f}× "
                   f"(CPU time of 2 workers / 1: {two['cpu'] / one['cpu']:.2f}). "
                   f"The HTML reports take {1 - nohtml['cpu'] / two['cpu']:.0%} of the 2-worker batch's CPU time.")]
    if ts_f:
        lines.append(f"Wall time, 2-worker batch with reports against tshark -2 -T fields run once per capture "
                     f"(one after the other): {ts_f['wall'] / two['wall']:.2f}×.")
    lines.append(f"Checks: {two['check']}.")
    md = "\n".join(lines)
    print(md)
    dest = a.json or RESULTS / f"batch40-{time.strftime('%Y%m%d-%H%M%S')}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps({"machine": info, "set": [dict(zip(("file", "source", "mb"), x)) for x in items],
                                "bytes": round(mb * 1e6), "runs": runs, "markdown": md}, indent=1))
    log(f"JSON: {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
