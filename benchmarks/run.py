"""Time wiretale against tshark on the same capture, in the same run.

    python -m benchmarks.run benchmarks/data/mix-100M.pcap                 # 3 runs of each tool
    python -m benchmarks.run benchmarks/data/mix-100M.pcap benchmarks/data/mix-1G.pcap --runs 3,1
    python -m benchmarks.run FILE --tools wiretale,engine,tshark-r        # a subset

Tools (each a whole process, started from the repository root, output thrown away):

* ``wiretale``: ``wiretale read FILE -o TMP --no-html`` (all dissectors, tables, extracted files);
* ``engine``: ``python -m benchmarks.engine_only FILE --mode raw`` (``analyze(decode=False)``:
  reading, flows, reassembly, conn table; no detection);
* ``detect``: ``python -m benchmarks.engine_only FILE --mode detect`` (detection, no decoding);
* ``sessions``: ``wiretale sessions FILE --json --no-decode`` (the engine as a user runs it: reading,
  flows, reassembly, detection of every flow's service, no decoding; the conn table as JSON lines);
* ``tshark-r``: ``tshark -r FILE`` (one pass, summary lines to /dev/null);
* ``tshark-fields``: ``tshark -r FILE -2 -T fields -e <app-layer fields>`` to /dev/null;
* ``wiretale-2w`` (not in the default set): ``wiretale read … --workers 2`` (one capture split by
  host pair over two processes; its CPU time is the sum over the processes, its peak RSS the
  largest single process, as ``wait4`` reports them).

For each: the median wall time of N runs, MB/s and packets/s from it, the median
CPU time (user + system, from ``os.wait4``; steadier than wall time on a shared
machine) and throughput on it, and the peak RSS (``ru_maxrss`` of the child from
``os.wait4``, which Linux folds together with the child's own waited-for
children). Then the ratios the issues ask for (wiretale throughput / tshark
throughput, same file, same run) on wall and CPU time, and when several files are
given, the peak RSS of the largest over the smallest.

Prints Markdown tables to stdout and writes JSON to ``benchmarks/results/``.
MB are 10^6 bytes of capture file.

Two things are set up before any timing, so that what is measured is our code and not this
machine's quirks (both are recorded in the JSON):

* the packages' bytecode is compiled (``compileall``): an installed wiretale has its ``.pyc``
  files, but a shell with ``PYTHONDONTWRITEBYTECODE=1`` (as on the machines these figures come
  from) would otherwise compile all of it again in every run (0.2 s of each start);
* wiretale's output folder is on tmpfs (``/dev/shm``) unless ``--out-dir`` says otherwise: on
  this VM's ext4 (mounted with ``discard``) creating thousands of files costs 1 to 4 s of
  system time depending on what was deleted before (measured: the same 5,000 files took 1.2, 1.4
  and 4.4 s of system time in three runs). The files are still written, every byte of them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

TSHARK_FIELDS = ("http.request.method", "http.host", "http.request.uri", "http.response.code",
                 "http.content_type", "dns.qry.name", "dns.qry.type", "dns.a", "smtp.req.command",
                 "smtp.req.parameter", "smtp.response.code", "ftp.request.command", "ftp.request.arg",
                 "ftp.response.code", "pop.request.command", "pop.request.parameter", "imap.request",
                 "imap.request.command", "imf.subject", "snmp.name", "tftp.opcode", "tftp.source_file",
                 "tftp.destination_file", "telnet.data")
TOOLS = ("wiretale", "engine", "detect", "sessions", "tshark-r", "tshark-fields", "wiretale-2w")
DEFAULT_TOOLS = ("wiretale", "engine", "detect", "sessions", "tshark-r", "tshark-fields")


def command(tool: str, path: Path, out: Path) -> list[str]:
    wiretale = shutil.which("wiretale")
    if tool == "wiretale":
        base = [wiretale] if wiretale else [sys.executable, "-m", "decoder.cli"]
        return base + ["read", str(path), "-o", str(out), "--no-html"]
    if tool == "wiretale-2w":
        return command("wiretale", path, out) + ["--workers", "2"]
    if tool == "sessions":
        base = [wiretale] if wiretale else [sys.executable, "-m", "decoder.cli"]
        return base + ["sessions", str(path), "--json", "--no-decode"]
    if tool == "engine":
        return [sys.executable, "-m", "benchmarks.engine_only", str(path), "--mode", "raw"]
    if tool == "detect":
        return [sys.executable, "-m", "benchmarks.engine_only", str(path), "--mode", "detect"]
    if tool == "tshark-r":
        return ["tshark", "-r", str(path)]
    if tool == "tshark-fields":
        cmd = ["tshark", "-r", str(path), "-2", "-T", "fields"]
        for f in TSHARK_FIELDS:
            cmd += ["-e", f]
        return cmd
    raise ValueError(tool)


def run_once(cmd: list[str], keep_stdout: bool = False) -> dict:
    """Run ``cmd`` with stdout to /dev/null (or a temporary file when ``keep_stdout``: the
    engine tools print one JSON line); wall time, CPU time and peak RSS of that child."""
    with open(os.devnull, "wb") if not keep_stdout else tempfile.TemporaryFile() as null:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=null, stderr=subprocess.PIPE)
        stderr = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        p.stderr.close()
        inner = None
        if keep_stdout:
            null.seek(0)
            try:
                inner = json.loads(null.read().decode().strip().splitlines()[-1])
            except (ValueError, IndexError):
                inner = None
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}… exited {p.returncode}: {stderr.decode(errors='replace')[-500:]}")
    res = {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024}
    if inner is not None:
        res["inner"] = inner
    return res


def count_packets(path: Path) -> int:
    """Packets in a classic pcap (record headers only)."""
    n = 0
    with open(path, "rb") as f:
        magic = f.read(24)[:4]
        endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        rec = struct.Struct(endian + "IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                return n
            n += 1
            f.seek(rec.unpack(h)[2], 1)


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(x.split()[1]) for x in open("/proc/meminfo") if x.startswith("MemTotal"))
    except OSError:
        mem = 0
    try:
        ts = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        ts = "absent"
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(mem / 1024 / 1024, 1),
            "python": platform.python_version(), "tshark": ts, "kernel": platform.release(),
            "loadavg_at_start": [round(x, 2) for x in load]}


def compile_packages() -> None:
    """Byte-compile the project's packages, as an installed wiretale would have them."""
    import compileall

    for pkg in ("decoder", "dissectors", "reports", "benchmarks"):
        compileall.compile_dir(str(ROOT / pkg), quiet=1)


def default_out_dir() -> Path | None:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def bench_file(path: Path, tools: list[str], runs: int, log, out_dir: Path | None = None) -> dict:
    size = path.stat().st_size
    packets = count_packets(path)
    res = {"file": str(path), "bytes": size, "packets": packets, "runs": runs, "tools": {}}
    for tool in tools:
        samples = []
        for i in range(runs):
            out = Path(tempfile.mkdtemp(prefix="wiretale-bench-", dir=out_dir))
            try:
                s = run_once(command(tool, path, out), keep_stdout=tool in ("engine", "detect"))
            finally:
                shutil.rmtree(out, ignore_errors=True)
            samples.append(s)
            log(f"  {path.name} {tool} run {i + 1}/{runs}: {s['wall']:.1f} s wall, {s['cpu']:.1f} s CPU, "
                f"{s['rss_mb']:.0f} MB" + (f" (engine {s['inner']['engine_cpu']:.1f} s CPU, result "
                                          f"{s['inner']['tables_cpu']:.1f} s)" if "inner" in s else ""))
        wall = statistics.median(x["wall"] for x in samples)
        cpu = statistics.median(x["cpu"] for x in samples)
        res["tools"][tool] = {
            "command": " ".join(command(tool, path, Path("OUT"))),
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "mb_s": round(size / 1e6 / wall, 1), "mb_s_cpu": round(size / 1e6 / cpu, 1),
            "pkts_s": round(packets / wall), "pkts_s_cpu": round(packets / cpu),
            "peak_rss_mb": round(max(x["rss_mb"] for x in samples), 1),
            "samples": samples,
        }
        inner = [x["inner"] for x in samples if "inner" in x]
        if inner:
            ecpu = statistics.median(x["engine_cpu"] for x in inner)
            res["tools"][tool].update(engine_cpu_s=round(ecpu, 2), mb_s_engine_cpu=round(size / 1e6 / ecpu, 1),
                                      tables_cpu_s=round(statistics.median(x["tables_cpu"] for x in inner), 2))
    t = res["tools"]
    ratios = {}
    for name, num, den, target in (("engine / tshark -r", "engine", "tshark-r", 3.0),
                                   ("detect / tshark -r", "detect", "tshark-r", 3.0),
                                   ("sessions --no-decode / tshark -r", "sessions", "tshark-r", 3.0),
                                   ("wiretale / tshark -2 -T fields", "wiretale", "tshark-fields", 3.0),
                                   ("wiretale / tshark -r", "wiretale", "tshark-r", 1.0),
                                   ("wiretale 2 workers / 1 worker", "wiretale-2w", "wiretale", 1.7)):
        if num in t and den in t:
            ratios[name] = {"wall": round(t[den]["wall_s"] / t[num]["wall_s"], 2),
                            "cpu": round(t[den]["cpu_s"] / t[num]["cpu_s"], 2), "target": target,
                            "basis": "wall" if num == "wiretale-2w" else "cpu"}
    for tool in ("engine", "detect"):
        if tool in t and "engine_cpu_s" in t[tool] and "tshark-r" in t:
            ratios[f"{tool} (in-process engine CPU only) / tshark -r"] = {
                "wall": None, "cpu": round(t["tshark-r"]["cpu_s"] / t[tool]["engine_cpu_s"], 2), "target": 3.0}
    res["ratios"] = ratios
    return res


def markdown(results: list[dict], info: dict) -> str:
    out = [f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gb']} GB RAM, Python {info['python']}, "
           f"{info['tshark']}; load average at start {info['loadavg_at_start']}; wiretale's output in "
           f"{info.get('output_dir', '?')}", ""]
    for r in results:
        out += [f"### {Path(r['file']).name}: {r['bytes'] / 1e6:.1f} MB, {r['packets']:,} packets, "
                f"median of {r['runs']} run(s)", "",
                "| tool | wall s | MB/s | packets/s | CPU s | MB/s (CPU) | packets/s (CPU) | peak RSS MB |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for tool, x in r["tools"].items():
            out.append(f"| {tool} | {x['wall_s']:.1f} | {x['mb_s']:.1f} | {x['pkts_s']:,} | {x['cpu_s']:.1f} | "
                       f"{x['mb_s_cpu']:.1f} | {x['pkts_s_cpu']:,} | {x['peak_rss_mb']:.0f} |")
        for tool, x in r["tools"].items():
            if "engine_cpu_s" in x:
                out.append(f"| {tool}: inside the process, engine only | | | | {x['engine_cpu_s']:.1f} | "
                           f"{x['mb_s_engine_cpu']:.1f} | {round(r['packets'] / x['engine_cpu_s']):,} | |")
        if r["ratios"]:
            out += ["", "| throughput ratio | wall | CPU | target | met |", "| --- | ---: | ---: | ---: | --- |"]
            for name, x in r["ratios"].items():
                wall = "–" if x["wall"] is None else f"{x['wall']:.2f}"
                out.append(f"| {name} | {wall} | {x['cpu']:.2f} | ≥ {x['target']:g} | "
                           f"{'yes' if x[x.get('basis', 'cpu')] >= x['target'] else 'no'} "
                           f"({x.get('basis', 'cpu')}) |")
        out.append("")
    if len(results) >= 2:
        small, large = min(results, key=lambda r: r["bytes"]), max(results, key=lambda r: r["bytes"])
        out += [f"### Peak RSS, {Path(large['file']).name} over {Path(small['file']).name}", "",
                "| tool | small MB | large MB | ratio | within 25% |", "| --- | ---: | ---: | ---: | --- |"]
        for tool in small["tools"]:
            if tool in large["tools"]:
                a, b = small["tools"][tool]["peak_rss_mb"], large["tools"][tool]["peak_rss_mb"]
                out.append(f"| {tool} | {a:.0f} | {b:.0f} | {b / a:.2f} | {'yes' if b <= 1.25 * a else 'no'} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    ap.add_argument("captures", nargs="+", type=Path)
    ap.add_argument("--runs", default="3", help="runs per tool (median); one number, or one per file: 3,1")
    ap.add_argument("--tools", default=",".join(DEFAULT_TOOLS),
                    help=f"comma-separated, from {','.join(TOOLS)} (default: all but wiretale-2w)")
    ap.add_argument("--json", type=Path, help="where to write the JSON (default benchmarks/results/<time>.json)")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="where wiretale writes its output during a run (default /dev/shm when it exists, "
                         "else the system's temporary folder)")
    a = ap.parse_args(argv)
    tools = [t for t in a.tools.split(",") if t]
    for t in tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t}")
    if any(t.startswith("tshark") for t in tools) and not shutil.which("tshark"):
        ap.error("tshark is not installed")
    runs = [int(x) for x in a.runs.split(",")]
    if len(runs) == 1:
        runs *= len(a.captures)
    if len(runs) != len(a.captures):
        ap.error("--runs: one number, or one per capture")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    compile_packages()
    out_dir = a.out_dir or default_out_dir()
    info = machine()
    info["output_dir"] = str(out_dir or tempfile.gettempdir())
    results = []
    for path, n in zip(a.captures, runs):
        results.append(bench_file(path.resolve(), tools, n, log, out_dir))
    publish(markdown(results, info), {"machine": info, "results": results}, a.json, "run", log)
    return 0


def publish(md: str, doc: dict, dest: Path | None, prefix: str, log) -> None:
    """Print ``md`` and write ``doc`` (with ``md``) as JSON to ``dest`` or ``benchmarks/results/<prefix>-<time>.json``."""
    print(md)
    dest = dest or RESULTS / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps({**doc, "markdown": md}, indent=1))
    log(f"JSON: {dest}")


if __name__ == "__main__":
    sys.exit(main())
