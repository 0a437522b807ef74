"""Issue 26, the split run's efficiency: ``read --no-html`` on one process and on N, and where the split run's time goes.

    python -m benchmarks.split_timeline --capture /work/data/ref-100m.pcap --runs 3
    python -m benchmarks.split_timeline --capture F.pcap --workers 1,2,3

Each run is a whole process started from the repository root (``python -m benchmarks.split_timeline
--one …``: ``wiretale read F -o TMP --no-html --workers N`` through the command line's own entry point),
the worker counts interleaved run by run so that a change of load hits each alike. Per worker count: the
median wall and CPU time (user + system of the process and its waited-for children, ``os.wait4``) and the
largest peak RSS. For N > 1, the split run's timeline (:func:`decoder.commands.split.read_parallel`'s
``timeline`` marks, seconds from the process's start) of the median run: the parent's serial seconds
(before the workers start, and after the last one ends) and each worker's phases (engine made, decoded,
written). Output folders go to ``/dev/shm`` as in ``benchmarks.run``. Markdown on stdout, JSON in
``benchmarks/results/split-<time>.json``. On a shared machine wall times follow the load: give the CPU
figures and the parent's serial seconds beside them.
"""
from __future__ import annotations

import time

T0 = time.perf_counter()     # the process's start, as near as this module can see it

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from benchmarks.run import compile_packages, default_out_dir, machine, publish, run_once  # noqa: E402


def one(workers: int, capture: str, out: str) -> int:
    """One run of ``read --no-html --workers N`` in this process; prints its timeline as one JSON line."""
    import functools

    import decoder.commands.split as split
    from decoder.commands import cli

    marks: list[tuple[str, float, float]] = [("process: benchmark module imported", time.perf_counter(),
                                              time.process_time())]
    split.read_parallel = functools.partial(split.read_parallel, timeline=marks)
    with open("/dev/null", "w") as null:
        stdout, sys.stdout = sys.stdout, null
        try:
            rc = cli.main(["read", capture, "-o", out, "--no-html", "--workers", str(workers)])
        finally:
            sys.stdout = stdout
    marks.append(("process: done", time.perf_counter(), time.process_time()))
    print(json.dumps({"rc": rc, "marks": [(what, round(t - T0, 4), round(cpu, 4)) for what, t, cpu in marks]}))
    return 0


def serial_seconds(marks: list[list], wall: float) -> dict:
    """The parent's serial part: the run's wall time outside the workers' span (from the pool's start to
    its end), and the parent's CPU seconds before the workers start and after they end."""
    at = {what: (t, cpu) for what, t, cpu in marks}
    if "parent: workers done" not in at:
        return {}
    (t_start, cpu_start), (t_end, cpu_end) = at["parent: engine loaded"], at["parent: workers done"]
    return {"serial": round(wall - (t_end - t_start), 3), "cpu_before": round(cpu_start, 3),
            "cpu_after": round(at["process: done"][1] - cpu_end, 3),
            "workers_cpu": [round(cpu, 3) for what, _t, cpu in marks
                            if what.startswith("worker ") and what.endswith(": written")]}


def bench(capture: Path, counts: list[int], runs: int, log, out_dir: Path | None) -> dict:
    samples: dict[int, list[dict]] = {n: [] for n in counts}
    for i in range(runs):
        for n in counts:
            out = Path(tempfile.mkdtemp(prefix="wiretale-split-", dir=out_dir))
            try:
                s = run_once([sys.executable, "-m", "benchmarks.split_timeline", "--one", str(n), str(capture),
                              str(out / "out")], keep_stdout=True)
            finally:
                shutil.rmtree(out, ignore_errors=True)
            s["marks"] = s.pop("inner", {}).get("marks", [])
            s["serial"] = serial_seconds(s["marks"], s["wall"])
            samples[n].append(s)
            ser = s["serial"]
            ser = (f"; parent serial {ser['serial']:.2f} s wall, CPU {ser['cpu_before']:.2f} s before the "
                   f"workers + {ser['cpu_after']:.2f} s after; workers' CPU {ser['workers_cpu']}") if ser else ""
            log(f"  workers {n} run {i + 1}/{runs}: {s['wall']:.2f} s wall, {s['cpu']:.2f} s CPU, "
                f"{s['rss_mb']:.0f} MB{ser}")
    res: dict = {"file": str(capture), "bytes": capture.stat().st_size, "runs": runs, "workers": {}}
    for n, xs in samples.items():
        med = sorted(xs, key=lambda x: x["wall"])[len(xs) // 2]
        row = {"wall_s": round(statistics.median(x["wall"] for x in xs), 3),
               "cpu_s": round(statistics.median(x["cpu"] for x in xs), 3),
               "peak_rss_mb": round(max(x["rss_mb"] for x in xs), 1), "median_run": med, "samples": xs}
        if xs[0]["serial"]:
            for k in ("serial", "cpu_before", "cpu_after"):
                row[f"{k}_s"] = round(statistics.median(x["serial"][k] for x in xs), 3)
        res["workers"][n] = row
    return res


def markdown(r: dict, info: dict) -> str:
    out = [f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}; load average at start "
           f"{info['loadavg_at_start']}", "",
           f"{Path(r['file']).name}: {r['bytes'] / 1e6:.1f} MB, median of {r['runs']} run(s), interleaved", "",
           "| workers | wall s | CPU s | parent serial wall s | parent CPU s before / after the workers | peak RSS MB |",
           "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n, x in r["workers"].items():
        ser = (f"{x['serial_s']:.2f} | {x['cpu_before_s']:.2f} / {x['cpu_after_s']:.2f}" if "serial_s" in x
               else "– | –")
        out.append(f"| {n} | {x['wall_s']:.2f} | {x['cpu_s']:.2f} | {ser} | {x['peak_rss_mb']:.0f} |")
    for n, x in r["workers"].items():
        if "serial_s" not in x:
            continue
        out += ["", f"Timeline of the median run on {n} workers (wall seconds from the process's start; CPU "
                "seconds of that process):", "", "| wall s | CPU s | mark |", "| ---: | ---: | --- |"]
        out += [f"| {t:.3f} | {cpu:.3f} | {what} |" for what, t, cpu in sorted(x["median_run"]["marks"],
                                                                            key=lambda m: m[1])]
    return "\n".join(out + [""])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.split_timeline", description=__doc__.split("\n")[0])
    ap.add_argument("--capture", type=Path, help="a classic pcap or pcapng file (required)")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    ap.add_argument("--runs", type=int, default=3, help="runs per worker count, interleaved (median; default 3)")
    ap.add_argument("--out-dir", type=Path, help="where outputs go during a run (default /dev/shm)")
    ap.add_argument("--json", type=Path, help="default benchmarks/results/split-<time>.json")
    ap.add_argument("--one", nargs=3, metavar=("N", "CAPTURE", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        return one(int(a.one[0]), a.one[1], a.one[2])
    if a.capture is None:
        ap.error("--capture is required")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    counts = [int(x) for x in a.workers.split(",") if x]
    compile_packages()
    info = machine()
    r = bench(a.capture.resolve(), counts, a.runs, log, a.out_dir or default_out_dir())
    publish(markdown(r, info), {"machine": info, "result": r}, a.json, "split", log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
