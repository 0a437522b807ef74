#!/usr/bin/env python3
"""Record wiretale's sample captures from real servers and real clients on loopback.

Run through ``samples/record.sh`` (as root, on a disposable Debian 12 machine): it
installs the Debian packages, then runs this script, which for each scenario

1. writes the server configuration and the seeded content under ``/srv/wiretale-rec``,
2. starts the real server(s) bound to 127.0.0.1 / ::1 only, on unusual ports,
3. starts tcpdump (or dumpcap) on ``lo`` (or ``any``),
4. drives real clients (smtplib, swaks, poplib, imaplib, ftplib, curl, dig, net-snmp
   tools, tftp-hpa, inetutils telnet under pexpect ...),
5. stops the capture and the servers and writes ``samples/expected/<stem>.json`` with
   the facts the script itself produced: what it sent, the files and their sha256,
   the names it asked and the answers its own zone serves, the credentials it used.

Ground truth never comes from wiretale.  Where a client reports what it received the
script checks it against what it served (an assertion), so a broken server setup stops
the run rather than writing wrong facts.

Usage: ``python3 samples/record.py [dns smtp pop3 imap ftp ftp6 http telnet tftp snmp]``
(no argument = all).  Nothing is ever sent anywhere but the loopback interface.
"""
from __future__ import annotations

import base64
import datetime as _dt
import email.policy
import hashlib
import importlib.metadata
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected"
KEYS = HERE / "keys"
WORK = Path("/srv/wiretale-rec")
LOG = WORK / "logs"

PROCS: list[subprocess.Popen] = []


# --------------------------------------------------------------------------- helpers

def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def seeded_bytes(seed: str, n: int) -> bytes:
    """Deterministic pseudo-random content (same bytes on every run)."""
    return random.Random(seed).randbytes(n)


def seeded_text(seed: str, lines: int) -> str:
    rnd = random.Random(seed)
    words = ("packet", "wire", "tale", "socket", "frame", "window", "segment", "header",
             "payload", "stream", "loopback", "capture", "server", "client", "octet")
    return "".join(" ".join(rnd.choice(words) for _ in range(rnd.randint(4, 12))) + "\n"
                   for _ in range(lines))


def run(cmd: list[str] | str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    shell = isinstance(cmd, str)
    print("  $", cmd if shell else " ".join(cmd), flush=True)
    kw.setdefault("capture_output", True)
    res = subprocess.run(cmd, shell=shell, text=kw.pop("text", True), **kw)
    if check and res.returncode != 0:
        raise RuntimeError(f"command failed ({res.returncode}): {cmd}\n{res.stdout}\n{res.stderr}")
    return res


def start(cmd: list[str], name: str, env: dict | None = None, **kw) -> subprocess.Popen:
    LOG.mkdir(parents=True, exist_ok=True)
    out = open(LOG / f"{name}.log", "ab")
    print("  & " + " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                         start_new_session=True, **kw)
    PROCS.append(p)
    return p


def stop(p: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)
    if p in PROCS:
        PROCS.remove(p)


def stop_all() -> None:
    for p in list(PROCS):
        stop(p)


def wait_port(port: int, host: str = "127.0.0.1", udp: bool = False, timeout: float = 15) -> None:
    """Wait until a TCP port accepts (UDP: until some process has the port bound)."""
    end = time.time() + timeout
    while time.time() < end:
        if udp:
            out = run(["ss", "-lunH", f"sport = :{port}"], check=False).stdout
            if out.strip():
                return
        else:
            try:
                with socket.create_connection((host, port), timeout=1):
                    return
            except OSError:
                pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing listening on {host}:{port}")


def pkg_versions(*pkgs: str) -> dict[str, str]:
    out = {}
    for p in pkgs:
        r = run(["dpkg-query", "-W", "-f", "${Version}", p], check=False)
        out[p] = r.stdout.strip() if r.returncode == 0 else "not installed"
    return out


def py_versions(*dists: str) -> dict[str, str]:
    out = {"python3": sys.version.split()[0]}
    for d in dists:
        try:
            out[d] = importlib.metadata.version(d)
        except importlib.metadata.PackageNotFoundError:
            out[d] = "not installed"
    return out


def first_line(cmd: list[str]) -> str:
    r = run(cmd, check=False)
    text = (r.stdout or r.stderr).strip()
    return text.splitlines()[0] if text else ""


class Capture:
    """tcpdump (pcap) or dumpcap (pcapng) running for the duration of a ``with`` block."""

    def __init__(self, filename: str, bpf: str, iface: str = "lo", linktype: str | None = None):
        self.path = HERE / filename
        self.bpf = bpf
        self.iface = iface
        self.linktype = linktype
        self.pcapng = filename.endswith(".pcapng")

    def __enter__(self) -> "Capture":
        if self.path.exists():
            self.path.unlink()
        tmp = WORK / "cap" / self.path.name
        tmp.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            tmp.unlink()
        self.tmp = tmp
        if self.pcapng:
            cmd = ["dumpcap", "-q", "-i", self.iface, "-f", self.bpf, "-w", str(tmp)]
            ready = b"Capturing on"
        else:
            cmd = ["tcpdump", "-n", "-U", "-s", "0", "-i", self.iface, "-w", str(tmp)]
            if self.linktype:
                cmd += ["-y", self.linktype]
            cmd.append(self.bpf)
            ready = b"listening on"
        print(f"== capture {self.path.name}: {' '.join(cmd)}", flush=True)
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, start_new_session=True)
        buf = b""
        end = time.time() + 15
        while ready not in buf and time.time() < end:
            r, _, _ = select.select([self.proc.stderr], [], [], 0.5)
            if r:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
        if ready not in buf:
            raise RuntimeError(f"capture did not start: {buf!r}")
        threading.Thread(target=self._drain, daemon=True).start()
        time.sleep(0.5)
        return self

    def _drain(self) -> None:
        while self.proc.stderr.read(4096):
            pass

    def __exit__(self, *exc) -> None:
        time.sleep(1.0)
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(15)
        shutil.copyfile(self.tmp, self.path)
        size = self.path.stat().st_size
        print(f"== {self.path.name}: {size} bytes", flush=True)
        if size > 2 * 1024 * 1024:
            raise RuntimeError(f"{self.path.name} is larger than 2 MB")


def link_type(path: Path) -> str:
    r = run(["capinfos", "-E", "-T", "-m", str(path)], check=False)
    lines = r.stdout.strip().splitlines()
    return lines[-1].split(",")[-1] if r.returncode == 0 and lines else "?"


def write_expected(capture: Capture, protocols: list[str], description: str,
                   software: dict, servers: list[dict], decode_as: list[str] = (), **facts) -> None:
    decode_as = list(decode_as)
    doc = {
        "capture": capture.path.name,
        "format": "pcapng" if capture.pcapng else "pcap",
        "interface": capture.iface,
        "link_type": link_type(capture.path),
        "capture_filter": capture.bpf,
        "capture_sha256": sha256(capture.path.read_bytes()),
        # tshark -d arguments for the unusual ports used here (tshark only knows well-known ports)
        "tshark_decode_as": decode_as,
        "protocols": protocols,
        "description": description,
        "recorded_with": {
            "script": "samples/record.py",
            "recorded_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
            "os": Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?",
            "capture_tool": first_line(["dumpcap", "-v"]) if capture.pcapng else first_line(["tcpdump", "--version"]),
        },
        "software": software,
        "servers": servers,
    }
    doc.update(facts)
    EXPECTED.mkdir(exist_ok=True)
    out = EXPECTED / (capture.path.stem + ".json")
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n")
    print(f"== wrote {out.relative_to(HERE.parent)}", flush=True)


def fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def make_cert(dirpath: Path, cn: str) -> tuple[Path, Path]:
    cert, key = dirpath / "cert.pem", dirpath / "key.pem"
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-subj", f"/CN={cn}", "-keyout", str(key), "-out", str(cert)])
    return cert, key


def tls_client_context(keylog: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    KEYS.mkdir(exist_ok=True)
    ctx.keylog_filename = str(keylog)
    return ctx


SCENARIOS: dict[str, callable] = {}


def scenario(name: str):
    def deco(fn):
        SCENARIOS[name] = fn
        return fn
    return deco


# --------------------------------------------------------------------------- DNS

DNS_PORT = 10053
ZONE = "example.test"
# name (relative) -> list of (type, rdata in presentation form).  The zone file is
# written from this table and the expected answers are computed from it.
DNS_RECORDS: list[tuple[str, str, str]] = [
    ("@", "SOA", "ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300"),
    ("@", "NS", "ns1.example.test."),
    ("@", "NS", "ns2.example.test."),
    ("@", "MX", "10 mail.example.test."),
    ("@", "MX", "20 mail2.example.test."),
    ("ns1", "A", "192.0.2.53"),
    ("ns2", "A", "192.0.2.54"),
    ("mail", "A", "192.0.2.25"),
    ("mail2", "A", "192.0.2.26"),
    ("www", "A", "192.0.2.10"),
    ("www", "AAAA", "2001:db8::10"),
    ("alias", "CNAME", "alias2.example.test."),
    ("alias2", "CNAME", "www.example.test."),
    ("txt", "TXT", '"v=wiretale1" "second string" "third string, with spaces"'),
    ("_sip._tcp", "SRV", "10 60 5060 sip.example.test."),
    ("sip", "A", "192.0.2.50"),
] + [("big", "A", f"192.0.2.{100 + i}") for i in range(40)]
DNS_REVERSE = [("10", "PTR", "www.example.test."), ("25", "PTR", "mail.example.test.")]


def _fqdn(name: str, origin: str) -> str:
    return origin + "." if name == "@" else f"{name}.{origin}."


def _rrset(name: str, rtype: str, records=DNS_RECORDS, origin=ZONE) -> list[str]:
    return sorted(r for n, t, r in records if _fqdn(n, origin) == name and t == rtype)


def _dig_answers(out: str) -> list[tuple[str, str, str]]:
    """(owner, type, rdata) from dig's ANSWER section (+nocmd +noall +answer)."""
    rows = []
    if ";; ANSWER SECTION:" in out:
        out = out.split(";; ANSWER SECTION:", 1)[1].split("\n\n", 1)[0]
    elif ";; QUESTION SECTION:" in out:
        out = ""
    for line in out.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        parts = line.split(None, 4)
        if len(parts) == 5:
            rows.append((parts[0], parts[3], parts[4]))
    return rows


@scenario("dns")
def record_dns() -> None:
    d = fresh(WORK / "bind")
    zone = [f"$TTL 3600", f"$ORIGIN {ZONE}."]
    zone += [f"{n}\tIN\t{t}\t{r}" for n, t, r in DNS_RECORDS]
    (d / "example.test.zone").write_text("\n".join(zone) + "\n")
    rev = ["$TTL 3600", "$ORIGIN 2.0.192.in-addr.arpa.",
           "@\tIN\tSOA\tns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300",
           "@\tIN\tNS\tns1.example.test."]
    rev += [f"{n}\tIN\t{t}\t{r}" for n, t, r in DNS_REVERSE]
    (d / "192.0.2.rev").write_text("\n".join(rev) + "\n")
    (d / "named.conf").write_text(f"""
options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port {DNS_PORT} {{ 127.0.0.1; }};
    listen-on-v6 port {DNS_PORT} {{ ::1; }};
    recursion no;
    allow-transfer {{ 127.0.0.1; ::1; }};
    dnssec-validation no;
    notify no;
}};
controls {{ }};
zone "{ZONE}" {{ type primary; file "example.test.zone"; }};
zone "2.0.192.in-addr.arpa" {{ type primary; file "192.0.2.rev"; }};
""")
    run(["named-checkconf", str(d / "named.conf")])
    named = start(["named", "-g", "-c", str(d / "named.conf")], "named")
    wait_port(DNS_PORT)
    queries: list[dict] = []

    def dig(name: str, qtype: str, *opts: str, server: str = "127.0.0.1", note: str = "",
            expect_rcode: str = "NOERROR", expect: list[tuple[str, str, str]] | None = None) -> str:
        cmd = ["dig", f"@{server}", "-p", str(DNS_PORT), "+tries=1", "+time=3", *opts, name, qtype]
        full = run(cmd).stdout
        m = re.search(r"status: (\w+)", full)
        rcode = m.group(1) if m else ("NOERROR" if qtype == "AXFR" and "XFR size" in full else "?")
        assert rcode == expect_rcode, (cmd, full)
        if expect is None:
            expect = [(name, qtype, r) for r in _rrset(name, qtype)] if qtype != "AXFR" else []
        got = sorted(_dig_answers(full))
        if qtype != "AXFR" and "+ignore" not in opts:
            assert got == sorted(expect), (cmd, got, expect)
        queries.append({
            "client": "dig", "command": " ".join(cmd), "server": server, "qname": name,
            "qtype": qtype, "rcode": expect_rcode,
            "transport": "tcp" if qtype == "AXFR" or "+tcp" in opts else "udp",
            "edns": "+noedns" not in opts,
            "answers": [{"name": n, "type": t, "rdata": r} for n, t, r in sorted(expect)],
            "truncated_then_tcp": "Truncated, retrying in TCP mode" in full,
            "note": note,
        })
        return full

    with Capture("dns.pcap", f"port {DNS_PORT}", iface="any", linktype="LINUX_SLL2") as cap:
        dig("www.example.test.", "A", note="plain A with EDNS (dig default, with a cookie)")
        dig("www.example.test.", "AAAA", server="::1", note="AAAA over IPv6")
        dig("example.test.", "MX")
        dig("example.test.", "NS")
        dig("example.test.", "SOA")
        dig("txt.example.test.", "TXT", note="one TXT record of three character-strings")
        dig("_sip._tcp.example.test.", "SRV")
        chain = [("alias.example.test.", "CNAME", "alias2.example.test."),
                 ("alias2.example.test.", "CNAME", "www.example.test."),
                 ("www.example.test.", "A", "192.0.2.10")]
        dig("alias.example.test.", "A", expect=chain, note="CNAME chain of two links to an A")
        dig("10.2.0.192.in-addr.arpa.", "PTR", "+noedns", note="PTR without EDNS",
            expect=[("10.2.0.192.in-addr.arpa.", "PTR", "www.example.test.")])
        dig("nope.example.test.", "A", expect_rcode="NXDOMAIN", expect=[], note="NXDOMAIN")
        dig("big.example.test.", "A", "+noedns", "+ignore",
            note="40 A records without EDNS: UDP answer truncated (TC=1), +ignore keeps dig on UDP")
        dig("big.example.test.", "A", "+noedns",
            note="40 A records without EDNS: truncated over UDP, dig retries over TCP")
        dig("big.example.test.", "A", "+bufsize=4096", note="EDNS bufsize 4096: whole answer over UDP")
        axfr = dig("example.test.", "AXFR", note="zone transfer over TCP")
    stop(named)
    # the one query run with +ignore really saw TC and did not retry
    assert not queries[10]["truncated_then_tcp"] and queries[11]["truncated_then_tcp"]
    queries[10]["truncated"] = True
    queries[10]["answers_note"] = ("BIND put as many of the 40 A records as fit in 512 bytes "
                                   "and set TC; the list above is the whole RRset")
    queries[11]["transport"] = "udp then tcp"
    zone_rrs = sorted({(_fqdn(n, ZONE), t, r) for n, t, r in DNS_RECORDS})
    axfr_rrs = {(n, t, r) for n, t, r in _dig_answers(axfr)}
    assert set(zone_rrs) <= axfr_rrs, "AXFR does not return the zone"
    queries[-1]["answers"] = [{"name": n, "type": t, "rdata": r} for n, t, r in zone_rrs]
    queries[-1]["answers_note"] = "the whole zone; the SOA opens and closes the transfer"
    write_expected(
        cap, ["dns"],
        "BIND 9 authoritative for example.test and 2.0.192.in-addr.arpa on 127.0.0.1/::1 port "
        f"{DNS_PORT}; dig asks A, AAAA (over IPv6), MX, NS, SOA, TXT, SRV, a CNAME chain, PTR, "
        "NXDOMAIN, a truncated answer (once kept on UDP, once retried over TCP), an EDNS answer "
        "of 4096 bytes buffer and an AXFR. Captured on -i any as Linux SLL2.",
        {"debian": pkg_versions("bind9", "bind9-dnsutils"), "dig": first_line(["dig", "-v"])},
        [{"service": "dns", "software": "named (BIND 9)", "addr": a, "port": DNS_PORT, "transport": "udp+tcp"}
         for a in ("127.0.0.1", "::1")],
        decode_as=[f"udp.port=={DNS_PORT},dns", f"tcp.port=={DNS_PORT},dns"],
        zone={"origin": ZONE, "records": [{"name": n, "type": t, "rdata": r} for n, t, r in zone_rrs],
              "reverse": [{"name": f"{n}.2.0.192.in-addr.arpa.", "type": t, "rdata": r} for n, t, r in DNS_REVERSE]},
        queries=queries,
        answer_order_note="answers are listed sorted; the server may rotate an RRset's order",
    )


# --------------------------------------------------------------------------- main

def main(argv: list[str]) -> int:
    if os.geteuid() != 0:
        print("record.py must run as root (it starts servers and captures)", file=sys.stderr)
        return 1
    names = argv or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    try:
        for n in names:
            print(f"\n######## {n}", flush=True)
            SCENARIOS[n]()
            stop_all()
    finally:
        stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
