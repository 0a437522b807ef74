"""Live capture at a fixed packet rate: drops, CPU, memory, and live tables = ``read`` of the same file
(issue 28, acceptance 1).

The benchmark makes a network namespace with a veth pair in it (``v0`` ↔ ``v1``, no addresses, no
routes: every replayed packet stays inside the namespace), replays a capture onto ``v0`` with
``tcpreplay --pps RATE --preload-pcap`` and runs ``wiretale live -i v1 --no-html`` inside the same
namespace. When the replay is over (and one more second), the live run is stopped with SIGINT, as a
user would, and decodes whatever backlog it still has. Then ``wiretale read`` decodes the capture file
the live run wrote, with the live run's idle timeouts, and every table is compared line by line.

Figures (one JSON object per rate, and a table):
  sent / captured / kernel drops / ring files lost — tcpreplay's count, the file's, dumpcap's, ours;
  achieved pps — tcpreplay's own "Rated:" figure (a loaded machine may not reach the rate asked for);
  live CPU (user+sys of wiretale and its dumpcap, from wait4); live peak RSS (the wiretale process,
  sampled from /proc every 0.5 s; dumpcap's own RSS, about 70 MB with its 64 MiB capture buffer, is
  ``peak_rss_with_dumpcap_mb``); read CPU and peak RSS (wait4);
  max_seconds_behind — how far decoding lagged the wire (the backlog waits on disk, not in the kernel);
  tables equal — every table of the live run equals ``read``'s.

With ``--rss-minutes M`` it instead runs one long capture at ``--rates[0]`` for M minutes, samples the
live process's RSS every 5 s, and prints the mean of the first and last 10 minutes (or thirds).

Needs root, ip (iproute2), tcpreplay and dumpcap. Example::

    python -m benchmarks.live_rate --capture benchmarks/data/ref-100m.pcap --rates 50000 --seconds 60
    python -m benchmarks.live_rate --rates 10000,20000,50000,100000 --seconds 10      # highest clean rate
    python -m benchmarks.live_rate --rates 3000 --rss-minutes 30 --json benchmarks/results/live_rss_30min.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.live_rss import rss_kb  # noqa: E402

NS = "wtliverate"
CORPUS = ROOT / "benchmarks" / "data" / "ref-100m.pcap"
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
LIMITS = ["--limit", "tcp_idle_timeout=120", "--limit", "udp_idle_timeout=30"]   # live's defaults


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def make_namespace() -> None:
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "netns", "add", NS)
    # no IPv6 in the namespace: the kernel would add its own router and neighbour solicitations
    sh(*in_ns("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"))
    sh("ip", "-n", NS, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
    for dev in ("v0", "v1", "lo"):
        sh("ip", "-n", NS, "link", "set", dev, "up")
    # frames of any size in the corpus fit
    sh("ip", "-n", NS, "link", "set", "v0", "mtu", "9000")
    sh("ip", "-n", NS, "link", "set", "v1", "mtu", "9000")


def in_ns(*cmd: str) -> list[str]:
    return ["ip", "netns", "exec", NS, *cmd]


def wait4(proc: subprocess.Popen) -> tuple[int, float, int]:
    """(exit code, CPU seconds user+sys of the process and its waited-for children, peak RSS in MB)."""
    _pid, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, ru.ru_utime + ru.ru_stime, ru.ru_maxrss // 1024


def tables_of(out: Path) -> dict[str, list[str]]:
    return {p.stem: sorted(p.read_text(encoding="utf-8").splitlines())
            for p in sorted((out / "tables").glob("*.jsonl"))}


def run_rate(capture: Path, rate: int, loops: int, work: Path, compare: bool,
             rss_every: float = 0.0) -> dict:
    out = work / f"live-{rate}"
    shutil.rmtree(out, ignore_errors=True)
    live = subprocess.Popen(in_ns(sys.executable, "-m", "decoder.cli", "live", "-i", "v1", "-o", str(out),
                                  "--no-html"), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    err: list[str] = []
    ready = threading.Event()

    def read_err() -> None:
        for line in live.stderr:
            err.append(line.rstrip())
            if "capturing on" in line:
                ready.set()
        ready.set()
    threading.Thread(target=read_err, daemon=True).start()
    if not ready.wait(60) or live.poll() is not None:
        raise SystemExit(f"wiretale live did not start: {err}")
    samples: list[tuple[float, int]] = []
    stop_sampling = threading.Event()

    def sample() -> None:
        t0 = time.monotonic()
        while not stop_sampling.wait(rss_every or 0.5):
            samples.append((round(time.monotonic() - t0, 1), rss_kb(live.pid)))
    threading.Thread(target=sample, daemon=True).start()
    t0 = time.monotonic()
    rep = sh(*in_ns("tcpreplay", "-i", "v0", f"--pps={rate}", "--preload-pcap", f"--loop={loops}",
                    str(capture)), check=False)
    replay_s = time.monotonic() - t0
    time.sleep(1.0)
    live.send_signal(signal.SIGINT)
    rc, cpu, rss = wait4(live)
    stop_sampling.set()
    if rc != 0:
        raise SystemExit(f"wiretale live exited {rc}: {err[-5:]}")
    summary = json.loads((out / "summary.json").read_text())
    facts = summary["live"]
    m_sent = re.search(r"Actual: (\d+) packets", rep.stdout)
    m_rate = re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", rep.stdout)
    res = {"rate_asked": rate, "loops": loops, "replay_seconds": round(replay_s, 1),
           "sent": int(m_sent.group(1)) if m_sent else None,
           "achieved_pps": float(m_rate.group(1)) if m_rate else None,
           "captured": summary["packets"]["total"], "kernel_dropped": facts.get("dropped"),
           "received_by_dumpcap": facts.get("received"), "lost_files": facts.get("lost_files"),
           "max_seconds_behind": facts.get("max_seconds_behind"), "live_cpu_s": round(cpu, 1),
           "live_peak_rss_mb": round(max((v for _t, v in samples), default=0) / 1024),
           "peak_rss_with_dumpcap_mb": rss, "capture_bytes": (out / "capture.pcapng").stat().st_size}
    if rss_every:
        res["rss_samples_kb"] = samples
    if compare:
        off = work / f"read-{rate}"
        shutil.rmtree(off, ignore_errors=True)
        proc = subprocess.Popen([sys.executable, "-m", "decoder.cli", "read", str(out / "capture.pcapng"),
                                 "-o", str(off), "--no-html", *LIMITS], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        rrc, rcpu, rrss = wait4(proc)
        a, b = tables_of(out), tables_of(off)
        res.update(read_cpu_s=round(rcpu, 1), read_peak_rss_mb=rrss, tables=len(b),
                   tables_equal=(rrc == 0 and a == b),
                   tables_differing=sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))
        shutil.rmtree(off, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--capture", type=Path, default=CORPUS,
                    help="capture to replay (default: the 100 MB reference corpus, made if missing)")
    ap.add_argument("--rates", default="50000", help="packets per second, comma-separated")
    ap.add_argument("--seconds", type=float, default=60, help="replay about this long at each rate (loops)")
    ap.add_argument("--no-compare", action="store_true", help="skip the read of the written file")
    ap.add_argument("--rss-minutes", type=float, default=0, help="one long run; RSS sampled every 5 s")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--json", type=Path, help="append the results here")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("live_rate needs root (a network namespace and capture rights)")
    for tool in ("ip", "tcpreplay", "dumpcap"):
        if not shutil.which(tool):
            raise SystemExit(f"live_rate needs {tool} (Debian: apt-get install iproute2 tcpreplay tshark)")
    if not args.capture.exists():
        if args.capture != CORPUS:
            raise SystemExit(f"{args.capture}: no such file")
        CORPUS.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(MAKE_CORPUS), "--size-mb", "100", "-o", str(CORPUS)], check=True)
    packets = int(sh("capinfos", "-c", "-M", "-T", str(args.capture)).stdout.splitlines()[-1].split("\t")[-1])
    work = args.work or Path(tempfile.mkdtemp(prefix="wiretale-live-rate-"))
    work.mkdir(parents=True, exist_ok=True)
    make_namespace()
    results = []
    try:
        for rate in (int(r) for r in args.rates.split(",")):
            seconds = args.rss_minutes * 60 if args.rss_minutes else args.seconds
            loops = max(1, round(seconds * rate / packets))
            res = run_rate(args.capture, rate, loops, work, compare=not args.no_compare and not args.rss_minutes,
                           rss_every=5.0 if args.rss_minutes else 0.0)
            if args.rss_minutes:
                s = res["rss_samples_kb"]
                window = min(120, len(s) // 3)          # 10 minutes of 5 s samples, or a third of the run
                first = sum(v for _t, v in s[:window]) / max(1, window) / 1024
                last = sum(v for _t, v in s[-window:]) / max(1, window) / 1024
                res.update(rss_first_mb=round(first, 1), rss_last_mb=round(last, 1),
                           rss_growth=round(last / first - 1, 3) if first else None)
            results.append(res)
            print(json.dumps({k: v for k, v in res.items() if k != "rss_samples_kb"}), flush=True)
    finally:
        sh("ip", "netns", "del", NS, check=False)
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "a", encoding="utf-8") as fh:
            for r in results:
                fh.write(json.dumps(r) + "\n")
    print("\n| asked pps | achieved pps | sent | captured | kernel drops | lost files | behind (s) | live CPU s "
          "| live RSS MB | read CPU s | read RSS MB | tables equal |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |")
    for r in results:
        print(f"| {r['rate_asked']:,} | {r['achieved_pps'] or 0:,.0f} | {r['sent'] or 0:,} | {r['captured']:,} | "
              f"{r['kernel_dropped']} | {r['lost_files']} | {r['max_seconds_behind']} | {r['live_cpu_s']} | "
              f"{r['live_peak_rss_mb']} | {r.get('read_cpu_s', '-')} | {r.get('read_peak_rss_mb', '-')} | "
              f"{r.get('tables_equal', '-')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
