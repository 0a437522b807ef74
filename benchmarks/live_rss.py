"""RSS of ``wiretale live`` over several minutes of loopback traffic (issue 9, acceptance 3).

Starts real servers on free loopback ports (http.server, a dnspython DNS responder, aiosmtpd),
runs ``wiretale live -i lo -f <those ports> -a duration:SEC --no-html --refresh 30`` as a
subprocess, drives traffic at a steady rate (new TCP connections for HTTP, a new UDP source
port per DNS query, a mail now and then), and samples the resident set size of the wiretale
process and of its tshark/dumpcap children every ``--every`` seconds from /proc.

Run as root (or with capture rights), on Linux::

    python benchmarks/live_rss.py --seconds 180 --http-rate 40 --dns-rate 20 --json out.json

"Flat after warm-up" means: the growth between the end of warm-up (by default when 60 % of
the run is over, past the 120 s linger of finished TCP flows and the 30 s UDP idle timeout)
and the end stays within a few MB, while packets and flows keep growing linearly.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live import traffic  # noqa: E402


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, name) of every process below ``pid`` (tshark and dumpcap start new sessions but stay children)."""
    kids: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                st = fh.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
        names[int(d)] = name
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        for c in kids.get(p, []):
            out.append((c, names.get(c, "?")))
            stack.append(c)
    return out


class Driver:
    def __init__(self, http_port: int, dns_port: int, smtp_port: int | None, http_rate: float, dns_rate: float,
                 mail_every: float) -> None:
        self.http_port, self.dns_port, self.smtp_port = http_port, dns_port, smtp_port
        self.http_rate, self.dns_rate, self.mail_every = http_rate, dns_rate, mail_every
        self.stop = threading.Event()
        self.counts = {"http": 0, "dns": 0, "smtp": 0, "errors": 0}

    def _loop(self, rate: float, fn, key: str) -> None:
        period = 1.0 / rate
        nxt = time.monotonic()
        i = 0
        while not self.stop.is_set():
            try:
                fn(i)
                self.counts[key] += 1
            except Exception:
                self.counts["errors"] += 1
            i += 1
            nxt += period
            delay = nxt - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            else:
                nxt = time.monotonic()

    def start(self) -> list[threading.Thread]:
        jobs = [(self.http_rate, lambda i: traffic.http_get(self.http_port, f"/page/{i}?q={'x' * (i % 200)}"), "http"),
                (self.dns_rate, lambda i: traffic.dns_query(self.dns_port, f"host{i}.bench.example.", 2.0), "dns")]
        if self.smtp_port and self.mail_every > 0:
            jobs.append((1.0 / self.mail_every, lambda i: traffic.send_mail(
                self.smtp_port, "bench@example.org", ["rcpt@example.net"], f"bench {i}", "body\n" * 200), "smtp"))
        ts = [threading.Thread(target=self._loop, args=j, daemon=True) for j in jobs if j[0] > 0]
        for t in ts:
            t.start()
        return ts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--every", type=float, default=2.0, help="sampling period (s)")
    ap.add_argument("--http-rate", type=float, default=40, help="HTTP requests (new connections) per second")
    ap.add_argument("--dns-rate", type=float, default=20, help="DNS queries (new UDP flows) per second")
    ap.add_argument("--mail-every", type=float, default=5.0, help="seconds between e-mails (0: none)")
    ap.add_argument("--warmup", type=float, default=0.6, help="fraction of the run counted as warm-up")
    ap.add_argument("--out", default="/tmp/wiretale-live-rss")
    ap.add_argument("--json", help="write the samples and figures here")
    ap.add_argument("--row-mem", type=int, default=0,
                    help="rows a table keeps in memory before spilling to disk (engine default 20000); "
                         "a small value separates the engine's row batches from memory that grows with flows")
    args = ap.parse_args(argv)

    http_port = traffic.free_port()
    dns_port = traffic.free_port(traffic.socket.SOCK_DGRAM)
    servers = [traffic.HttpServer(http_port).start(), traffic.DnsServer(dns_port).start()]
    smtp_port = None
    try:
        import aiosmtpd  # noqa: F401
        smtp_port = traffic.free_port()
        servers.append(traffic.SmtpServer(smtp_port).start())
    except ImportError:
        print("aiosmtpd not installed: no SMTP traffic", file=sys.stderr)
    bpf = f"host 127.0.0.1 and (tcp port {http_port} or udp port {dns_port}" + \
          (f" or tcp port {smtp_port})" if smtp_port else ")")
    out = Path(args.out)
    launcher = ["-m", "decoder.cli"]
    if args.row_mem:
        launcher = ["-c", "import sys, decoder.rows as r; d = list(r.RowStore.__init__.__defaults__); "
                          f"d[0] = {args.row_mem}; r.RowStore.__init__.__defaults__ = tuple(d); "
                          "from decoder.cli import main; sys.exit(main(sys.argv[1:]))"]
    cmd = [sys.executable, *launcher, "live", "-i", "lo", "-f", bpf, "-a", f"duration:{args.seconds:g}",
           "-o", str(out), "--no-html", "--refresh", "30"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    ready = threading.Event()

    def read_err():
        for line in proc.stderr:
            err.append(line.rstrip())
            if "capturing on" in line:
                ready.set()
        ready.set()
    threading.Thread(target=read_err, daemon=True).start()
    if not ready.wait(60) or proc.poll() is not None:
        print("wiretale live did not start:", "\n".join(err), file=sys.stderr)
        return 1
    t0 = time.monotonic()
    drv = Driver(http_port, dns_port, smtp_port, args.http_rate, args.dns_rate, args.mail_every)
    drv.start()
    samples = []
    while proc.poll() is None:
        el = time.monotonic() - t0
        kids = descendants(proc.pid)
        row = {"t": round(el, 1), "wiretale_kb": rss_kb(proc.pid),
               "tshark_kb": sum(rss_kb(p) for p, n in kids if n == "tshark"),
               "dumpcap_kb": sum(rss_kb(p) for p, n in kids if n == "dumpcap"),
               **{k: v for k, v in drv.counts.items()}}
        if row["wiretale_kb"]:
            samples.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
        time.sleep(args.every)
        if el > args.seconds + 120:
            proc.terminate()
    drv.stop.set()
    rc = proc.wait()
    for s in servers:
        s.stop()
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    run = [s for s in samples if s["t"] <= args.seconds - args.every]   # the capture itself, not the final write
    warm = [s for s in run if s["t"] >= args.warmup * args.seconds]
    def mb(kb): return round(kb / 1024, 1)
    fig = {
        "seconds": args.seconds, "row_mem": args.row_mem or 20000, "http_rate": args.http_rate, "dns_rate": args.dns_rate, "mail_every": args.mail_every,
        "exit_code": rc, "requests": drv.counts,
        "packets": summary.get("packets", {}).get("total"), "flows": summary.get("flows", {}).get("total"),
        "dropped": summary.get("live", {}).get("dropped"),
        "recovered_from_file": summary.get("live", {}).get("recovered_from_file"),
        "wiretale_rss_mb": {"first": mb(run[0]["wiretale_kb"]) if run else None,
                            "end_of_warmup": mb(warm[0]["wiretale_kb"]) if warm else None,
                            "min_after_warmup": mb(min(s["wiretale_kb"] for s in warm)) if warm else None,
                            "max_after_warmup": mb(max(s["wiretale_kb"] for s in warm)) if warm else None,
                            "last": mb(run[-1]["wiretale_kb"]) if run else None,
                            "peak_incl_final_write": mb(max(s["wiretale_kb"] for s in samples)) if samples else None},
        "tshark_rss_mb": {"end_of_warmup": mb(warm[0]["tshark_kb"]) if warm else None,
                          "last": mb(run[-1]["tshark_kb"]) if run else None},
        "dumpcap_rss_mb": {"last": mb(run[-1]["dumpcap_kb"]) if run else None},
    }
    print(json.dumps(fig, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({"figures": fig, "samples": samples}, indent=1))
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
