"""Issue 26 in one command: wiretale against tshark doing the same work, on the reference corpus.

    python -m benchmarks.speed                      # makes benchmarks/data/ref-100m.pcap if absent, 3 runs each
    python -m benchmarks.speed --size-mb 1000 --runs 1
    python -m benchmarks.speed --capture F.pcap     # any classic pcap instead of the corpus
    python -m benchmarks.speed --rss                # peak RSS of `single` at 100 MB and 1 GB (acceptance 3)

The corpus is ``../shared/bench/make_corpus.py --size-mb N`` (deterministic: same arguments, same
bytes), written once to ``benchmarks/data/ref-<N>m.pcap`` (git-ignored). Each tool is a whole process
started from the repository root, so the wiretale measured is this checkout's (``python -m
decoder.cli``, not whatever ``wiretale`` is on the PATH):

* ``single``: ``read F -o TMP --no-html --workers 1`` (one process);
* ``default``: ``read F -o TMP --no-html`` (the worker count wiretale chooses);
* ``tshark``: the issue's "same work" — ``tshark -2 -r F -T fields`` with eight application fields
  and ``--export-objects`` for http, imf, ftp-data and tftp into four temporary folders.

Per tool: the median wall time and the median CPU time (user + system of the process and of its
waited-for children — the workers — from ``os.wait4``) over ``--runs`` runs, and the peak RSS (the
largest single process). Then tshark's time over ours, CPU and wall: the issue's acceptance 1
(single-process CPU ≥ 1.5× tshark) and 2 (default wall ≥ 2.5× tshark). ``--rss`` runs ``single`` once on each
corpus of ``--rss-sizes`` (default 100 and 1000 MB) and gives acceptance 3: the largest one's peak RSS within
``RSS_RATIO`` of the smallest one's and under ``RSS_MAX_MB``. Output folders go to
``/dev/shm`` as in ``benchmarks.run`` (see there why). Markdown on stdout, JSON in
``benchmarks/results/speed-<time>.json``. On a shared machine give the CPU ratios; wall times
follow the load.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.run import ROOT, compile_packages, default_out_dir, machine, publish, run_once

CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
TSHARK_SAME_FIELDS = ("smtp.req.command", "dns.qry.name", "http.request.uri", "ftp.request.command",
                      "pop.request.command", "imap.request", "snmp.name", "tftp.source_file")
TSHARK_EXPORTS = ("http", "imf", "ftp-data", "tftp")
TOOLS = ("single", "default", "tshark")
RSS_RATIO = 1.25          # acceptance 3: peak RSS at 1 GB over that at 100 MB, at most
RSS_MAX_MB = 300          # and under this


def command(tool: str, capture: Path, out: Path) -> list[str]:
    """The command line of ``tool`` on ``capture``, writing under ``out`` (an empty folder)."""
    if tool in ("single", "default"):
        cmd = [sys.executable, "-m", "decoder.cli", "read", str(capture), "-o", str(out / "wiretale"), "--no-html"]
        return cmd + (["--workers", "1"] if tool == "single" else [])
    if tool == "tshark":
        cmd = ["tshark", "-2", "-r", str(capture), "-T", "fields"]
        for f in TSHARK_SAME_FIELDS:
            cmd += ["-e", f]
        for i, kind in enumerate(TSHARK_EXPORTS, 1):
            cmd += ["--export-objects", f"{kind},{out / f'D{i}'}"]
        return cmd
    raise ValueError(tool)


def corpus(size_mb: int, log) -> Path:
    """``benchmarks/data/ref-<size>m.pcap``, made by the shared generator when absent."""
    dest = ROOT / "benchmarks" / "data" / f"ref-{size_mb}m.pcap"
    if not dest.exists():
        if not CORPUS.exists():
            raise SystemExit(f"{CORPUS} is absent: give --capture")
        dest.parent.mkdir(parents=True, exist_ok=True)
        log(f"making {dest.name} with {CORPUS} --size-mb {size_mb}")
        tmp = dest.with_suffix(".part")
        subprocess.run([sys.executable, str(CORPUS), "--size-mb", str(size_mb), "-o", str(tmp)], check=True)
        tmp.replace(dest)
    return dest


def bench(capture: Path, tools: list[str], runs: int, log, out_dir: Path | None) -> dict:
    size = capture.stat().st_size
    res: dict = {"file": str(capture), "bytes": size, "runs": runs, "tools": {}}
    samples: dict[str, list[dict]] = {t: [] for t in tools}
    for i in range(runs):  # interleaved, so that a change of load hits every tool alike
        for tool in tools:
            out = Path(tempfile.mkdtemp(prefix="wiretale-speed-", dir=out_dir))
            try:
                s = run_once(command(tool, capture, out))
            finally:
                shutil.rmtree(out, ignore_errors=True)
            samples[tool].append(s)
            log(f"  {capture.name} {tool} run {i + 1}/{runs}: {s['wall']:.1f} s wall, {s['cpu']:.1f} s CPU, "
                f"{s['rss_mb']:.0f} MB")
    for tool, xs in samples.items():
        wall = statistics.median(x["wall"] for x in xs)
        cpu = statistics.median(x["cpu"] for x in xs)
        res["tools"][tool] = {"command": " ".join(command(tool, capture, Path("OUT"))),
                              "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                              "mb_s": round(size / 1e6 / wall, 1), "mb_s_cpu": round(size / 1e6 / cpu, 1),
                              "peak_rss_mb": round(max(x["rss_mb"] for x in xs), 1), "samples": xs}
    t = res["tools"]
    res["ratios"] = {}
    if "tshark" in t:
        for tool, basis, target in (("single", "cpu", 1.5), ("default", "wall", 2.5)):
            if tool in t:
                res["ratios"][f"{tool} / tshark same work"] = {
                    "cpu": round(t["tshark"]["cpu_s"] / t[tool]["cpu_s"], 2),
                    "wall": round(t["tshark"]["wall_s"] / t[tool]["wall_s"], 2),
                    "basis": basis, "target": target}
    return res


def markdown(r: dict, info: dict) -> str:
    out = [f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gb']} GB RAM, Python {info['python']}, "
           f"{info['tshark']}; load average at start {info['loadavg_at_start']}", "",
           f"{Path(r['file']).name}: {r['bytes'] / 1e6:.1f} MB, median of {r['runs']} run(s)", "",
           "| tool | wall s | CPU s | MB/s (CPU) | peak RSS MB |", "| --- | ---: | ---: | ---: | ---: |"]
    for tool, x in r["tools"].items():
        out.append(f"| {tool} | {x['wall_s']:.1f} | {x['cpu_s']:.1f} | {x['mb_s_cpu']:.1f} | {x['peak_rss_mb']:.0f} |")
    if r["ratios"]:
        out += ["", "| tshark time / ours | CPU | wall | target | met |", "| --- | ---: | ---: | ---: | --- |"]
        for name, x in r["ratios"].items():
            out.append(f"| {name} | {x['cpu']:.2f} | {x['wall']:.2f} | ≥ {x['target']:g} ({x['basis']}) | "
                       f"{'yes' if x[x['basis']] >= x['target'] else 'no'} |")
    return "\n".join(out + [""])


def rss(captures: list[Path], runs: int, log, out_dir: Path | None) -> dict:
    """Peak RSS of ``single`` (``read --no-html --workers 1``) on each capture (the largest of ``runs``
    runs), the largest capture's over the smallest one's, and whether acceptance 3 holds."""
    res: dict = {"captures": []}
    for cap in captures:
        r = bench(cap, ["single"], runs, log, out_dir)["tools"]["single"]
        res["captures"].append({"file": str(cap), "bytes": cap.stat().st_size, "peak_rss_mb": r["peak_rss_mb"],
                                "cpu_s": r["cpu_s"], "wall_s": r["wall_s"]})
    by_size = sorted(res["captures"], key=lambda c: c["bytes"])
    small, large = by_size[0], by_size[-1]
    res["ratio"] = round(large["peak_rss_mb"] / small["peak_rss_mb"], 3)
    res["met"] = res["ratio"] <= RSS_RATIO and large["peak_rss_mb"] < RSS_MAX_MB
    return res


def rss_markdown(r: dict, info: dict) -> str:
    out = [f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gb']} GB RAM, Python {info['python']}; "
           f"load average at start {info['loadavg_at_start']}", "",
           "| capture | MB | peak RSS MB (`read --no-html --workers 1`) | CPU s |", "| --- | ---: | ---: | ---: |"]
    for c in r["captures"]:
        out.append(f"| {Path(c['file']).name} | {c['bytes'] / 1e6:.1f} | {c['peak_rss_mb']:.1f} | {c['cpu_s']:.1f} |")
    out += ["", f"largest / smallest: {r['ratio']:.3f} (at most {RSS_RATIO}, and under {RSS_MAX_MB} MB): "
            f"{'met' if r['met'] else 'not met'}"]
    return "\n".join(out + [""])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=100, help="corpus size (default 100)")
    ap.add_argument("--capture", type=Path, help="a capture of your own instead of the corpus")
    ap.add_argument("--runs", type=int, help="runs per tool, interleaved (median; default 3, with --rss 1)")
    ap.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated, from {','.join(TOOLS)}")
    ap.add_argument("--out-dir", type=Path, help="where outputs go during a run (default /dev/shm)")
    ap.add_argument("--json", type=Path, help="default benchmarks/results/speed-<time>.json")
    ap.add_argument("--rss", action="store_true", help="peak RSS of `single` on each corpus of --rss-sizes "
                    "(or each --rss-capture) and acceptance 3, instead of the speed comparison")
    ap.add_argument("--rss-sizes", default="100,1000", help="corpus sizes in MB for --rss (default 100,1000)")
    ap.add_argument("--rss-capture", type=Path, action="append", default=[],
                    help="a capture of your own for --rss (repeatable; replaces --rss-sizes)")
    a = ap.parse_args(argv)
    tools = [t for t in a.tools.split(",") if t]
    if unknown := [t for t in tools if t not in TOOLS]:
        ap.error(f"unknown tool(s): {', '.join(unknown)}")
    if "tshark" in tools and not shutil.which("tshark"):
        ap.error("tshark is not installed")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if a.rss:
        caps = [c.resolve() for c in a.rss_capture] or \
            [corpus(int(n), log).resolve() for n in a.rss_sizes.split(",") if n]
        compile_packages()
        info = machine()
        r = rss(caps, a.runs or 1, log, a.out_dir or default_out_dir())
        publish(rss_markdown(r, info), {"machine": info, "result": r}, a.json, "rss", log)
        return 0
    capture = (a.capture or corpus(a.size_mb, log)).resolve()
    compile_packages()
    info = machine()
    r = bench(capture, tools, a.runs or 3, log, a.out_dir or default_out_dir())
    publish(markdown(r, info), {"machine": info, "result": r}, a.json, "speed", log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
