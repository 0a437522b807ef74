"""Live capture on the loopback interface (issue 9, acceptance 1 and 2).

Real servers and clients (aiosmtpd + smtplib, http.server + urllib, a dnspython-built DNS
responder + dnspython's client) talk over ``lo`` on free ports while ``wiretale live`` runs as
a subprocess with a BPF filter for exactly those ports. The oracles are what the servers and
clients saw, the written capture file read by our reader and by tshark, and an offline
``analyze`` of that file. Capture tests need root (CI runs as root) and tshark/dumpcap; they
skip cleanly otherwise. Each run lasts a few seconds.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.live import traffic

ROOT = Path(__file__).resolve().parents[2]
HAVE_TOOLS = shutil.which("tshark") is not None and shutil.which("dumpcap") is not None
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
HAVE_LO = Path("/sys/class/net/lo").exists()

needs_capture = pytest.mark.skipif(not (HAVE_TOOLS and IS_ROOT and HAVE_LO),
                                   reason="live capture tests need root, tshark/dumpcap and the lo interface")
needs_tools = pytest.mark.skipif(not HAVE_TOOLS, reason="needs tshark and dumpcap")


class Live:
    """``wiretale live`` as a subprocess; :meth:`wait_ready` returns once dumpcap is capturing."""

    def __init__(self, out: Path, bpf: str | None, *extra: str, env: dict | None = None,
                 prefix: list[str] | None = None) -> None:
        cmd = list(prefix or []) + [sys.executable, "-m", "decoder.cli", "live", "-i", "lo", "-o", str(out)]
        if bpf:
            cmd += ["-f", bpf]
        cmd += list(extra)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.err: list[str] = []
        self.out: list[str] = []
        self.ready = threading.Event()
        self._t = [threading.Thread(target=self._read, args=(self.proc.stderr, self.err, True), daemon=True),
                   threading.Thread(target=self._read, args=(self.proc.stdout, self.out, False), daemon=True)]
        for t in self._t:
            t.start()

    def _read(self, stream, sink: list, watch: bool) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))
            if watch and "capturing on" in line:
                self.ready.set()
        if watch:
            self.ready.set()

    def wait_ready(self, timeout: float = 30) -> None:
        assert self.ready.wait(timeout), f"wiretale live did not start: {self.err}"
        assert self.proc.poll() is None, f"wiretale live exited early: {self.err}"

    def wait(self, timeout: float = 60) -> int:
        rc = self.proc.wait(timeout)
        for t in self._t:
            t.join(5)
        return rc


def jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def file_frames(path: Path) -> list:
    from decoder.capture import PcapFileSource

    src = PcapFileSource(path)
    try:
        return list(src)
    finally:
        src.close()


@pytest.fixture(params=["dumpcap", "pyshark"])
def via(request) -> str:
    """The packet path: dumpcap's growing file read by our reader (default), or tshark JSON via pyshark."""
    return request.param


def delivered(live_facts: dict) -> int:
    """Frames handed to the engine while the capture ran (not read back from the file afterwards)."""
    if live_facts["via"] == "pyshark":
        assert live_facts["recovered_from_file"] == 0
        return live_facts["delivered_by_pyshark"]
    assert live_facts["lost_files"] == 0
    return live_facts["delivered"]


def tshark_count(path: Path) -> int:
    r = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.number"], capture_output=True,
                       text=True, check=True)
    return len([l for l in r.stdout.splitlines() if l.strip()])


# ----------------------------------------------------------------------------- acceptance 1
@needs_capture
def test_live_smtp_http_dns(tmp_path, via):
    pytest.importorskip("aiosmtpd")
    smtp_port, http_port = traffic.free_port(), traffic.free_port()
    dns_port = traffic.free_port(traffic.socket.SOCK_DGRAM)
    smtp = traffic.SmtpServer(smtp_port).start()
    http = traffic.HttpServer(http_port).start()
    dnss = traffic.DnsServer(dns_port).start()
    out = tmp_path / "out"
    bpf = f"(tcp port {smtp_port} or tcp port {http_port} or udp port {dns_port}) and host 127.0.0.1"
    live = Live(out, bpf, "-a", "duration:6", "--via", via)
    try:
        live.wait_ready()
        traffic.send_mail(smtp_port, "alice@example.org", ["bob@example.net", "carol@example.net"],
                          "live capture test", "Hello Bob,\nthis crossed the loopback.\n")
        got = [traffic.http_get(http_port, "/hello?x=1"), traffic.http_get(http_port, "/missing/page"),
               traffic.http_post(http_port, "/upload", b"z" * 3000)]
        answer = traffic.dns_query(dns_port, "live.example.")
        rc = live.wait()
    finally:
        smtp.stop()
        http.stop()
        dnss.stop()
    assert rc == 0, live.err
    tables = out / "tables"

    # SMTP: the transaction the server accepted
    assert len(smtp.messages) == 1
    mail_from, rcpts, content = smtp.messages[0]
    rows = jsonl(tables / "smtp.jsonl")
    assert len(rows) == 1, rows
    r = rows[0]
    assert r["resp_p"] == smtp_port
    assert mail_from in r["mailfrom"]
    assert sorted(x.strip("<>") for x in r["rcptto"]) == sorted(rcpts)
    assert r["subject"] == "live capture test"
    assert r["helo"] == "client.example"
    emails = jsonl(tables / "emails.jsonl")
    assert [e["subject"] for e in emails] == ["live capture test"]

    # HTTP: the three requests the server answered, with what the client read
    rows = sorted(jsonl(tables / "http.jsonl"), key=lambda r: r["ts"])
    assert [(r["method"], r["uri"], r["status_code"]) for r in rows] == [
        ("GET", "/hello?x=1", got[0][0]), ("GET", "/missing/page", got[1][0]), ("POST", "/upload", got[2][0])]
    assert [r["response_body_len"] for r in rows] == [len(b) for _s, b in got]
    assert rows[2]["request_body_len"] == 3000
    assert [p for _m, p, _n in http.seen] == ["/hello?x=1", "/missing/page", "/upload"]

    # DNS: the query and the answer the client got
    rows = jsonl(tables / "dns.jsonl")
    assert len(rows) == 1, rows
    r = rows[0]
    assert r["query"].rstrip(".") == "live.example" and r["qtype_name"] == "A"
    assert r["trans_id"] == answer.id
    assert [a.to_text() for rr in answer.answer for a in rr] == ["192.0.2.7"]
    assert "192.0.2.7" in r["answers"]

    # one printed line per transaction, as it happened
    printed = "\n".join(live.out)
    assert "smtp" in printed and "live capture test" in printed
    assert printed.count(" http ") == 3 and "live.example" in printed

    # the capture file: readable by our reader and tshark, packets = what the tables say
    summary = json.loads((out / "summary.json").read_text())
    cap = out / "capture.pcapng"
    frames = file_frames(cap)
    assert len(frames) == tshark_count(cap) == summary["packets"]["total"] > 0
    conn = jsonl(tables / "conn.jsonl")
    assert sum(c["orig_pkts"] + c["resp_pkts"] for c in conn) == len(frames)
    assert {c["service"] for c in conn} >= {"smtp", "http", "dns"}
    assert delivered(summary["live"]) == len(frames)
    assert summary["live"]["dropped"] == 0

    # live decoding = offline decoding of the file it wrote
    from decoder.api import analyze

    with analyze(cap) as a:
        for t in ("smtp", "http", "dns", "conn"):
            off = sorted(a.rows.get(t, []), key=lambda r: (r["ts"], r["uid"]))
            on = sorted(jsonl(tables / f"{t}.jsonl"), key=lambda r: (r["ts"], r["uid"]))
            keys = ("uid", "orig_p", "resp_p") + (("method", "uri", "status_code") if t == "http" else
                                                ("subject",) if t == "smtp" else
                                                ("query", "answers") if t == "dns" else
                                                ("orig_pkts", "resp_pkts", "orig_bytes", "resp_bytes"))
            assert [[r.get(k) for k in keys] for r in on] == [[r.get(k) for k in keys] for r in off], t

    # the report
    html = (out / "index.html").read_text(encoding="utf-8")
    smtp_uid = jsonl(tables / "smtp.jsonl")[0]["uid"]
    assert smtp_uid in html


# ----------------------------------------------------------------------------- acceptance 2
@needs_capture
def test_single_dns_query_on_idle_interface_is_reported(tmp_path, via):
    port = traffic.free_port(traffic.socket.SOCK_DGRAM)
    out = tmp_path / "out"
    live = Live(out, f"udp port {port} and host 127.0.0.1", "-a", "duration:3", "--via", via)
    live.wait_ready()
    wire = traffic.dns_send_only(port, "lonely.example.")
    assert live.wait() == 0, live.err
    rows = jsonl(out / "tables" / "dns.jsonl")
    assert len(rows) == 1, rows
    assert rows[0]["query"].rstrip(".") == "lonely.example" and rows[0]["saw_query"] and not rows[0]["saw_reply"]
    conn = jsonl(out / "tables" / "conn.jsonl")
    assert [(c["proto"], c["orig_pkts"], c["resp_pkts"], c["orig_bytes"]) for c in conn] == [("udp", 1, 0, len(wire))]
    frames = file_frames(out / "capture.pcapng")
    assert len(frames) == 1 and frames[0].data.endswith(wire)
    live_facts = json.loads((out / "summary.json").read_text())["live"]
    # delivered as it was captured (no packet held back until another arrives), not recovered afterwards
    assert delivered(live_facts) == 1
    assert any("lonely.example" in l for l in live.out)


@needs_capture
def test_an_answered_query_is_printed_while_the_capture_runs(tmp_path):
    """Nothing waits for a next packet or for the end: the row of a complete exchange is printed within
    a second or two of its answer on an otherwise idle interface (the default path: the reader hands on
    what it holds whenever it reaches the end of what dumpcap wrote)."""
    via = "dumpcap"
    port = traffic.free_port(traffic.socket.SOCK_DGRAM)
    dnss = traffic.DnsServer(port).start()
    out = tmp_path / "out"
    try:
        live = Live(out, f"udp port {port} and host 127.0.0.1", "-a", "duration:10", "--no-html", "--via", via)
        live.wait_ready()
        traffic.dns_query(port, "prompt.example.")
        asked = time.monotonic()
        while time.monotonic() - asked < 5 and not any("prompt.example" in l for l in live.out):
            time.sleep(0.05)
        printed_after = time.monotonic() - asked
        still_running = live.proc.poll() is None
        assert live.wait() == 0, live.err
    finally:
        dnss.stop()
    assert still_running and any("prompt.example" in l for l in live.out), live.out
    assert printed_after < 3


# ----------------------------------------------------------------------------- stop conditions
@needs_capture
def test_count_stops_the_capture(tmp_path, via):
    port = traffic.free_port(traffic.socket.SOCK_DGRAM)
    out = tmp_path / "out"
    live = Live(out, f"udp port {port} and host 127.0.0.1", "-c", "3", "-a", "duration:20", "--via", via)
    live.wait_ready()
    t0 = time.monotonic()
    with traffic.socket.socket(traffic.socket.AF_INET, traffic.socket.SOCK_DGRAM) as s:
        for i in range(6):
            s.sendto(b"datagram %d" % i, ("127.0.0.1", port))
            time.sleep(0.05)
    assert live.wait() == 0, live.err
    assert time.monotonic() - t0 < 15          # stopped by the count, not the duration
    frames = file_frames(out / "capture.pcapng")
    assert [f.data[-10:] for f in frames] == [b"datagram %d" % i for i in range(3)]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["packets"]["total"] == 3


@needs_capture
def test_sigint_stops_cleanly_and_keeps_everything(tmp_path, via):
    port = traffic.free_port(traffic.socket.SOCK_DGRAM)
    out = tmp_path / "out"
    live = Live(out, f"udp port {port} and host 127.0.0.1", "--no-html", "--via", via)
    live.wait_ready()
    wire = traffic.dns_send_only(port, "interrupted.example.")
    time.sleep(0.5)
    live.proc.send_signal(signal.SIGINT)
    assert live.wait() == 0, live.err
    rows = jsonl(out / "tables" / "dns.jsonl")
    assert [r["query"].rstrip(".") for r in rows] == ["interrupted.example"]
    frames = file_frames(out / "capture.pcapng")
    assert len(frames) == 1 and frames[0].data.endswith(wire)
    assert not (out / "index.html").exists()


def _children_alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.append(pid)
        except FileNotFoundError:
            pass
    return alive


def _capture_pids(parent: int) -> list[int]:
    """dumpcap/tshark processes whose parent is ``parent`` (they run in their own session)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        except (OSError, IndexError, ValueError):
            continue
        if int(rest.split()[1]) == parent and name in ("dumpcap", "tshark"):
            out.append(int(d.name))
    return out


@needs_capture
def test_sigkill_of_wiretale_ends_dumpcap_and_tshark(tmp_path, via):
    """SIGKILL leaves no finally block to run: the watchdog pipe ends the capture processes."""
    port = traffic.free_port(traffic.socket.SOCK_DGRAM)
    live = Live(tmp_path / "out", f"udp port {port} and host 127.0.0.1", "--no-html", "--via", via)
    live.wait_ready()
    deadline = time.monotonic() + 10
    pids: list[int] = []
    while time.monotonic() < deadline and len(pids) < (2 if via == "pyshark" else 1):
        pids = _capture_pids(live.proc.pid)
        time.sleep(0.1)
    assert pids, "no dumpcap/tshark child found"
    live.proc.kill()
    live.wait()
    deadline = time.monotonic() + 10
    while _children_alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _children_alive(pids), f"still capturing after wiretale was killed: {pids}"


@needs_tools
def test_count_zero_is_refused():
    r = subprocess.run([sys.executable, "-m", "decoder.cli", "live", "-i", "lo", "-c", "0", "-o", "/nonexistent/x"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "-c takes a positive packet count" in r.stderr, (r.returncode, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1


def test_watchdog_kills_what_it_watches_when_its_writer_dies(tmp_path):
    """The watchdog alone: a writer process (standing for wiretale) starts a sleeper in its own
    session, hands it to a Watchdog and is SIGKILLed; the sleeper is gone within the grace time."""
    script = (
        "import subprocess, sys, time\n"
        "from decoder.watchdog import Watchdog\n"
        "p = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "w = Watchdog(); w.watch(p.pid)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(300)\n")
    writer = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    pid = int(writer.stdout.readline())
    assert _children_alive([pid])
    writer.kill()
    writer.wait()
    deadline = time.monotonic() + 10
    while _children_alive([pid]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _children_alive([pid])


def test_watchdog_signals_no_one_after_a_clean_close():
    from decoder.watchdog import Watchdog

    p = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        w = Watchdog()
        w.watch(p.pid)
        w.close()
        time.sleep(0.5)
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


@needs_capture
def test_refresh_writes_tables_during_the_run(tmp_path):
    port = traffic.free_port()
    http = traffic.HttpServer(port).start()
    out = tmp_path / "out"
    try:
        live = Live(out, f"tcp port {port} and host 127.0.0.1", "-a", "duration:6", "--refresh", "0.5")
        live.wait_ready()
        status, _ = traffic.http_get(port, "/early")
        deadline = time.monotonic() + 4
        seen = []
        while time.monotonic() < deadline and not seen:
            seen = [r for r in jsonl(out / "tables" / "http.jsonl") if r.get("uri") == "/early"]
            time.sleep(0.1)
        assert live.proc.poll() is None, "the run ended before the refresh was seen"
        assert seen and seen[0]["status_code"] == status == 200
        assert json.loads((out / "summary.json").read_text())["live"]["running"] is True
        assert (out / "index.html").exists()
        assert live.wait() == 0, live.err
    finally:
        http.stop()
    assert json.loads((out / "summary.json").read_text())["live"]["running"] is False


@needs_capture
def test_ring_keeps_n_files_and_every_packet_is_decoded(tmp_path):
    """--ring files:3,filesize:1: dumpcap keeps the newest 3 files of 1 MB; every packet was decoded as it
    came, the deleted files' packets included (the reader opens each ring file as it appears)."""
    port = traffic.free_port(traffic.socket.SOCK_DGRAM)
    out = tmp_path / "out"
    live = Live(out, f"udp port {port} and host 127.0.0.1", "--ring", "files:3,filesize:1", "--no-html")
    live.wait_ready()
    sent = 0
    payload = b"r" * 1200
    with traffic.socket.socket(traffic.socket.AF_INET, traffic.socket.SOCK_DGRAM) as s:
        for i in range(5000):                       # 6 MB: six files written, three kept
            s.sendto(payload, ("127.0.0.1", port))
            sent += 1
            if i % 200 == 199:
                time.sleep(0.02)                    # well under the kernel buffer
    time.sleep(1.0)
    live.proc.send_signal(signal.SIGINT)
    assert live.wait() == 0, live.err
    from decoder.dumpcap import ring_pattern

    pat = ring_pattern(out / "capture.pcapng")
    kept = sorted(p for p in out.iterdir() if pat.match(p.name))
    assert len(kept) == 3, kept
    assert not (out / "capture.pcapng").exists()
    numbers = [int(pat.match(p.name).group(1)) for p in kept]
    assert numbers[0] > 1                           # older files were rotated away
    summary = json.loads((out / "summary.json").read_text())
    assert summary["live"]["dropped"] == 0 and summary["live"]["lost_files"] == 0
    assert summary["packets"]["total"] == summary["live"]["delivered"] == sent
    assert summary["captures"][0]["ring_files"] == [str(p) for p in kept]
    conn = jsonl(out / "tables" / "conn.jsonl")
    assert sum(c["orig_pkts"] for c in conn) == sent


def test_ring_option_errors_are_one_line(tmp_path):
    for bad, says in (("files:1,filesize:1", "at least 2"), ("files:3", "filesize:MB or duration:SEC"),
                      ("files:3,size:2", "not 'size'"), ("files:x,filesize:1", "whole number")):
        r = subprocess.run([sys.executable, "-m", "decoder.cli", "live", "-i", "lo", "-o", str(tmp_path / "o"),
                            "--ring", bad], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (bad, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and says in lines[0] and "Traceback" not in r.stderr, (bad, r.stderr)


# ----------------------------------------------------------------------------- Python API
@needs_capture
def test_python_api_inside_a_running_event_loop(tmp_path):
    """The notebook case: a live session iterated from code running inside an event loop."""
    from decoder.live import LiveSession

    port = traffic.free_port(traffic.socket.SOCK_DGRAM)
    dnss = traffic.DnsServer(port).start()

    async def main():
        s = LiveSession("lo", bpf=f"udp port {port} and host 127.0.0.1", duration=3, out_dir=tmp_path / "o")

        def client():
            s.ready.wait(20)
            traffic.dns_query(port, "api.example.")
        threading.Thread(target=client, daemon=True).start()
        got = []
        async for table, row in s.arows():        # does not block the loop
            got.append((table, row))
        sync = LiveSession("lo", bpf=f"udp port {port} and host 127.0.0.1", duration=1)
        sync_rows = list(sync.rows())             # blocking iteration inside a running loop works too
        sync.close()
        return s, got, sync_rows

    try:
        s, got, sync_rows = asyncio.run(main())
    finally:
        dnss.stop()
    dns_rows = [r for t, r in got if t == "dns"]
    assert [r["query"].rstrip(".") for r in dns_rows] == ["api.example"]
    assert s.result.analysis.tables["dns"]["query"].str.rstrip(".").tolist() == ["api.example"]
    assert (tmp_path / "o" / "tables" / "dns.jsonl").exists()
    assert all(t != "dns" for t, _ in sync_rows)


# ----------------------------------------------------------------------------- errors
@needs_tools
def test_unknown_interface_lists_known_ones(tmp_path):
    r = subprocess.run([sys.executable, "-m", "decoder.cli", "live", "-i", "nosuch0", "-a", "duration:1",
                        "-o", str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown interface 'nosuch0'" in lines[0] and "lo" in lines[0], r.stderr


@needs_capture
def test_live_claims_its_out_as_read_does(tmp_path):
    """OUT is locked for the session (a second one into it exits 2 in one line, before capturing), a
    folder of the user's is refused without --force, and a finished session leaves a manifest."""
    from decoder.outdir import claim

    def live(out: Path, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "decoder.cli", "live", "-i", "lo", "-f", "udp port 9",
                               "-a", "duration:1", "--no-html", "-o", str(out), *extra], cwd=ROOT,
                              capture_output=True, text=True, timeout=90)

    out = tmp_path / "o"
    held = claim(out)
    try:
        r = live(out)
        assert r.returncode == 2 and "another wiretale run" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and not (out / "capture.pcapng").exists()
    finally:
        held.close()
    assert live(out).returncode == 0
    doc = json.loads((out / ".wiretale-run.json").read_text())
    assert doc["state"] == "complete" and {"capture.pcapng", "summary.json"} <= set(doc["files"])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    r = live(mine)
    assert r.returncode == 2 and "--force" in r.stderr, r.stderr
    assert live(mine, "--force").returncode == 0 and (mine / "notes.txt").read_text() == "keep me"


@needs_capture
def test_bad_filter_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "decoder.cli", "live", "-i", "lo", "-f", "udp prt 5",
                        "-a", "duration:1", "-o", str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid capture filter" in lines[0], r.stderr


@needs_capture
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to drop privileges")
def test_not_permitted_says_what_to_do(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    os.chmod(tmp_path, 0o777)
    os.chmod(out, 0o777)
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                        "decoder.cli", "live", "-i", "lo", "-a", "duration:1", "-o", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, env=env)
    if "No module named" in r.stderr or "Permission denied" in r.stderr and "python" in r.stderr.lower():
        pytest.skip(f"the unprivileged user cannot run this checkout's Python: {r.stderr.strip()[:200]}")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1, r.stderr
    assert len(lines) == 1 and "not permitted to capture on lo" in lines[0] and "setcap" in lines[0] \
        and "wireshark" in lines[0], r.stderr


def test_missing_tools_say_how_to_install(monkeypatch):
    from decoder import live

    monkeypatch.setattr(live.shutil, "which", lambda name: None)
    monkeypatch.setattr(live.os, "access", lambda p, m: False)
    with pytest.raises(live.LiveError) as e:
        live.find_tools()
    assert "tshark and dumpcap are not installed" in str(e.value) and "apt-get install tshark" in str(e.value)


def test_error_classifier_on_dumpcap_messages():
    from decoder.live import classify_error

    perm = ('dumpcap: The capabilities of the capture device "lo" could not be obtained (pcap_activate() '
            'failed: socket: Operation not permitted).\nPlease check to make sure you have sufficient permissions.')
    e = classify_error(perm, "lo", "/usr/bin/dumpcap")
    assert e.code == 1 and "not permitted" in str(e) and "setcap" in str(e)
    nodev = ('dumpcap: The capabilities of the capture device "zz" could not be obtained (pcap_activate() '
             'failed: No such device exists).')
    e = classify_error(nodev, "zz", "/usr/bin/dumpcap", known=["eth0", "lo"])
    assert e.code == 2 and str(e).startswith("unknown interface 'zz'; known: eth0, lo")
    bad = ('dumpcap: Invalid capture filter "udp prt 5" for interface \'lo\'.\n\nThat string isn\'t a valid '
           'capture filter (can\'t parse filter expression: syntax error).\nSee the User\'s Guide for a '
           'description of the capture filter syntax.')
    e = classify_error(bad, "lo", "/usr/bin/dumpcap", bpf="udp prt 5")
    assert e.code == 2 and "can't parse filter expression: syntax error" in str(e)


def test_autostop_parsing():
    from decoder.live import LiveError, parse_autostop

    assert parse_autostop("duration:2.5") == (2.5, None)
    assert parse_autostop("packets:7") == (None, 7)
    assert parse_autostop(None) == (None, None)
    for bad in ("duration:x", "filesize:10", "duration:0"):
        with pytest.raises(LiveError):
            parse_autostop(bad)


# ----------------------------------------------------------------------------- printing and parsing
def test_row_lines_escape_control_characters_and_hide_secrets():
    from decoder.live import format_row

    row = {"ts": 1_700_000_000.0, "uid": "Cabc", "orig_h": "10.0.0.1", "orig_p": 5000, "resp_h": "10.0.0.2",
           "resp_p": 80, "method": "GET", "host": "evil\x1b[2J\x07.example", "uri": "/a\r\nb", "status_code": 200}
    line = format_row("http", row)
    assert "\x1b" not in line and "\r" not in line and "\n" not in line and "\x07" not in line
    assert "\\x1b[2J" in line and "10.0.0.1:5000 → 10.0.0.2:80" in line and line.endswith("Cabc")
    cred = {"ts": 1.0, "uid": "C1", "orig_h": "::1", "orig_p": 1, "resp_h": "::1", "resp_p": 21,
            "protocol": "FTP", "username": "bob", "secret": "hunter2", "kind": "password"}
    assert "hunter2" not in format_row("credentials", cred) and "****" in format_row("credentials", cred)
    assert "hunter2" in format_row("credentials", cred, show_secrets=True)
    assert "[::1]:1" in format_row("credentials", cred)
    assert format_row("timeline", row) is None
    coloured = format_row("http", row, color=True)
    assert coloured.startswith("\x1b[32m") and coloured.endswith("\x1b[0m")


@needs_tools
@pytest.mark.parametrize("chunk", [1, 7, 100, 65536])
def test_prompt_parser_delivers_each_packet_without_waiting_for_the_next(chunk):
    """tshark's real JSON for a sample, fed in chunks: every packet comes out as soon as its own
    closing line is in, the last one included, with the raw bytes our reader finds in the file."""
    from pyshark.tshark.tshark import get_tshark_version

    from decoder.live import _pyshark_classes

    samples = sorted((ROOT / "samples").glob("*.pcap*"))
    if not samples:
        pytest.skip("no samples")
    sample = samples[0]
    stream = subprocess.run(["tshark", "-r", str(sample), "-T", "json", "-x", "-j", "frame",
                             "--no-duplicate-keys", "-c", "40"], capture_output=True, check=True).stdout
    parser = _pyshark_classes()[0](get_tshark_version())
    want = [f.data for f in file_frames(sample)][:40]
    got, data = [], b""
    body_end = stream.rstrip().rfind(b"]")     # withhold the closing "]": no end-of-stream marker
    for i in range(0, body_end, chunk):
        data += stream[i:min(i + chunk, body_end)]
        while True:
            pkt, data = parser._extract_packet_from_data(data, got_first_packet=bool(got))
            if pkt is None:
                break
            got.append(bytes.fromhex(parser._parse_single_packet(pkt).frame_raw.value))
    assert got == want
