#!/usr/bin/env python3
"""Record wiretale's sample captures from real servers and real clients, in a lab or on loopback.

Run through ``samples/record.sh`` (as root, on a disposable Debian 12 machine): it
installs the Debian packages, then runs this script, which for each scenario

1. writes the server configuration and the seeded content under ``/srv/wiretale-rec``,
2. starts the real server(s): for a lab (``Lab``), in the network namespace ``wtlab-server``
   (10.20.0.1, fd00:20::1) on the standard ports, the clients in ``wtlab-client`` (10.20.0.2,
   fd00:20::2), the two joined by a veth pair made and removed here; the older scenarios bind
   127.0.0.1 / ::1 only, on unusual ports,
3. starts dumpcap on the server's veth end (pcapng with a capture comment saying what the
   scenario shows), or tcpdump / dumpcap on ``lo`` (or ``any``) for the loopback scenarios,
4. drives real clients (smtplib, swaks, poplib, imaplib, ftplib, curl, dig, net-snmp
   tools, tftp-hpa, inetutils telnet under pexpect ...),
5. stops the capture and the servers and writes ``samples/expected/<stem>.json`` with
   the facts the script itself produced: what it sent, the files and their sha256,
   the names it asked and the answers its own zone serves, the credentials it used.

Ground truth never comes from wiretale.  Where a client reports what it received the
script checks it against what it served (an assertion), so a broken server setup stops
the run rather than writing wrong facts.

Usage: ``python3 samples/record.py [dns smtp pop3 imap ftp ftp6 http http-ranges https websocket telnet telnet-passwd tftp tftp69 snmp]``
(no argument = all).  Nothing is ever sent anywhere but the loopback interface or the lab's veth pair.
"""
from __future__ import annotations

import base64
import contextlib
import ctypes
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
                with socket.create_connection((host, port), timeout=1) as s:
                    s.settimeout(1.0)
                    try:        # let a banner-first server (SMTP, FTP ...) finish its greeting
                        s.recv(512)
                    except OSError:
                        pass
                time.sleep(0.5)
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

    def __init__(self, filename: str, bpf: str, iface: str = "lo", linktype: str | None = None,
                 netns: str | None = None, comment: str | None = None):
        self.path = HERE / filename
        self.bpf = bpf
        self.iface = iface
        self.linktype = linktype
        self.netns = netns              # capture inside this network namespace
        self.comment = comment          # pcapng capture comment (section header): what the scenario shows
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
            cmd = ["dumpcap", "-q"]
            for iface in self.iface.split(","):           # "a,b": one interface block each, one filter
                cmd += ["-i", iface, "-f", self.bpf] + (["-y", self.linktype] if self.linktype else [])
            cmd += ["-w", str(tmp)]
            if self.comment:
                cmd += ["--capture-comment", self.comment]
            ready = b"Capturing on"
        else:
            cmd = ["tcpdump", "-n", "-U", "-s", "0", "-i", self.iface, "-w", str(tmp)]
            if self.linktype:
                cmd += ["-y", self.linktype]
            cmd.append(self.bpf)
            ready = b"listening on"
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
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


# --------------------------------------------------------------------------- the lab: two namespaces and a veth

LAB_SERVER_NS, LAB_CLIENT_NS = "wtlab-server", "wtlab-client"
LAB_SERVER_IF, LAB_CLIENT_IF = "wtlab-s", "wtlab-c"        # the two ends of the veth pair
LAB_SERVER4, LAB_CLIENT4 = "10.20.0.1", "10.20.0.2"
LAB_SERVER6, LAB_CLIENT6 = "fd00:20::1", "fd00:20::2"
_CLONE_NEWNET = 0x40000000
_LIBC = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def netns(name: str):
    """Move the calling thread into network namespace ``name`` for the ``with`` block.

    Sockets it opens, threads it starts and processes it spawns there live in that namespace
    (namespaces are per thread; children inherit the caller's)."""
    back = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _LIBC.setns(target, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({name})")
        yield
    finally:
        try:
            if _LIBC.setns(back, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns(back)")
        finally:
            os.close(target)
            os.close(back)


class Lab:
    """A client and a server, each in its own network namespace, joined by a veth pair.

    Namespace ``wtlab-server`` (veth end ``wtlab-s``) has 10.20.0.1/24 and fd00:20::1/64;
    ``wtlab-client`` (veth end ``wtlab-c``) has 10.20.0.2/24 and fd00:20::2/64.  Nothing else is routed, so all traffic
    stays between the two; both namespaces (and so the veth) are deleted on exit.  Servers
    are started with ``lab.server(cmd)``, clients run inside ``with netns(LAB_CLIENT_NS)``
    (``lab.client()``), and the capture runs on the server's end of the veth.
    """

    def __enter__(self) -> "Lab":
        try:
            self._make()
        except BaseException:
            self._remove()
            raise
        return self

    def _make(self) -> None:
        self._remove()
        for ns in (LAB_SERVER_NS, LAB_CLIENT_NS):
            run(["ip", "netns", "add", ns])
            # no router solicitations or DAD probes: the capture holds only what the lab does
            for key in ("router_solicitations=0", "accept_ra=0", "dad_transmits=0"):
                run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"net.ipv6.conf.default.{key}"])
        run(["ip", "link", "add", LAB_SERVER_IF, "netns", LAB_SERVER_NS, "type", "veth",
             "peer", "name", LAB_CLIENT_IF, "netns", LAB_CLIENT_NS])
        for ns, ifname, a4, a6 in ((LAB_SERVER_NS, LAB_SERVER_IF, LAB_SERVER4, LAB_SERVER6),
                                   (LAB_CLIENT_NS, LAB_CLIENT_IF, LAB_CLIENT4, LAB_CLIENT6)):
            ip = ["ip", "netns", "exec", ns]
            run(ip + ["ip", "link", "set", "lo", "up"])
            run(ip + ["ip", "addr", "add", f"{a4}/24", "dev", ifname])
            run(ip + ["ip", "-6", "addr", "add", f"{a6}/64", "dev", ifname, "nodad"])
            run(ip + ["ip", "link", "set", ifname, "up"])
            # segments as a NIC puts them on the wire: MTU-sized, with their checksums filled in
            run(ip + ["ethtool", "-K", ifname, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off"])

    def __exit__(self, *exc) -> None:
        self._remove()

    @staticmethod
    def _remove() -> None:
        for ns in (LAB_SERVER_NS, LAB_CLIENT_NS):
            run(["ip", "netns", "del", ns], check=False)

    @staticmethod
    def server(cmd: list[str], name: str, **kw) -> subprocess.Popen:
        return start(["ip", "netns", "exec", LAB_SERVER_NS] + cmd, name, **kw)

    @staticmethod
    def client():
        return netns(LAB_CLIENT_NS)

    @staticmethod
    def serving():
        return netns(LAB_SERVER_NS)

    @staticmethod
    def wait(port: int, host: str = LAB_SERVER4, udp: bool = False) -> None:
        if udp:
            with netns(LAB_SERVER_NS):
                wait_port(port, host, udp=True)
        else:
            with netns(LAB_CLIENT_NS):
                wait_port(port, host)

    @staticmethod
    def servers(*entries: tuple[str, str, int, str]) -> list[dict]:
        return [{"service": svc, "software": sw, "addr": LAB_SERVER4, "port": port, "transport": tr,
                 "netns": LAB_SERVER_NS} for svc, sw, port, tr in entries]


def lab_capture(filename: str, bpf: str, comment: str, server_lo: bool = False) -> "Capture":
    """dumpcap on the server's end of the lab's veth, pcapng with a capture comment; with ``server_lo``
    also on the server's own loopback (a second interface in the file: a hop inside the server)."""
    assert filename.endswith(".pcapng"), filename
    iface = LAB_SERVER_IF + (",lo" if server_lo else "")
    return Capture(filename, bpf, iface=iface, netns=LAB_SERVER_NS, comment=comment)


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
        **({"netns": capture.netns} if capture.netns else {}),
        **({"capture_comment": capture.comment} if capture.comment else {}),
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

DNS_PORT = 53          # the lab
DNS_COMMENT = ("DNS lab: dig on 10.20.0.2 / fd00:20::2 asks BIND 9 on 10.20.0.1 / fd00:20::1 port 53, authoritative for "
               "example.test: A, AAAA over IPv6, MX, NS, SOA, TXT, SRV, a CNAME chain, PTR, NXDOMAIN, a truncated answer "
               "(kept on UDP, then retried over TCP), EDNS 4096, an AXFR. Captured on 'any' (Linux cooked v2).")
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
    with Lab():
        _record_dns()


def _record_dns() -> None:
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
    listen-on port {DNS_PORT} {{ {LAB_SERVER4}; }};
    listen-on-v6 port {DNS_PORT} {{ {LAB_SERVER6}; }};
    recursion no;
    allow-transfer {{ {LAB_CLIENT4}; {LAB_CLIENT6}; }};
    dnssec-validation no;
    notify no;
}};
controls {{ }};
zone "{ZONE}" {{ type primary; file "example.test.zone"; }};
zone "2.0.192.in-addr.arpa" {{ type primary; file "192.0.2.rev"; }};
""")
    run(["named-checkconf", str(d / "named.conf")])
    named = Lab.server(["named", "-g", "-c", str(d / "named.conf")], "named")
    Lab.wait(DNS_PORT)
    queries: list[dict] = []

    def dig(name: str, qtype: str, *opts: str, server: str = LAB_SERVER4, note: str = "",
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

    with Capture("dns.pcapng", f"port {DNS_PORT}", iface="any", linktype="LINUX_SLL2", netns=LAB_SERVER_NS,
                 comment=DNS_COMMENT) as cap, Lab.client():
        dig("www.example.test.", "A", note="plain A with EDNS (dig default, with a cookie)")
        dig("www.example.test.", "AAAA", server=LAB_SERVER6, note="AAAA over IPv6")
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
        f"BIND 9 authoritative for example.test and 2.0.192.in-addr.arpa on {LAB_SERVER4} / {LAB_SERVER6} port "
        f"{DNS_PORT} in its own network namespace; dig on {LAB_CLIENT4} / {LAB_CLIENT6} asks A, AAAA (over IPv6), MX, NS, SOA, TXT, SRV, a CNAME chain, PTR, "
        "NXDOMAIN, a truncated answer (once kept on UDP, once retried over TCP), an EDNS answer "
        "of 4096 bytes buffer and an AXFR. Captured on -i any of the server's namespace as Linux SLL2.",
        {"debian": pkg_versions("bind9", "bind9-dnsutils"), "dig": first_line(["dig", "-v"])},
        [dict(srv, addr=a) for a in (LAB_SERVER4, LAB_SERVER6)
         for srv in Lab.servers(("dns", "named (BIND 9)", DNS_PORT, "udp+tcp"))],
        client_addr=[LAB_CLIENT4, LAB_CLIENT6],
        zone={"origin": ZONE, "records": [{"name": n, "type": t, "rdata": r} for n, t, r in zone_rrs],
              "reverse": [{"name": f"{n}.2.0.192.in-addr.arpa.", "type": t, "rdata": r} for n, t, r in DNS_REVERSE]},
        queries=queries,
        answer_order_note="answers are listed sorted; the server may rotate an RRset's order",
    )

# --------------------------------------------------------------------------- mail (Postfix + Dovecot)

SMTP_PORT, POP3_PORT, IMAP_PORT = 25, 110, 143      # the lab: the standard ports
SMTP_COMMENT = ("SMTP lab: clients on 10.20.0.2, Postfix on 10.20.0.1:25 (SASL through Dovecot). 1: EHLO, AUTH PLAIN, "
                "a rejected recipient (550), a MIME message with attachments, RSET, a second message; 2: swaks, AUTH "
                "LOGIN and a PIPELINING group; 3: AUTH LOGIN with a wrong password (535); 4: STARTTLS, then AUTH and a "
                "message inside TLS (keys in samples/keys/smtp.keylog).")
POP3_COMMENT = ("POP3 lab: clients on 10.20.0.2, Dovecot on 10.20.0.1:110, bob's mailbox seeded with three messages. A "
                "failed USER/PASS; CAPA, USER/PASS, STAT, LIST, UIDL, RETR 1, RETR 2, TOP 3 2, DELE 3; APOP, STAT, RETR 1; "
                "CAPA, STLS and a session inside TLS (keys in samples/keys/pop3.keylog).")
IMAP_COMMENT = ("IMAP lab: clients on 10.20.0.2, Dovecot on 10.20.0.1:143, alice's mailbox seeded with three messages. A "
                "failed LOGIN; LOGIN, LIST, SELECT, SEARCH, FETCH, STORE, APPEND, IDLE while a second connection APPENDs, "
                "CLOSE, LOGOUT; STARTTLS then LOGIN, SELECT, FETCH inside TLS (keys in samples/keys/imap.keylog).")
MAIL_USERS = {"alice": "alice-Secret1", "bob": "bob-Pop3pass", "carol": "carol-Pass3"}
MAIL_BASE = WORK / "mail"
MAIL_SOFTWARE = ("postfix", "dovecot-core", "dovecot-imapd", "dovecot-pop3d")


def mail_reset() -> None:
    fresh(MAIL_BASE)
    os.chown(MAIL_BASE, 5000, 5000)


def seed_maildir(user: str, messages: list[bytes]) -> None:
    """Put messages in the user's Maildir/cur with fixed names (order = UID order)."""
    md = MAIL_BASE / user
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(messages, 1):
        t = 1700000000 + i
        f = md / "cur" / f"{t}.M{i}P1.wiretale,S={len(raw)}:2,"
        f.write_bytes(raw)
        os.utime(f, (t, t))
    for root, dirs, files in os.walk(md):
        os.chown(root, 5000, 5000)
        for f in files:
            os.chown(os.path.join(root, f), 5000, 5000)


def start_dovecot() -> subprocess.Popen:
    d = fresh(WORK / "dovecot")
    cert, key = make_cert(d, "mail.example.test")
    users = "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in MAIL_USERS.items())
    (d / "users").write_text(users)
    run_dir = WORK / "dovecot-run"
    (d / "dovecot.conf").write_text(f"""
protocols = imap pop3
listen = {LAB_SERVER4}, {LAB_SERVER6}
base_dir = {run_dir}
instance_name = wiretale
log_path = {LOG}/dovecot.log
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login apop cram-md5
mail_location = maildir:{MAIL_BASE}/%n
first_valid_uid = 1000
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {d}/users
}}
userdb {{
  driver = static
  args = uid=5000 gid=5000 home={MAIL_BASE}/%n
}}
service imap-login {{
  inet_listener imap {{
    port = {IMAP_PORT}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {POP3_PORT}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service auth {{
  unix_listener /var/spool/postfix/private/auth {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
pop3_uidl_format = %08Xu%08Xv
protocol imap {{
  imap_idle_notify_interval = 2 mins
}}
""")
    run(["doveconf", "-c", str(d / "dovecot.conf"), "-n"])
    p = Lab.server(["dovecot", "-F", "-c", str(d / "dovecot.conf")], "dovecot")
    Lab.wait(IMAP_PORT)
    Lab.wait(POP3_PORT)
    return p


def start_postfix() -> None:
    d = fresh(WORK / "postfix")
    cert, key = make_cert(d, "mail.example.test")
    (d / "vmailbox").write_text("".join(f"{u}@example.test {u}/\n" for u in MAIL_USERS))
    main_cf = f"""
compatibility_level = 3.6
myhostname = mail.example.test
mydomain = example.test
myorigin = example.test
mydestination =
inet_interfaces = {LAB_SERVER4}
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
relayhost =
virtual_mailbox_domains = example.test
virtual_mailbox_maps = texthash:{d}/vmailbox
virtual_mailbox_base = {MAIL_BASE}
virtual_uid_maps = static:5000
virtual_gid_maps = static:5000
smtpd_banner = $myhostname ESMTP Postfix (wiretale samples)
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtputf8_enable = yes
maillog_file = /var/log/wiretale-postfix.log
"""
    Path("/etc/postfix/main.cf").write_text(main_cf)
    lines = []
    for line in Path("/etc/postfix/master.cf.proto").read_text().splitlines():
        f = line.split()
        if line and not line[0].isspace() and not line.startswith("#") and len(f) >= 8:
            if f[0] == "smtp" and f[1] == "inet":
                f[0] = f"{LAB_SERVER4}:{SMTP_PORT}"
            f[4] = "n"          # no chroot: simpler on a scratch machine
            line = "\t".join(f[:8]) + ("\t" + " ".join(f[8:]) if len(f) > 8 else "")
        lines.append(line)
    Path("/etc/postfix/master.cf").write_text("\n".join(lines) + "\n")
    run(["postfix", "stop"], check=False)
    run(["ip", "netns", "exec", LAB_SERVER_NS, "postfix", "check"])     # it checks inet_interfaces exist
    run(["ip", "netns", "exec", LAB_SERVER_NS, "postfix", "start"])     # its daemons stay in that namespace
    Lab.wait(SMTP_PORT)


def stop_postfix() -> None:
    run(["postfix", "stop"], check=False)


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def attachment_fact(name: str, data: bytes, ctype: str) -> dict:
    return {"filename": name, "mime_type": ctype, "size": len(data), "sha256": sha256(data)}


@scenario("smtp")
def record_smtp() -> None:
    with Lab():
        _record_smtp()


def _record_smtp() -> None:
    import smtplib
    mail_reset()
    dovecot = start_dovecot()
    start_postfix()
    keylog = KEYS / "smtp.keylog"
    if keylog.exists():
        keylog.unlink()
    alice = "alice@example.test"
    # ---- message 1: MIME, alternatives + two attachments
    text = seeded_text("smtp-text", 6)
    html = "<html><body><h1>Quarterly report</h1><p>" + text.replace("\n", "<br>\n") + "</p></body></html>\n"
    bin_data = seeded_bytes("smtp-attachment-bin", 12345)
    txt_name = "Prüfbericht – Übersicht.txt"
    txt_data = ("Prüfbericht für das dritte Quartal\n" + seeded_text("smtp-attachment-txt", 20)).encode()
    m1 = EmailMessage(policy=email.policy.SMTP)
    m1["From"] = "Alice Example <alice@example.test>"
    m1["To"] = "Bob Example <bob@example.test>, nobody@example.test"
    m1["Subject"] = "Quarterly report – Q3"
    m1["Date"] = "Tue, 02 Jan 2024 10:00:00 +0000"
    m1["Message-ID"] = "<report-q3.1@example.test>"
    m1.set_content(text)
    m1.add_alternative(html, subtype="html")
    m1.add_attachment(bin_data, maintype="application", subtype="octet-stream", filename="data.bin")
    m1.add_attachment(txt_data, maintype="text", subtype="plain", filename=txt_name)
    raw1 = m1.as_bytes()
    assert b"filename*=" in raw1 or b"filename*0*=" in raw1, "no RFC 2231 file name"
    # ---- message 2 (second transaction after RSET)
    raw2 = crlf("From: alice@example.test\nTo: carol@example.test\nSubject: second transaction after RSET\n"
                "Date: Tue, 02 Jan 2024 10:05:00 +0000\nMessage-ID: <second.2@example.test>\n\n"
                + seeded_text("smtp-second", 4))
    # ---- message 3 (swaks, pipelining, AUTH LOGIN)
    raw3 = crlf("From: alice@example.test\nTo: bob@example.test\nSubject: pipelined by swaks\n"
                "Date: Tue, 02 Jan 2024 10:10:00 +0000\nMessage-ID: <swaks.3@example.test>\n\n"
                + seeded_text("smtp-swaks", 3))
    # swaks ends the data itself with CRLF . CRLF: give it the message less its last CRLF
    (WORK / "swaks-msg.eml").write_bytes(raw3[:-2])
    # ---- message 4 (inside STARTTLS)
    raw4 = crlf("From: alice@example.test\nTo: bob@example.test\nSubject: sent inside STARTTLS\n"
                "Date: Tue, 02 Jan 2024 10:15:00 +0000\nMessage-ID: <tls.4@example.test>\n\n"
                + seeded_text("smtp-tls", 3))
    sessions: list[dict] = []
    creds: list[dict] = []
    with lab_capture("smtp.pcapng", f"tcp port {SMTP_PORT}", SMTP_COMMENT) as cap, Lab.client():
        # session 1: smtplib, AUTH PLAIN, rejected recipient, MIME message, RSET, 2nd transaction
        s = smtplib.SMTP(LAB_SERVER4, SMTP_PORT, local_hostname="client.example.test")
        code, _ = s.ehlo()
        assert code == 250 and s.has_extn("pipelining")
        s.user, s.password = "alice", MAIL_USERS["alice"]
        code, _ = s.auth("PLAIN", s.auth_plain)
        assert code == 235
        assert s.mail(alice)[0] == 250
        assert s.rcpt("bob@example.test")[0] == 250
        rej = s.rcpt("nobody@example.test")
        assert rej[0] == 550, rej
        assert s.data(raw1)[0] == 250
        assert s.rset()[0] == 250
        assert s.mail(alice)[0] == 250
        assert s.rcpt("carol@example.test")[0] == 250
        assert s.data(raw2)[0] == 250
        s.quit()
        time.sleep(0.5)
        # session 2: swaks with PIPELINING and AUTH LOGIN
        r = run(["swaks", "--server", LAB_SERVER4, "--port", str(SMTP_PORT), "--ehlo", "swaks.example.test",
                 "--from", alice, "--to", "bob@example.test", "--auth", "LOGIN",
                 "--auth-user", "alice", "--auth-password", MAIL_USERS["alice"], "--pipeline",
                 "--data", str(WORK / "swaks-msg.eml")])
        assert "<-  235 " in r.stdout and "<-  250 2.0.0 Ok: queued" in r.stdout, r.stdout
        time.sleep(0.5)
        # session 3: smtplib, AUTH LOGIN with a wrong password
        s = smtplib.SMTP(LAB_SERVER4, SMTP_PORT, local_hostname="client.example.test")
        s.ehlo()
        s.user, s.password = "alice", "wrong-password"
        try:
            s.auth("LOGIN", s.auth_login)
            raise AssertionError("wrong password accepted")
        except smtplib.SMTPAuthenticationError as e:
            assert e.smtp_code == 535
        s.quit()
        time.sleep(0.5)
        # session 4: STARTTLS (keys in samples/keys/smtp.keylog)
        s = smtplib.SMTP(LAB_SERVER4, SMTP_PORT, local_hostname="client.example.test")
        s.ehlo()
        s.starttls(context=tls_client_context(keylog))
        s.ehlo()
        s.login("alice", MAIL_USERS["alice"])
        assert s.sendmail(alice, ["bob@example.test"], raw4) == {}
        s.quit()
    time.sleep(2)
    delivered = [p.read_bytes() for p in MAIL_BASE.glob("*/new/*")]
    for raw in (raw1, raw2, raw2, raw3, raw4):
        # Postfix stores the message with LF line ends after its own trace headers
        assert any(d.endswith(b"\n" + raw.replace(b"\r\n", b"\n")) for d in delivered), raw[:200]
    stop_postfix()
    stop(dovecot)
    swaks_first = first_line(["swaks", "--version"])
    msgs = [
        {"session": 1, "client": "smtplib", "helo": "client.example.test", "mail_from": alice,
         "rcpt_to": ["bob@example.test"], "rejected_rcpt": [{"address": "nobody@example.test", "code": 550}],
         "subject": "Quarterly report – Q3",
         "from": m1["From"], "to": m1["To"], "date": m1["Date"], "message_id": "<report-q3.1@example.test>",
         "size": len(raw1), "sha256": sha256(raw1), "tls": False,
         "parts": {"text_plain_sha256": sha256(text.encode()), "text_html_sha256": sha256(html.encode())},
         "attachments": [attachment_fact("data.bin", bin_data, "application/octet-stream"),
                         attachment_fact(txt_name, txt_data, "text/plain")]},
        {"session": 1, "client": "smtplib", "helo": "client.example.test", "mail_from": alice,
         "rcpt_to": ["carol@example.test"], "rejected_rcpt": [], "subject": "second transaction after RSET",
         "message_id": "<second.2@example.test>", "size": len(raw2), "sha256": sha256(raw2), "tls": False,
         "attachments": [], "note": "second transaction on the same connection, after RSET"},
        {"session": 2, "client": "swaks", "helo": "swaks.example.test", "mail_from": alice,
         "rcpt_to": ["bob@example.test"], "rejected_rcpt": [], "subject": "pipelined by swaks",
         "message_id": "<swaks.3@example.test>", "size": len(raw3), "sha256": sha256(raw3), "tls": False,
         "attachments": [], "note": "MAIL, RCPT and DATA sent in one PIPELINING group"},
        {"session": 4, "client": "smtplib", "helo": "client.example.test", "mail_from": alice,
         "rcpt_to": ["bob@example.test"], "rejected_rcpt": [], "subject": "sent inside STARTTLS",
         "message_id": "<tls.4@example.test>", "size": len(raw4), "sha256": sha256(raw4), "tls": True,
         "attachments": [], "note": "encrypted: visible only with samples/keys/smtp.keylog"},
    ]
    creds = [
        {"session": 1, "protocol": "smtp", "mechanism": "PLAIN", "username": "alice",
         "password": MAIL_USERS["alice"], "success": True},
        {"session": 2, "protocol": "smtp", "mechanism": "LOGIN", "username": "alice",
         "password": MAIL_USERS["alice"], "success": True},
        {"session": 3, "protocol": "smtp", "mechanism": "LOGIN", "username": "alice",
         "password": "wrong-password", "success": False},
        {"session": 4, "protocol": "smtp", "mechanism": "PLAIN", "username": "alice",
         "password": MAIL_USERS["alice"], "success": True, "note": "inside TLS"},
    ]
    sessions = [
        {"session": 1, "client": "smtplib", "commands": ["EHLO", "AUTH PLAIN", "MAIL", "RCPT", "RCPT (550)",
                                                          "DATA", "RSET", "MAIL", "RCPT", "DATA", "QUIT"]},
        {"session": 2, "client": "swaks", "commands": ["EHLO", "AUTH LOGIN", "MAIL+RCPT+DATA pipelined", "QUIT"]},
        {"session": 3, "client": "smtplib", "commands": ["EHLO", "AUTH LOGIN (535)", "QUIT"]},
        {"session": 4, "client": "smtplib", "commands": ["EHLO", "STARTTLS", "(TLS) EHLO AUTH MAIL RCPT DATA QUIT"]},
    ]
    write_expected(
        cap, ["smtp"],
        f"Postfix on {LAB_SERVER4}:{SMTP_PORT} (SASL through Dovecot) receiving four SMTP sessions in order: "
        "smtplib with AUTH PLAIN, a rejected recipient, a MIME message (text+HTML alternatives, a binary "
        "attachment and one with a non-ASCII RFC 2231 file name), RSET and a second transaction; swaks with "
        "AUTH LOGIN and PIPELINING; smtplib with a wrong AUTH LOGIN password; smtplib with STARTTLS.",
        {"debian": pkg_versions(*MAIL_SOFTWARE, "swaks"), "python": py_versions(), "swaks": swaks_first,
         "postfix": run(["postconf", "-d", "mail_version"]).stdout.strip()},
        Lab.servers(("smtp", "postfix smtpd", SMTP_PORT, "tcp")),
        client_addr=LAB_CLIENT4,
        sessions=sessions, messages=msgs, credentials=creds,
        tls_keylog="samples/keys/smtp.keylog",
        message_sha256_note="sha256 of the message as given to the client (CRLF line ends, before dot-stuffing)",
    )

def seed_messages(prefix: str, n: int, to: str) -> list[dict]:
    """n deterministic messages (CRLF), the second one with an attachment."""
    out = []
    for i in range(1, n + 1):
        subj = f"{prefix} message {i}"
        if i == 2:
            m = EmailMessage(policy=email.policy.SMTP)
            m["From"] = "Carol Example <carol@example.test>"
            m["To"] = to
            m["Subject"] = subj
            m["Date"] = f"Wed, 03 Jan 2024 09:0{i}:00 +0000"
            m["Message-ID"] = f"<{prefix.lower()}-{i}@example.test>"
            m.set_content(seeded_text(f"{prefix}-{i}", 5))
            att = seeded_bytes(f"{prefix}-att-{i}", 4096)
            m.add_attachment(att, maintype="application", subtype="octet-stream", filename=f"{prefix.lower()}-{i}.bin")
            raw = m.as_bytes()
            atts = [attachment_fact(f"{prefix.lower()}-{i}.bin", att, "application/octet-stream")]
        else:
            raw = crlf(f"From: Carol Example <carol@example.test>\nTo: {to}\nSubject: {subj}\n"
                       f"Date: Wed, 03 Jan 2024 09:0{i}:00 +0000\nMessage-ID: <{prefix.lower()}-{i}@example.test>\n\n"
                       + seeded_text(f"{prefix}-{i}", 8))
            atts = []
        assert b"\r\n." not in raw  # no dot-stuffing needed: wire body == file
        out.append({"raw": raw, "subject": subj, "message_id": f"<{prefix.lower()}-{i}@example.test>",
                    "size": len(raw), "sha256": sha256(raw), "attachments": atts})
    return out


def public(msgs: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if k != "raw"} for m in msgs]


@scenario("pop3")
def record_pop3() -> None:
    with Lab():
        _record_pop3()


def _record_pop3() -> None:
    import poplib
    mail_reset()
    msgs = seed_messages("POP3", 3, "bob@example.test")
    seed_maildir("bob", [m["raw"] for m in msgs])
    dovecot = start_dovecot()
    keylog = KEYS / "pop3.keylog"
    if keylog.exists():
        keylog.unlink()
    user, pw = "bob", MAIL_USERS["bob"]
    facts: dict = {}
    with lab_capture("pop3.pcapng", f"tcp port {POP3_PORT}", POP3_COMMENT) as cap, Lab.client():
        # session 1: failed login
        p = poplib.POP3(LAB_SERVER4, POP3_PORT)
        p.user(user)
        try:
            p.pass_("not-the-password")
            raise AssertionError("wrong password accepted")
        except poplib.error_proto:
            pass
        p.quit()
        # session 2: USER/PASS, CAPA, STAT, LIST, UIDL, RETR, TOP, DELE
        p = poplib.POP3(LAB_SERVER4, POP3_PORT)
        facts["banner"] = p.getwelcome().decode()
        p.capa()
        p.user(user)
        p.pass_(pw)
        count, size = p.stat()
        assert count == 3 and size == sum(m["size"] for m in msgs), (count, size)
        listing = p.list()[1]
        uidl = [l.decode() for l in p.uidl()[1]]
        r1 = b"\r\n".join(p.retr(1)[1]) + b"\r\n"
        assert r1 == msgs[0]["raw"], "RETR 1 differs"
        r2 = b"\r\n".join(p.retr(2)[1]) + b"\r\n"
        assert r2 == msgs[1]["raw"], "RETR 2 differs"
        top = p.top(3, 2)[1]
        p.dele(3)
        p.quit()
        # session 3: APOP, STAT, RETR 1 (message 3 is gone)
        p = poplib.POP3(LAB_SERVER4, POP3_PORT)
        p.apop(user, pw)
        count3, _ = p.stat()
        assert count3 == 2
        assert b"\r\n".join(p.retr(1)[1]) + b"\r\n" == msgs[0]["raw"]
        p.quit()
        # session 4: STLS
        p = poplib.POP3(LAB_SERVER4, POP3_PORT)
        p.stls(context=tls_client_context(keylog))
        p.user(user)
        p.pass_(pw)
        p.stat()
        p.quit()
    stop(dovecot)
    m = re.search(rb"<[^>]+>", facts["banner"].encode())
    write_expected(
        cap, ["pop3"],
        f"Dovecot POP3 on {LAB_SERVER4}:{POP3_PORT}, mailbox of bob seeded with three fixed messages; poplib "
        "sessions: a failed USER/PASS; USER/PASS with CAPA, STAT, LIST, UIDL, RETR 1, RETR 2, TOP 3 2, DELE 3, "
        "QUIT; APOP with STAT and RETR 1; STLS (keys in samples/keys/pop3.keylog) then USER/PASS, STAT.",
        {"debian": pkg_versions("dovecot-core", "dovecot-pop3d"), "python": py_versions()},
        Lab.servers(("pop3", "dovecot pop3", POP3_PORT, "tcp")),
        client_addr=LAB_CLIENT4,
        mailbox={"user": user, "messages": public(msgs)},
        sessions=[
            {"session": 1, "commands": ["USER", "PASS (-ERR)", "QUIT"]},
            {"session": 2, "commands": ["CAPA", "USER", "PASS", "STAT", "LIST", "UIDL", "RETR 1", "RETR 2",
                                        "TOP 3 2", "DELE 3", "QUIT"],
             "stat": [count, size], "list": [l.decode() for l in listing], "uidl": uidl,
             "retrieved": [{"msg": 1, "sha256": msgs[0]["sha256"]}, {"msg": 2, "sha256": msgs[1]["sha256"]}],
             "top": {"msg": 3, "lines": 2, "header_and_lines": [l.decode() for l in top]},
             "deleted": [3]},
            {"session": 3, "commands": ["APOP", "STAT", "RETR 1", "QUIT"], "apop_timestamp": m.group(0).decode() if m else None,
             "retrieved": [{"msg": 1, "sha256": msgs[0]["sha256"]}]},
            {"session": 4, "commands": ["CAPA", "STLS", "(TLS) USER PASS STAT QUIT"], "tls": True,
             "note": "poplib.stls() sends CAPA first"},
        ],
        credentials=[
            {"session": 1, "protocol": "pop3", "mechanism": "USER/PASS", "username": user, "password": "not-the-password", "success": False},
            {"session": 2, "protocol": "pop3", "mechanism": "USER/PASS", "username": user, "password": pw, "success": True},
            {"session": 3, "protocol": "pop3", "mechanism": "APOP", "username": user, "password": pw, "success": True,
             "note": "APOP sends md5(timestamp + password), not the password"},
            {"session": 4, "protocol": "pop3", "mechanism": "USER/PASS", "username": user, "password": pw, "success": True, "note": "inside TLS"},
        ],
        tls_keylog="samples/keys/pop3.keylog",
    )


@scenario("imap")
def record_imap() -> None:
    with Lab():
        _record_imap()


def _record_imap() -> None:
    import imaplib
    mail_reset()
    msgs = seed_messages("IMAP", 3, "alice@example.test")
    seed_maildir("alice", [m["raw"] for m in msgs])
    appended = crlf("From: alice@example.test\nTo: alice@example.test\nSubject: appended by the client\n"
                    "Date: Thu, 04 Jan 2024 12:00:00 +0000\nMessage-ID: <imap-append-4@example.test>\n\n"
                    + seeded_text("imap-append", 6))
    during_idle = crlf("From: carol@example.test\nTo: alice@example.test\nSubject: arrives during IDLE\n"
                       "Date: Thu, 04 Jan 2024 12:01:00 +0000\nMessage-ID: <imap-idle-5@example.test>\n\n"
                       + seeded_text("imap-idle", 3))
    dovecot = start_dovecot()
    keylog = KEYS / "imap.keylog"
    if keylog.exists():
        keylog.unlink()
    user, pw = "alice", MAIL_USERS["alice"]
    facts: dict = {}
    with lab_capture("imap.pcapng", f"tcp port {IMAP_PORT}", IMAP_COMMENT) as cap, Lab.client():
        # session 1: failed login
        im = imaplib.IMAP4(LAB_SERVER4, IMAP_PORT)
        try:
            im.login(user, "bad-password")
            raise AssertionError("wrong password accepted")
        except imaplib.IMAP4.error:
            pass
        im.logout()
        # session 2: the main one
        im = imaplib.IMAP4(LAB_SERVER4, IMAP_PORT)
        im.capability()
        im.login(user, pw)
        im.list()
        typ, data = im.select("INBOX")
        assert int(data[0]) == 3
        typ, data = im.search(None, "SUBJECT", '"message 2"')
        facts["search"] = data[0].decode()
        assert facts["search"] == "2"
        typ, data = im.fetch("1", "(BODY[])")
        assert data[0][1] == msgs[0]["raw"], "FETCH 1 BODY[] differs"
        typ, data = im.fetch("2", "(FLAGS BODY[])")
        assert data[0][1] == msgs[1]["raw"], "FETCH 2 BODY[] differs"
        im.store("1", "+FLAGS", "(\\Flagged)")
        typ, data = im.append("INBOX", "(\\Seen)", imaplib.Time2Internaldate(1704369600), appended)
        assert typ == "OK", data
        im.noop()
        # IDLE: a second session appends a message meanwhile
        tag = im._new_tag().decode()
        im.send(f"{tag} IDLE\r\n".encode())
        cont = im.readline()
        assert cont.startswith(b"+"), cont
        other = imaplib.IMAP4(LAB_SERVER4, IMAP_PORT)
        other.login(user, pw)
        other.append("INBOX", None, imaplib.Time2Internaldate(1704369660), during_idle)
        other.logout()
        im.sock.settimeout(40)
        untagged = []
        while True:
            line = im.readline()
            untagged.append(line.decode().strip())
            if b"EXISTS" in line:
                break
        im.send(b"DONE\r\n")
        while True:
            line = im.readline()
            if line.startswith(tag.encode()):
                break
            untagged.append(line.decode().strip())
        facts["idle_untagged"] = untagged
        typ, data = im.fetch("5", "(BODY[])")
        assert data[0][1] == during_idle
        im.close()
        im.logout()
        # session 4: STARTTLS
        im = imaplib.IMAP4(LAB_SERVER4, IMAP_PORT)
        im.starttls(ssl_context=tls_client_context(keylog))
        im.login(user, pw)
        im.select("INBOX", readonly=True)
        typ, data = im.fetch("3", "(BODY[])")
        assert data[0][1] == msgs[2]["raw"]
        im.logout()
    stop(dovecot)
    write_expected(
        cap, ["imap"],
        f"Dovecot IMAP on {LAB_SERVER4}:{IMAP_PORT}, mailbox of alice seeded with three fixed messages; imaplib "
        "sessions: a failed LOGIN; CAPABILITY, LOGIN, LIST, SELECT, SEARCH, FETCH BODY[] (server literals), "
        "STORE, APPEND (client literal), NOOP, IDLE during which a second session LOGINs and APPENDs, DONE, "
        "FETCH, CLOSE, LOGOUT; STARTTLS (keys in samples/keys/imap.keylog) then LOGIN, SELECT, FETCH.",
        {"debian": pkg_versions("dovecot-core", "dovecot-imapd"), "python": py_versions()},
        Lab.servers(("imap", "dovecot imap", IMAP_PORT, "tcp")),
        client_addr=LAB_CLIENT4,
        mailbox={"user": user, "mailbox": "INBOX", "messages": public(msgs)},
        sessions_note="imaplib sends CAPABILITY right after the greeting on every connection; it is listed "
                      "below only where the script asked for it again",
        appended=[
            {"session": 2, "mailbox": "INBOX", "flags": ["\\Seen"], "subject": "appended by the client",
             "message_id": "<imap-append-4@example.test>", "size": len(appended), "sha256": sha256(appended)},
            {"session": 3, "mailbox": "INBOX", "flags": [], "subject": "arrives during IDLE",
             "message_id": "<imap-idle-5@example.test>", "size": len(during_idle), "sha256": sha256(during_idle),
             "note": "appended by a second connection while session 2 was in IDLE"},
        ],
        sessions=[
            {"session": 1, "commands": ["LOGIN (NO)", "LOGOUT"]},
            {"session": 2, "commands": ["CAPABILITY", "LOGIN", "LIST", "SELECT INBOX", "SEARCH SUBJECT",
                                        "FETCH 1 (BODY[])", "FETCH 2 (FLAGS BODY[])", "STORE 1 +FLAGS (\\Flagged)",
                                        "APPEND INBOX", "NOOP", "IDLE", "DONE", "FETCH 5 (BODY[])", "CLOSE", "LOGOUT"],
             "search_result": facts["search"],
             "fetched": [{"seq": 1, "sha256": msgs[0]["sha256"]}, {"seq": 2, "sha256": msgs[1]["sha256"]},
                         {"seq": 5, "sha256": sha256(during_idle)}],
             "idle_untagged": facts["idle_untagged"]},
            {"session": 3, "commands": ["LOGIN", "APPEND INBOX", "LOGOUT"]},
            {"session": 4, "commands": ["STARTTLS", "(TLS) LOGIN SELECT FETCH 3 (BODY[]) LOGOUT"], "tls": True,
             "fetched": [{"seq": 3, "sha256": msgs[2]["sha256"]}]},
        ],
        credentials=[
            {"session": 1, "protocol": "imap", "mechanism": "LOGIN", "username": user, "password": "bad-password", "success": False},
            {"session": 2, "protocol": "imap", "mechanism": "LOGIN", "username": user, "password": pw, "success": True},
            {"session": 3, "protocol": "imap", "mechanism": "LOGIN", "username": user, "password": pw, "success": True},
            {"session": 4, "protocol": "imap", "mechanism": "LOGIN", "username": user, "password": pw, "success": True, "note": "inside TLS"},
        ],
        tls_keylog="samples/keys/imap.keylog",
    )

# --------------------------------------------------------------------------- FTP (pyftpdlib)

FTP_PORT = 10021
FTP_PASV = (30000, 30019)
FTP_USER, FTP_PASS = "ftpuser", "ftp-Secret9"
FTP_LAB_PORT, FTP_LAB_DATA_PORT = 21, 20       # the lab (ftp.pcapng); ftp-ipv6.pcapng stays on FTP_PORT
FTP_COMMENT = ("FTP lab: a client (10.20.0.2) and pyftpdlib (10.20.0.1:21). A failed login (530); a login, "
               "LIST/NLST/MLSD and RETR binary and ASCII over passive data (PASV), STOR and APPE over active "
               "data (PORT, from port 20), SIZE, REST+RETR; curl downloads over EPSV and uploads over active EPRT.")
FTPD = r'''
import sys, logging
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
import socket
from pyftpdlib.handlers.ftp.dispatchers import ActiveDTP
host, port, home, user, pw, lo, hi = sys.argv[1:8]
data_port = int(sys.argv[8]) if len(sys.argv) > 8 else 0   # active data from this port (20, RFC 959 L-1)
logging.basicConfig(level=logging.INFO)

class FromDataPort(ActiveDTP):
    def connect_af_unspecified(self, addr, source_address=None):
        return super().connect_af_unspecified(addr, (source_address[0], data_port))

    def bind(self, addr):
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return super().bind(addr)

a = DummyAuthorizer()
a.add_user(user, pw, home, perm="elradfmwMT")
h = FTPHandler
h.authorizer = a
h.banner = "wiretale sample FTP server (pyftpdlib) ready."
h.passive_ports = range(int(lo), int(hi) + 1)
h.auth_failed_timeout = 0.5
if data_port:
    h.active_dtp = FromDataPort
FTPServer((host, int(port)), h).serve_forever()
'''


def ftp_setup() -> tuple[Path, dict[str, bytes]]:
    home = fresh(WORK / "ftp" / "home")
    (home / "pub").mkdir()
    files = {
        "report.bin": seeded_bytes("ftp-report.bin", 65536),
        "notes.txt": seeded_text("ftp-notes.txt", 60).encode(),
        "pub/readme.txt": b"Read me: this file is fetched over EPSV by curl.\n" + seeded_text("ftp-readme", 5).encode(),
    }
    for name, data in files.items():
        (home / name).write_bytes(data)
        os.utime(home / name, (1704067200, 1704067200))
    (WORK / "ftp" / "ftpd.py").write_text(FTPD)
    return home, files


def start_ftpd(host: str, home: Path) -> subprocess.Popen:
    p = start([sys.executable, str(WORK / "ftp" / "ftpd.py"), host, str(FTP_PORT), str(home),
               FTP_USER, FTP_PASS, str(FTP_PASV[0]), str(FTP_PASV[1])], f"ftpd-{host}")
    wait_port(FTP_PORT, host)
    return p


def _xfer(session, command, path, direction, mode, channel, data: bytes, **extra) -> dict:
    d = {"session": session, "command": command, "path": path, "direction": direction, "mode": mode,
         "data_channel": channel, "size": len(data), "sha256": sha256(data)}
    d.update(extra)
    return d



@scenario("ftp")
def record_ftp() -> None:
    with contextlib.ExitStack() as stack:
        _record_ftp(stack)


def _record_ftp(stack: contextlib.ExitStack) -> None:
    import ftplib
    home, files = ftp_setup()
    lab = stack.enter_context(Lab())
    server = lab.server([sys.executable, str(WORK / "ftp" / "ftpd.py"), LAB_SERVER4, str(FTP_LAB_PORT), str(home),
                         FTP_USER, FTP_PASS, str(FTP_PASV[0]), str(FTP_PASV[1]), str(FTP_LAB_DATA_PORT)], "ftpd-lab")
    lab.wait(FTP_LAB_PORT)
    upload = seeded_bytes("ftp-upload.bin", 20000)
    appendix = seeded_bytes("ftp-append.bin", 5000)
    curl_up = seeded_text("ftp-curl-upload", 10).encode()
    (WORK / "ftp" / "curl-upload.txt").write_bytes(curl_up)
    transfers: list[dict] = []
    listings: dict = {}
    with lab_capture("ftp.pcapng", "tcp", FTP_COMMENT) as cap, lab.client():
        # session 1: failed login
        f = ftplib.FTP()
        f.connect(LAB_SERVER4, FTP_LAB_PORT)
        try:
            f.login(FTP_USER, "wrong-pass")
            raise AssertionError("wrong password accepted")
        except ftplib.error_perm as e:
            assert str(e).startswith("530"), e
        f.quit()
        # session 2: ftplib, passive (PASV) and active (PORT)
        f = ftplib.FTP()
        f.connect(LAB_SERVER4, FTP_LAB_PORT)
        f.login(FTP_USER, FTP_PASS)
        f.sendcmd("SYST")
        pwd = f.pwd()
        f.cwd("pub")
        f.cwd("/")
        lines: list[str] = []
        f.retrlines("LIST", lines.append)                      # PASV, TYPE A
        listings["LIST"] = lines
        listings["NLST"] = sorted(f.nlst())
        listings["MLSD"] = sorted(n for n, _ in f.mlsd())
        got = bytearray()
        f.retrbinary("RETR report.bin", got.extend)              # PASV, TYPE I
        assert bytes(got) == files["report.bin"]
        transfers.append(_xfer(2, "RETR", "/report.bin", "download", "binary", "PASV", files["report.bin"]))
        f.sendcmd("TYPE A")
        conn = f.transfercmd("RETR notes.txt")                   # PASV, TYPE A: CRLF on the wire
        wire = bytearray()
        while chunk := conn.recv(65536):
            wire.extend(chunk)
        conn.close()
        f.voidresp()
        assert bytes(wire) == files["notes.txt"].replace(b"\n", b"\r\n")
        transfers.append(_xfer(2, "RETR", "/notes.txt", "download", "ascii", "PASV", bytes(wire),
                               file_sha256=sha256(files["notes.txt"]), file_size=len(files["notes.txt"]),
                               note="ASCII mode: the server sends CRLF line ends; size/sha256 are of the wire bytes"))
        f.set_pasv(False)
        f.storbinary("STOR upload.bin", __import__("io").BytesIO(upload))       # PORT
        transfers.append(_xfer(2, "STOR", "/upload.bin", "upload", "binary", "PORT", upload))
        f.storbinary("APPE upload.bin", __import__("io").BytesIO(appendix))     # PORT
        transfers.append(_xfer(2, "APPE", "/upload.bin", "upload", "binary", "PORT", appendix,
                               resulting_file_sha256=sha256(upload + appendix), resulting_file_size=len(upload) + len(appendix)))
        assert (home / "upload.bin").read_bytes() == upload + appendix
        f.set_pasv(True)
        size = f.size("upload.bin")
        assert size == len(upload) + len(appendix)
        got = bytearray()
        f.retrbinary("RETR report.bin", got.extend, rest=1000)  # PASV, REST 1000
        assert bytes(got) == files["report.bin"][1000:]
        transfers.append(_xfer(2, "RETR", "/report.bin", "download", "binary", "PASV", bytes(got), rest=1000,
                               note="REST 1000: the last 64536 bytes of report.bin"))
        f.quit()
        # session 3: curl, passive EPSV download
        url = f"ftp://{FTP_USER}:{FTP_PASS}@{LAB_SERVER4}"
        out = run(["curl", "-sS", f"{url}/pub/readme.txt"], text=False).stdout
        assert out == files["pub/readme.txt"]
        transfers.append(_xfer(3, "RETR", "/pub/readme.txt", "download", "binary", "EPSV", out))
        # session 4: curl, active EPRT upload
        run(["curl", "-sS", "-P", LAB_CLIENT4, "-T", str(WORK / "ftp" / "curl-upload.txt"), f"{url}/curl-upload.txt"])
        assert (home / "curl-upload.txt").read_bytes() == curl_up
        transfers.append(_xfer(4, "STOR", "/curl-upload.txt", "upload", "binary", "EPRT", curl_up))
    stop(server)
    curl_v = first_line(["curl", "--version"])
    write_expected(
        cap, ["ftp", "ftp-data"],
        f"pyftpdlib on {LAB_SERVER4}:{FTP_LAB_PORT} in its own network namespace (passive ports {FTP_PASV[0]}-{FTP_PASV[1]}, "
        f"active data from port {FTP_LAB_DATA_PORT}), clients on {LAB_CLIENT4}. Sessions: ftplib failed "
        "login (530); ftplib login, SYST, PWD, CWD, LIST/NLST/MLSD over PASV, RETR binary and ASCII over PASV, "
        "STOR and APPE over active PORT, SIZE, REST+RETR over PASV; curl RETR over EPSV; curl STOR over active EPRT.",
        {"pip": py_versions("pyftpdlib"), "curl": curl_v},
        [dict(srv, passive_ports=list(FTP_PASV), active_data_port=FTP_LAB_DATA_PORT)
         for srv in Lab.servers(("ftp", "pyftpdlib", FTP_LAB_PORT, "tcp"))],
        client_addr=LAB_CLIENT4,
        server_files={k: {"size": len(v), "sha256": sha256(v)} for k, v in files.items()},
        sessions=[
            {"session": 1, "client": "ftplib", "commands": ["USER", "PASS (530)", "QUIT"]},
            {"session": 2, "client": "ftplib", "pwd": pwd,
             "commands": ["USER", "PASS", "SYST", "PWD", "CWD pub", "CWD /", "TYPE A", "PASV", "LIST", "PASV", "NLST",
                          "PASV", "MLSD", "TYPE I", "PASV", "RETR report.bin", "TYPE A", "PASV", "RETR notes.txt",
                          "TYPE I", "PORT", "STOR upload.bin", "TYPE I", "PORT", "APPE upload.bin", "SIZE upload.bin",
                          "TYPE I", "PASV", "REST 1000", "RETR report.bin", "QUIT"],
             "listings": listings},
            {"session": 3, "client": "curl", "commands": ["USER", "PASS", "PWD", "CWD pub", "EPSV", "TYPE I", "SIZE", "RETR", "QUIT"]},
            {"session": 4, "client": "curl", "commands": ["USER", "PASS", "PWD", "EPRT", "TYPE I", "STOR", "QUIT"]},
        ],
        transfers=transfers,
        credentials=[
            {"session": 1, "protocol": "ftp", "username": FTP_USER, "password": "wrong-pass", "success": False},
            {"session": 2, "protocol": "ftp", "username": FTP_USER, "password": FTP_PASS, "success": True},
            {"session": 3, "protocol": "ftp", "username": FTP_USER, "password": FTP_PASS, "success": True},
            {"session": 4, "protocol": "ftp", "username": FTP_USER, "password": FTP_PASS, "success": True},
        ],
        commands_note="command lists are what the clients are expected to send; the capture is the authority",
    )


@scenario("ftp6")
def record_ftp6() -> None:
    import ftplib
    home, files = ftp_setup()
    server = start_ftpd("::1", home)
    upload = seeded_bytes("ftp6-upload.bin", 8000)
    transfers: list[dict] = []
    with Capture("ftp-ipv6.pcapng", f"tcp and ip6") as cap:
        f = ftplib.FTP()
        f.connect("::1", FTP_PORT)
        f.login(FTP_USER, FTP_PASS)
        lines: list[str] = []
        f.retrlines("LIST", lines.append)                      # EPSV (ftplib over IPv6)
        got = bytearray()
        f.retrbinary("RETR report.bin", got.extend)             # EPSV
        assert bytes(got) == files["report.bin"]
        transfers.append(_xfer(1, "RETR", "/report.bin", "download", "binary", "EPSV", bytes(got)))
        f.set_pasv(False)
        f.storbinary("STOR v6-upload.bin", __import__("io").BytesIO(upload))   # EPRT (ftplib over IPv6)
        transfers.append(_xfer(1, "STOR", "/v6-upload.bin", "upload", "binary", "EPRT", upload))
        assert (home / "v6-upload.bin").read_bytes() == upload
        f.quit()
    stop(server)
    write_expected(
        cap, ["ftp", "ftp-data"],
        f"pyftpdlib on [::1]:{FTP_PORT}; ftplib over IPv6: login, LIST and RETR over EPSV, STOR over active EPRT. "
        "Recorded with dumpcap as pcapng.",
        {"pip": py_versions("pyftpdlib"), "dumpcap": first_line(["dumpcap", "-v"])},
        [{"service": "ftp", "software": "pyftpdlib", "addr": "::1", "port": FTP_PORT, "transport": "tcp",
          "passive_ports": list(FTP_PASV)}],
        decode_as=[f"tcp.port=={FTP_PORT},ftp"],
        server_files={k: {"size": len(v), "sha256": sha256(v)} for k, v in files.items()},
        sessions=[{"session": 1, "client": "ftplib", "listings": {"LIST": lines},
                   "commands": ["USER", "PASS", "TYPE A", "EPSV", "LIST", "TYPE I", "EPSV", "RETR report.bin",
                                "TYPE I", "EPRT", "STOR v6-upload.bin", "QUIT"]}],
        transfers=transfers,
        credentials=[{"session": 1, "protocol": "ftp", "username": FTP_USER, "password": FTP_PASS, "success": True}],
    )

# --------------------------------------------------------------------------- HTTP (nginx + a Python backend)

HTTP_LAB_PORT, HTTP_LAB_BACKEND_PORT = 80, 8080      # the lab (http.pcapng): nginx, and its backend on the server's lo
HTTP_COMMENT = ("HTTP lab: clients on 10.20.0.2 / fd00:20::2, nginx on 10.20.0.1:80 / [fd00:20::1]:80; /app/ is proxied "
                "to a backend on the server's 127.0.0.1:8080 (interface 2 of this file). Keep-alive (200, 200, 404), "
                "gzip+chunked, conditional GET (304), a 301 followed, Basic auth (401, wrong password 401, 200), a form "
                "POST, a multipart upload, a 1 MiB download, a chunked response, three pipelined GETs, a GET over IPv6.")
HTTP_USER, HTTP_PASS = "webuser", "web-Pass7"
HTTP_MTIME = 1704067200   # Mon, 01 Jan 2024 00:00:00 GMT
BACKEND = r'''
import email.parser, email.policy, hashlib, json, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LOG = sys.argv[2]

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wiretale-backend/1.0"

    def _send(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/app/stream":
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(5):
                line = json.dumps({"chunk": i, "text": "streamed line %d" % i}).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.write(b"0\r\n\r\n")
            return
        self._send(404, b'{"error": "not found"}')

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        rec = {"path": self.path, "content_type": self.headers.get("Content-Type"), "body_sha256": hashlib.sha256(body).hexdigest(),
               "body_size": len(body)}
        if self.path == "/app/form":
            rec["fields"] = dict(urllib.parse.parse_qsl(body.decode()))
        elif self.path == "/app/upload":
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
            rec["parts"] = [{"name": p.get_param("name", header="content-disposition"), "filename": p.get_filename(),
                             "content_type": p.get_content_type(),
                             "sha256": hashlib.sha256(p.get_payload(decode=True)).hexdigest(),
                             "size": len(p.get_payload(decode=True))} for p in msg.iter_parts()]
        with open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self._send(200, json.dumps(rec, sort_keys=True).encode())

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


def nginx_prelude(d: Path, log: str) -> str:
    """The start of an nginx.conf run by hand in ``d`` (pid, logs and temp paths there), up to inside
    ``http {``: the caller adds its own directives, servers and the closing brace."""
    return f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {LOG}/{log}-error.log;
events {{ worker_connections 64; }}
http {{
    access_log {LOG}/{log}-access.log;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
"""


def nginx_files(d: Path, www: Path, files: dict[str, bytes]) -> None:
    """Write the files nginx serves from ``www`` (fixed mtime) and the Basic-auth user file ``d/htpasswd``."""
    for name, data in files.items():
        (www / name).write_bytes(data)
        os.utime(www / name, (HTTP_MTIME, HTTP_MTIME))
    crypt = run(["openssl", "passwd", "-apr1", HTTP_PASS]).stdout.strip()
    (d / "htpasswd").write_text(f"{HTTP_USER}:{crypt}\n")


@scenario("http")
def record_http() -> None:
    with contextlib.ExitStack() as stack:
        _record_http(stack.enter_context(Lab()))


def _record_http(lab: Lab) -> None:
    import urllib.request
    d = fresh(WORK / "nginx")
    www = d / "www"
    for sub in ("files", "private"):
        (www / sub).mkdir(parents=True, exist_ok=True)
    (d / "tmp").mkdir()
    text = seeded_text("http-notes", 300)
    files = {
        "index.html": ("<!doctype html>\n<html><head><title>wiretale sample</title>"
                       "<link rel=stylesheet href=/style.css></head>\n<body><h1>wiretale sample site</h1>\n<pre>"
                       + seeded_text("http-index", 20) + "</pre></body></html>\n").encode(),
        "style.css": b"body { font-family: sans-serif; margin: 2em; }\nh1 { color: #333; }\npre { background: #eee; }\n",
        "robots.txt": b"User-agent: *\nDisallow: /private/\n",
        "notes.txt": text.encode(),
        "files/big.bin": seeded_bytes("http-big.bin", 1024 * 1024),
        "private/secret.txt": b"The secret of the sample site: packets tell tales.\n",
    }
    nginx_files(d, www, files)
    (d / "nginx.conf").write_text(nginx_prelude(d, "nginx") + f"""
    keepalive_requests 100;
    gzip on;
    gzip_types text/plain text/css application/json;
    gzip_min_length 256;
    server {{
        listen {LAB_SERVER4}:{HTTP_LAB_PORT};
        listen [{LAB_SERVER6}]:{HTTP_LAB_PORT};
        server_name www.example.test;
        root {www};
        location = /old-page {{ return 301 /index.html; }}
        location /private/ {{
            auth_basic "wiretale private";
            auth_basic_user_file {d}/htpasswd;
        }}
        location /app/ {{
            proxy_pass http://127.0.0.1:{HTTP_LAB_BACKEND_PORT};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
        }}
    }}
}}
""")
    (d / "backend.py").write_text(BACKEND)
    backend_log = d / "backend.jsonl"
    run(["ip", "netns", "exec", LAB_SERVER_NS, "nginx", "-t", "-c", str(d / "nginx.conf")])
    nginx = lab.server(["nginx", "-c", str(d / "nginx.conf"), "-g", "daemon off;"], "nginx")
    backend = lab.server([sys.executable, str(d / "backend.py"), str(HTTP_LAB_BACKEND_PORT), str(backend_log)], "backend")
    lab.wait(HTTP_LAB_PORT)
    with lab.serving():
        wait_port(HTTP_LAB_BACKEND_PORT)
    base = f"http://{LAB_SERVER4}"
    out = fresh(WORK / "http-out")
    requests: list[dict] = []
    creds: list[dict] = []
    upload = seeded_bytes("http-upload.dat", 30000)
    (out / "upload.dat").write_bytes(upload)

    def curl(session: int, note: str, urls: list[str], *opts: str, expect: list[int]) -> list[bytes]:
        outs = [out / f"s{session}-{i}.body" for i in range(len(urls))]
        cmd = ["curl", "-sS", "-w", "%{http_code} %{num_connects}\\n", *opts]
        for u, o in zip(urls, outs):
            cmd += ["-o", str(o), u]
        res = run(cmd).stdout.split()
        codes = [int(c) for c in res[0::2]]
        assert codes == expect, (cmd, codes)
        bodies = [o.read_bytes() if o.exists() else b"" for o in outs]
        for u, c, b in zip(urls, codes, bodies):
            requests.append({"session": session, "client": "curl", "method": "GET", "url": u,
                             "status": c, "response_body_size": len(b), "response_body_sha256": sha256(b),
                             "note": note})
        return bodies

    with lab_capture("http.pcapng", f"tcp port {HTTP_LAB_PORT} or tcp port {HTTP_LAB_BACKEND_PORT}", HTTP_COMMENT,
                     server_lo=True) as cap, lab.client():
        # 1: keep-alive, three requests on one connection: 200, 200, 404
        b = curl(1, "three requests on one keep-alive connection",
                 [f"{base}/index.html", f"{base}/style.css", f"{base}/missing.html"], expect=[200, 200, 404])
        assert b[0] == files["index.html"] and b[1] == files["style.css"]
        # 2: gzip (nginx compresses on the fly and sends it chunked)
        b = curl(2, "Accept-Encoding: gzip; nginx answers Content-Encoding: gzip with Transfer-Encoding: chunked; "
                 "sha256 is of the decoded body", [f"{base}/notes.txt"], "--compressed", expect=[200])
        assert b[0] == files["notes.txt"]
        requests[-1].update(content_encoding="gzip", transfer_encoding="chunked")
        # 3: conditional GET -> 304
        curl(3, "If-Modified-Since equal to the file's mtime: 304 without body", [f"{base}/index.html"],
             "-H", "If-Modified-Since: Mon, 01 Jan 2024 00:00:00 GMT", expect=[304])
        # 4: redirect followed on the same connection
        b = curl(4, "301 to /index.html, followed by curl -L", [f"{base}/old-page"], "-L", expect=[200])
        assert b[0] == files["index.html"]
        requests[-1].update(redirect_chain=[{"url": f"{base}/old-page", "status": 301, "location": f"{base}/index.html"},
                                            {"url": f"{base}/index.html", "status": 200}])
        # 5: Basic auth: none, wrong, right
        curl(5, "no credentials", [f"{base}/private/secret.txt"], expect=[401])
        curl(6, "Basic auth with a wrong password", [f"{base}/private/secret.txt"], "-u", f"{HTTP_USER}:wrong-pass", expect=[401])
        b = curl(7, "Basic auth", [f"{base}/private/secret.txt"], "-u", f"{HTTP_USER}:{HTTP_PASS}", expect=[200])
        assert b[0] == files["private/secret.txt"]
        creds += [{"session": 6, "protocol": "http", "mechanism": "basic", "username": HTTP_USER, "password": "wrong-pass", "success": False},
                  {"session": 7, "protocol": "http", "mechanism": "basic", "username": HTTP_USER, "password": HTTP_PASS, "success": True}]
        # 8: POST form (urlencoded), proxied to the backend
        form = "name=Alice+Example&comment=hello%20wire&lang=de"
        b = run(["curl", "-sS", "-d", form, f"{base}/app/form"], text=False).stdout
        rec = json.loads(b)
        assert rec["fields"] == {"name": "Alice Example", "comment": "hello wire", "lang": "de"}
        requests.append({"session": 8, "client": "curl", "method": "POST", "url": f"{base}/app/form", "status": 200,
                         "request_content_type": "application/x-www-form-urlencoded",
                         "request_body": form, "request_body_sha256": sha256(form.encode()), "form_fields": rec["fields"],
                         "response_body_sha256": sha256(b), "response_body_size": len(b),
                         "note": "nginx proxies to the backend on 127.0.0.1:%d (second HTTP flow, on the server's "
                                 "loopback: the capture's second interface)" % HTTP_LAB_BACKEND_PORT})
        # 9: multipart upload
        b = run(["curl", "-sS", "-F", f"file=@{out / 'upload.dat'};type=application/octet-stream",
                 "-F", "description=sample upload from curl", f"{base}/app/upload"], text=False).stdout
        rec = json.loads(b)
        parts = {p["name"]: p for p in rec["parts"]}
        assert parts["file"]["sha256"] == sha256(upload) and parts["file"]["filename"] == "upload.dat"
        assert parts["description"]["sha256"] == sha256(b"sample upload from curl")
        requests.append({"session": 9, "client": "curl", "method": "POST", "url": f"{base}/app/upload", "status": 200,
                         "request_content_type": "multipart/form-data",
                         "uploaded_files": [{"field": "file", "filename": "upload.dat", "mime_type": "application/octet-stream",
                                             "size": len(upload), "sha256": sha256(upload)}],
                         "form_fields": {"description": "sample upload from curl"},
                         "response_body_sha256": sha256(b), "response_body_size": len(b)})
        # 10: larger binary download
        b = curl(10, "1 MiB binary", [f"{base}/files/big.bin"], expect=[200])
        assert b[0] == files["files/big.bin"]
        # 11: chunked response from the backend, passed on chunked by nginx
        b = curl(11, "backend answers Transfer-Encoding: chunked (5 chunks); nginx passes it on chunked",
                 [f"{base}/app/stream"], expect=[200])
        stream_body = b[0]
        assert stream_body.count(b"\n") == 5
        requests[-1].update(transfer_encoding="chunked")
        # 12: pipelining: three requests written at once by a raw socket client
        pipe = (f"GET /index.html HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: wiretale-pipeline\r\n\r\n"
                f"GET /style.css HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: wiretale-pipeline\r\n\r\n"
                f"GET /robots.txt HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: wiretale-pipeline\r\n"
                f"Connection: close\r\n\r\n").encode()
        with socket.create_connection((LAB_SERVER4, HTTP_LAB_PORT)) as s:
            s.sendall(pipe)
            resp = b""
            while chunk := s.recv(65536):
                resp += chunk
        assert resp.count(b"HTTP/1.1 200 OK") == 3 and resp.endswith(files["robots.txt"])
        for path in ("/index.html", "/style.css", "/robots.txt"):
            data = files[path[1:]]
            requests.append({"session": 12, "client": "python socket", "method": "GET", "url": f"{base}{path}",
                             "host_header": "www.example.test", "status": 200,
                             "response_body_size": len(data), "response_body_sha256": sha256(data),
                             "note": "three requests sent in one write (pipelining); the last asks Connection: close"})
        # 13: urllib over IPv6
        with urllib.request.urlopen(f"http://[{LAB_SERVER6}]/robots.txt") as r:
            body = r.read()
        assert body == files["robots.txt"]
        requests.append({"session": 13, "client": "urllib", "method": "GET", "url": f"http://[{LAB_SERVER6}]/robots.txt",
                         "status": 200, "response_body_size": len(body), "response_body_sha256": sha256(body)})
    stop(nginx)
    stop(backend)
    write_expected(
        cap, ["http"],
        f"nginx on {LAB_SERVER4}:{HTTP_LAB_PORT} and [{LAB_SERVER6}]:{HTTP_LAB_PORT} in its own network namespace, "
        f"serving fixed files, proxying /app/ to a Python http.server backend on 127.0.0.1:{HTTP_LAB_BACKEND_PORT} "
        "of the server (those proxied requests are a second HTTP flow, captured on the server's loopback, the "
        f"capture's second interface). Clients on {LAB_CLIENT4} / {LAB_CLIENT6}: curl (keep-alive, 404, gzip+chunked, 304, 301 redirect, Basic auth 401/401/200, POST form, "
        "multipart upload, 1 MiB download, chunked), a raw socket client (pipelining three requests), urllib over IPv6.",
        {"debian": pkg_versions("nginx-light", "curl"), "nginx": run(["nginx", "-v"]).stderr.strip(),
         "curl": first_line(["curl", "--version"]), "python": py_versions()},
        Lab.servers(("http", "nginx", HTTP_LAB_PORT, "tcp"))
        + [dict(srv, addr=LAB_SERVER6) for srv in Lab.servers(("http", "nginx", HTTP_LAB_PORT, "tcp"))]
        + [{"service": "http-backend", "software": "python http.server (backend behind nginx)", "addr": "127.0.0.1",
            "port": HTTP_LAB_BACKEND_PORT, "transport": "tcp", "netns": LAB_SERVER_NS,
            "note": "on the server's loopback (the capture's second interface)"}],
        client_addr=[LAB_CLIENT4, LAB_CLIENT6],
        server_files={f"/{k}": {"size": len(v), "sha256": sha256(v)} for k, v in files.items()},
        requests=requests, credentials=creds,
        sessions_note="a session is one client command; curl reuses one connection per command",
    )

HTTP_RANGES_PORT = 18082


@scenario("http-ranges")
def record_http_ranges() -> None:
    """nginx answering Range requests with 206: one zip archive fetched in three ranges over three connections
    (the last overlapping the second), and a second file of which only the first kilobyte is fetched."""
    import io
    import zipfile
    d = fresh(WORK / "nginx-ranges")
    www = d / "www"
    www.mkdir()
    (d / "tmp").mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(3):
            info = zipfile.ZipInfo(f"capture-notes-{i}.txt", date_time=(2024, 1, 1, 0, 0, 0))
            z.writestr(info, seeded_text(f"http-ranges-{i}", 60))
    files = {"lab-files.zip": buf.getvalue(), "video.bin": seeded_bytes("http-ranges-video", 6000)}
    nginx_files(d, www, files)
    (d / "nginx.conf").write_text(nginx_prelude(d, "nginx-ranges") + f"""
    server {{
        listen 127.0.0.1:{HTTP_RANGES_PORT};
        root {www};
        location = /video.bin {{
            auth_basic "wiretale ranges";
            auth_basic_user_file {d}/htpasswd;
        }}
    }}
}}
""")
    run(["nginx", "-t", "-c", str(d / "nginx.conf")])
    nginx = start(["nginx", "-c", str(d / "nginx.conf"), "-g", "daemon off;"], "nginx-ranges")
    wait_port(HTTP_RANGES_PORT)
    base = f"http://127.0.0.1:{HTTP_RANGES_PORT}"
    zipped = files["lab-files.zip"]
    n = len(zipped)
    plan = [("lab-files.zip", "0-3999"), ("lab-files.zip", "4000-7999"), ("lab-files.zip", f"7000-{n - 1}"),
            ("video.bin", "0-999")]
    requests: list[dict] = []
    with Capture("http-ranges.pcap", f"tcp port {HTTP_RANGES_PORT}") as cap:
        for i, (name, rng) in enumerate(plan, 1):     # one curl, one connection each
            body = WORK / "nginx-ranges" / f"part{i}.body"
            auth = ["-u", f"{HTTP_USER}:{HTTP_PASS}"] if name == "video.bin" else []
            res = run(["curl", "-sS", *auth, "-r", rng, "-o", str(body), "-w", "%{http_code}", f"{base}/{name}"]).stdout
            lo, hi = (int(x) for x in rng.split("-"))
            part = body.read_bytes()
            assert res.strip() == "206" and part == files[name][lo:hi + 1], (res, rng)
            requests.append({"session": i, "client": "curl", "method": "GET", "url": f"{base}/{name}", "status": 206,
                             "range": f"bytes={rng}", "content_range": f"bytes {lo}-{hi}/{len(files[name])}",
                             "response_body_size": len(part), "response_body_sha256": sha256(part)})
    stop(nginx)
    write_expected(
        cap, ["http"],
        f"nginx on 127.0.0.1:{HTTP_RANGES_PORT} serving two files; curl -r fetches lab-files.zip in three byte ranges "
        "over three connections (the third overlaps the second; together they cover the file) and the first 1000 "
        "bytes of video.bin (not covered; behind Basic auth).",
        {"debian": pkg_versions("nginx-light", "curl"), "nginx": run(["nginx", "-v"]).stderr.strip(),
         "curl": first_line(["curl", "--version"])},
        [{"service": "http", "software": "nginx", "addr": "127.0.0.1", "port": HTTP_RANGES_PORT, "transport": "tcp"}],
        decode_as=[f"tcp.port=={HTTP_RANGES_PORT},http"],
        server_files={k: {"size": len(v), "sha256": sha256(v)} for k, v in files.items()},
        requests=requests,
        credentials=[{"protocol": "http", "kind": "basic", "username": HTTP_USER, "password": HTTP_PASS,
                      "success": True, "url": f"{base}/video.bin"}],
        covered={"lab-files.zip": True, "video.bin": False},
    )


# --------------------------------------------------------------------------- HTTPS (nginx, TLS 1.2/1.3, HTTP/2)

HTTPS_PORT = 10443


@scenario("https")
def record_https() -> None:
    """nginx with TLS 1.2 and 1.3 and HTTP/2; curl (and openssl s_client for a MAC-then-encrypt CBC
    session) with SSLKEYLOGFILE, one TLS connection per line of SESSIONS, keys in samples/keys/https.keylog."""
    d = fresh(WORK / "https")
    www = d / "www"
    (www / "files").mkdir(parents=True)
    (d / "tmp").mkdir()
    files = {
        "index.html": ("<!doctype html>\n<html><head><title>wiretale over TLS</title></head>\n<body><h1>wiretale "
                       "sample site over TLS</h1>\n<pre>" + seeded_text("https-index", 12) + "</pre></body></html>\n"
                       ).encode(),
        "style.css": b"body { font-family: serif; }\nh1 { color: #036; }\n",
        "robots.txt": b"User-agent: *\nDisallow:\n",
        "notes.txt": seeded_text("https-notes", 120).encode(),
        "files/data.bin": seeded_bytes("https-data.bin", 60000),
    }
    for name, data in files.items():
        (www / name).write_bytes(data)
        os.utime(www / name, (HTTP_MTIME, HTTP_MTIME))
    cert, key = make_cert(d, "www.example.test")
    (d / "nginx.conf").write_text(nginx_prelude(d, "nginx-https") + f"""
    gzip on;
    gzip_types text/plain text/css;
    gzip_min_length 256;
    ssl_session_tickets off;
    server {{
        listen 127.0.0.1:{HTTPS_PORT} ssl http2;
        server_name www.example.test;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ALL:@SECLEVEL=0;
        root {www};
        location = /form {{ return 200 "form received\\n"; }}
    }}
}}
""")
    run(["nginx", "-t", "-c", str(d / "nginx.conf")])
    start(["nginx", "-c", str(d / "nginx.conf"), "-g", "daemon off;"], "nginx-https")
    wait_port(HTTPS_PORT)
    KEYS.mkdir(exist_ok=True)
    keylog = KEYS / "https.keylog"
    if keylog.exists():
        keylog.unlink()
    env = dict(os.environ, SSLKEYLOGFILE=str(keylog))
    base = f"https://www.example.test:{HTTPS_PORT}"
    resolve = f"www.example.test:{HTTPS_PORT}:127.0.0.1"
    out = fresh(WORK / "https-out")
    sessions: list[dict] = []
    requests: list[dict] = []
    form = "name=alice&note=" + "x" * 300

    def curl(n: int, tls: list[str], http: str, paths: list[str], expect: list[int], *extra: str,
             method: str = "GET", note: str = "") -> None:
        outs = [out / f"s{n}-{i}.body" for i in range(len(paths))]
        cmd = ["curl", "-sS", "-k", "--resolve", resolve, http, *tls, *extra,
               "-w", "%{http_code} %{http_version} %{num_connects}\\n"]
        for p, o in zip(paths, outs):
            cmd += ["-o", str(o), base + p]
        res = run(cmd, env=env).stdout.split()
        codes = [int(c) for c in res[0::3]]
        assert codes == expect, (cmd, res)
        assert sum(int(c) for c in res[2::3]) == 1, ("one TLS connection per session", res)
        for p, o, c in zip(paths, outs, codes):
            body = o.read_bytes() if o.exists() else b""
            if c == 200 and method == "GET":
                assert body == files[p.lstrip("/")], p
            requests.append({"session": n, "client": "curl", "method": method, "url": base + p, "status": c,
                             "http_version": res[1], "response_body_size": len(body),
                             "response_body_sha256": sha256(body), "note": note})

    with Capture("https.pcap", f"tcp port {HTTPS_PORT}") as cap:
        curl(1, ["--tlsv1.3"], "--http2", ["/index.html", "/style.css", "/files/data.bin", "/missing"],
             [200, 200, 200, 404], note="TLS 1.3 (AES-256-GCM), HTTP/2: four streams on one connection")
        sessions.append({"session": 1, "tls_version": "TLSv13", "cipher": "TLS_AES_256_GCM_SHA384", "alpn": "h2"})
        curl(2, ["--tlsv1.3", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256"], "--http2", ["/form"], [200],
             "--data", form, method="POST", note=f"HTTP/2 POST of a {len(form)}-byte form")
        sessions.append({"session": 2, "tls_version": "TLSv13", "cipher": "TLS_CHACHA20_POLY1305_SHA256",
                         "alpn": "h2"})
        curl(3, ["--tlsv1.3", "--tls13-ciphers", "TLS_AES_128_GCM_SHA256"], "--http1.1", ["/notes.txt"], [200])
        sessions.append({"session": 3, "tls_version": "TLSv13", "cipher": "TLS_AES_128_GCM_SHA256",
                         "alpn": "http/1.1"})
        curl(4, ["--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"], "--http2", ["/notes.txt"], [200],
             "--compressed", note="HTTP/2, gzip content-encoding")
        sessions.append({"session": 4, "tls_version": "TLSv12", "cipher": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                         "alpn": "h2"})
        curl(5, ["--tls-max", "1.2", "--ciphers", "ECDHE-RSA-CHACHA20-POLY1305"], "--http1.1", ["/style.css"], [200])
        sessions.append({"session": 5, "tls_version": "TLSv12",
                         "cipher": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "alpn": "http/1.1"})
        curl(6, ["--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES256-SHA384"], "--http1.1", ["/index.html"], [200],
             note="CBC with HMAC-SHA384, encrypt-then-MAC (RFC 7366) as OpenSSL negotiates it")
        sessions.append({"session": 6, "tls_version": "TLSv12", "cipher": "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
                         "alpn": "http/1.1", "encrypt_then_mac": True})
        # 7: MAC-then-encrypt CBC with RSA key exchange: openssl s_client -no_etm, a hand-written request
        req = b"GET /robots.txt HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n"
        r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{HTTPS_PORT}", "-servername",
                            "www.example.test", "-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0", "-no_etm",
                            "-keylogfile", str(keylog), "-quiet", "-ign_eof"], input=req, capture_output=True,
                           timeout=30)
        assert r.stdout.endswith(files["robots.txt"]), r.stdout[-200:]
        requests.append({"session": 7, "client": "openssl s_client", "method": "GET", "url": base + "/robots.txt",
                         "status": 200, "http_version": "1.1", "response_body_size": len(files["robots.txt"]),
                         "response_body_sha256": sha256(files["robots.txt"]), "note": "MAC-then-encrypt"})
        sessions.append({"session": 7, "tls_version": "TLSv12", "cipher": "TLS_RSA_WITH_AES_128_CBC_SHA",
                         "alpn": None, "encrypt_then_mac": False})
    write_expected(
        cap, ["tls"],
        "nginx serving a small site over TLS 1.2 and 1.3 with HTTP/2; seven TLS connections from curl and "
        "openssl s_client (see sessions), keys in samples/keys/https.keylog",
        {**pkg_versions("nginx-light", "curl", "openssl"), "openssl_version": first_line(["openssl", "version"])},
        [{"name": "nginx", "addr": "127.0.0.1", "port": HTTPS_PORT, "tls": "TLSv1.2 TLSv1.3", "alpn": "h2 http/1.1"}],
        decode_as=[f"tcp.port=={HTTPS_PORT},tls"],
        sessions=sessions, requests=requests, form_body_sha256=sha256(form.encode()), form_body_size=len(form),
        server_files={name: {"size": len(data), "sha256": sha256(data)} for name, data in files.items()},
        certificate_subject="CN=www.example.test", tls_keylog="samples/keys/https.keylog")
    stop_all()


# --------------------------------------------------------------------------- WebSocket (Python websockets)

WS_PORT = 10080


@scenario("websocket")
def record_websocket() -> None:
    """A WebSocket server and client of the ``websockets`` library (PyPI) in one process on loopback:
    connection 1 with permessage-deflate (the library's default), connection 2 without compression."""
    import asyncio

    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    blob = seeded_bytes("ws-blob.bin", 5000)
    big = seeded_bytes("ws-big.bin", 70000)
    messages: list[dict] = []
    closes: list[dict] = []

    def note(conn: int, direction: str, data, fragments: int = 1) -> None:
        b = data.encode() if isinstance(data, str) else data
        m = {"connection": conn, "direction": direction, "opcode": "text" if isinstance(data, str) else "binary",
             "length": len(b), "sha256": sha256(b), "fragments": fragments}
        if isinstance(data, str):
            m["text"] = data
        messages.append(m)

    async def handler(ws) -> None:
        async for msg in ws:
            if isinstance(msg, bytes):
                await ws.send(hashlib.sha256(msg).hexdigest())
            elif msg == "send big":
                await ws.send(big)
            elif msg == "close custom":
                await ws.close(4001, "custom close")
            else:
                await ws.send(msg.upper())

    async def main() -> None:
        async with serve(handler, "127.0.0.1", WS_PORT):
            async with connect(f"ws://127.0.0.1:{WS_PORT}/chat") as ws:
                await ws.send("hello wiretale")
                note(1, "client", "hello wiretale")
                assert await ws.recv() == "HELLO WIRETALE"
                note(1, "server", "HELLO WIRETALE")
                await ws.send(blob)
                note(1, "client", blob)
                assert await ws.recv() == hashlib.sha256(blob).hexdigest()
                note(1, "server", hashlib.sha256(blob).hexdigest())
                await ws.send(["fragmented ", "text ", "message"])
                note(1, "client", "fragmented text message", fragments=3)
                assert await ws.recv() == "FRAGMENTED TEXT MESSAGE"
                note(1, "server", "FRAGMENTED TEXT MESSAGE")
                await (await ws.ping(b"are you there"))
                await ws.close(1000, "bye")
                closes.append({"connection": 1, "by": "client", "code": 1000, "reason": "bye"})
            async with connect(f"ws://127.0.0.1:{WS_PORT}/raw", compression=None) as ws:
                await ws.send("send big")
                note(2, "client", "send big")
                got = await ws.recv()
                assert got == big
                note(2, "server", big)
                await ws.send("close custom")
                note(2, "client", "close custom")
                try:
                    await ws.recv()
                except Exception:
                    pass
                closes.append({"connection": 2, "by": "server", "code": 4001, "reason": "custom close"})

    with Capture("websocket.pcap", f"tcp port {WS_PORT}") as cap:
        asyncio.run(main())
    write_expected(
        cap, ["websocket"],
        "Python websockets server and client on 127.0.0.1:10080. Connection 1 (/chat, permessage-deflate): "
        "text echoed upper-case, a 5000-byte binary message answered with its sha256, a text message in three "
        "fragments, a ping, close 1000 'bye' from the client. Connection 2 (/raw, no compression): a "
        "70,000-byte binary message from the server (64-bit length), close 4001 'custom close' from the server.",
        {**py_versions("websockets"), "python": sys.version.split()[0]},
        [{"name": "websockets", "addr": "127.0.0.1", "port": WS_PORT}],
        decode_as=[f"tcp.port=={WS_PORT},http"], messages=messages, closes=closes)


# --------------------------------------------------------------------------- Telnet (inetutils telnetd + telnet)

TELNET_PORT = 23          # the lab
TELNET_COMMENT = ("Telnet lab: the inetutils telnet client on 10.20.0.2, typed one character at a time, and telnetd on "
                  "10.20.0.1:23 running /bin/login: a wrong password, then student logs in and runs echo, id -un, cat "
                  "notes.txt and exit. Option negotiation and the server's echo included.")
TELNET_PASSWD_COMMENT = ("Telnet lab: student on 10.20.0.2 logs in to telnetd on 10.20.0.1:23 and runs passwd three "
                         "times: a wrong current password, a retyped new password that differs, then a change that "
                         "succeeds (the replies are passwd's and PAM's).")
TELNET_USER, TELNET_PASS = "student", "Telnet-Pass1"
MINI_INETD = r'''
import os, signal, socket, sys
# A minimal inetd: telnetd expects the accepted TCP socket on stdin/stdout/stderr.
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[2], int(sys.argv[1])))
s.listen(5)
while True:
    c, _ = s.accept()
    if os.fork() == 0:
        s.close()
        for fd in (0, 1, 2):
            os.dup2(c.fileno(), fd)
        os.execv("/usr/sbin/telnetd", ["telnetd", "-h"])
    c.close()
'''


def start_telnetd(work: str) -> subprocess.Popen:
    """The Telnet user (password TELNET_PASS, quiet login) and telnetd behind the minimal inetd."""
    if run(["id", TELNET_USER], check=False).returncode != 0:
        run(["useradd", "-m", "-s", "/bin/bash", TELNET_USER])
    run(f"echo '{TELNET_USER}:{TELNET_PASS}' | chpasswd")
    home = Path(f"/home/{TELNET_USER}")
    (home / ".hushlogin").write_text("")          # no motd / last-login noise
    (home / ".inputrc").write_text("set enable-bracketed-paste off\n")
    (home / "notes.txt").write_text("hello from the wiretale telnet sample\n")
    d = fresh(WORK / work)
    (d / "inetd.py").write_text(MINI_INETD)
    inetd = Lab.server([sys.executable, str(d / "inetd.py"), str(TELNET_PORT), LAB_SERVER4], f"{work}-inetd")
    Lab.wait(TELNET_PORT)
    time.sleep(1)
    return inetd


def type_slowly(child, text: str) -> None:
    for ch in text:                    # character at a time, as a person types
        child.send(ch)
        time.sleep(0.03)


@scenario("telnet")
def record_telnet() -> None:
    with Lab():
        _record_telnet()


def _record_telnet() -> None:
    import pexpect
    inetd = start_telnetd("telnet")
    commands = ["echo wiretale-$((6*7))", "id -un", "cat notes.txt", "exit"]
    outputs = {}

    with lab_capture("telnet.pcapng", f"tcp port {TELNET_PORT}", TELNET_COMMENT) as cap, Lab.client():
        child = pexpect.spawn("telnet", [LAB_SERVER4, str(TELNET_PORT)], timeout=20, encoding="utf-8",
                              env={"TERM": "vt100", "PATH": os.environ["PATH"]})
        child.expect("login: ")
        type_slowly(child, TELNET_USER + "\r")
        child.expect("Password:")
        type_slowly(child, "wrong-password\r")
        child.expect("Login incorrect")
        child.expect("login: ")
        type_slowly(child, TELNET_USER + "\r")
        child.expect("Password:")
        type_slowly(child, TELNET_PASS + "\r")
        child.expect(r"\$ ")
        for cmd in commands[:-1]:
            type_slowly(child, cmd + "\r")
            child.expect(r"\$ ")
            lines = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before).replace("\r", "").split("\n")
            outputs[cmd] = "\n".join(lines[1:-1]).strip()   # drop the echoed command and the prompt
        type_slowly(child, "exit\r")
        child.expect(pexpect.EOF)
    stop(inetd)
    assert outputs["echo wiretale-$((6*7))"] == "wiretale-42", outputs
    assert outputs["id -un"] == TELNET_USER, outputs
    write_expected(
        cap, ["telnet"],
        f"GNU inetutils telnetd (started per connection by a minimal Python inetd) on {LAB_SERVER4}:{TELNET_PORT} in its own network namespace, the client on {LAB_CLIENT4}, "
        "running /bin/login; the inetutils telnet client, driven by pexpect one character at a time, first gives a "
        f"wrong password, then logs in as {TELNET_USER} and runs a few shell commands.",
        {"debian": pkg_versions("inetutils-telnetd", "inetutils-telnet", "login", "bash"),
         "pip": py_versions("pexpect")},
        Lab.servers(("telnet", "inetutils telnetd + /bin/login", TELNET_PORT, "tcp")),
        client_addr=LAB_CLIENT4,
        credentials=[
            {"session": 1, "protocol": "telnet", "username": TELNET_USER, "password": "wrong-password", "success": False},
            {"session": 1, "protocol": "telnet", "username": TELNET_USER, "password": TELNET_PASS, "success": True},
        ],
        typed=[TELNET_USER, "wrong-password", TELNET_USER, TELNET_PASS] + commands,
        commands=[{"command": c, "output": outputs.get(c, "")} for c in commands],
        typing_note="each character is sent on its own (about 30 ms apart) and ends with CR; "
                    "the server echoes what is typed, except passwords",
    )

TELNET_NEW_PASS, TELNET_MISTYPED = "Wire-Tale-Chg7", "Wire-Tale-Chg8"


@scenario("telnet-passwd")
def record_telnet_passwd() -> None:
    with Lab():
        _record_telnet_passwd()


def _record_telnet_passwd() -> None:
    """A password change with passwd(1) over Telnet: a wrong current password, then a retyped password that
    does not match, then a change that succeeds; the server's replies are whatever passwd and PAM say."""
    import pexpect
    inetd = start_telnetd("telnet-passwd")
    attempts = [  # (current, new, retyped)
        ("not-my-password", None, None),
        (TELNET_PASS, TELNET_NEW_PASS, TELNET_MISTYPED),
        (TELNET_PASS, TELNET_NEW_PASS, TELNET_NEW_PASS),
    ]
    replies = []
    with lab_capture("telnet-passwd.pcapng", f"tcp port {TELNET_PORT}", TELNET_PASSWD_COMMENT) as cap, Lab.client():
        child = pexpect.spawn("telnet", [LAB_SERVER4, str(TELNET_PORT)], timeout=20, encoding="utf-8",
                              env={"TERM": "vt100", "PATH": os.environ["PATH"], "LANG": "C"})
        child.expect("login: ")
        type_slowly(child, TELNET_USER + "\r")
        child.expect("Password:")
        type_slowly(child, TELNET_PASS + "\r")
        child.expect(r"\$ ")
        for current, new, retyped in attempts:
            type_slowly(child, "passwd\r")
            child.expect(r"(?i)current.*password: ")
            type_slowly(child, current + "\r")
            if new is not None:
                child.expect(r"(?i)new password: ")
                type_slowly(child, new + "\r")
                child.expect(r"(?i)retype new password: ")
                type_slowly(child, retyped + "\r")
            child.expect(r"\$ ")
            replies.append(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before).replace("\r", "").strip())
        type_slowly(child, "exit\r")
        child.expect(pexpect.EOF)
    stop(inetd)
    run(f"echo '{TELNET_USER}:{TELNET_PASS}' | chpasswd")     # the telnet scenario logs in with it
    assert "updated successfully" in replies[-1], replies
    changes = [{"user": TELNET_USER, "current": c, "new": n, "retyped": r, "accepted": i == 2,
                "reply": replies[i].splitlines()[-2]} for i, (c, n, r) in enumerate(attempts)]
    write_expected(
        cap, ["telnet"],
        f"GNU inetutils telnetd on {LAB_SERVER4}:{TELNET_PORT} in its own network namespace, the client on {LAB_CLIENT4} (as in telnet.pcapng); {TELNET_USER} logs in and runs "
        "passwd three times: a wrong current password, a retyped new password that differs, then a change "
        "that succeeds. passwd and PAM (pam_unix) answer.",
        {"debian": pkg_versions("inetutils-telnetd", "inetutils-telnet", "login", "passwd", "bash"),
         "pip": py_versions("pexpect")},
        Lab.servers(("telnet", "inetutils telnetd + /bin/login + passwd", TELNET_PORT, "tcp")),
        client_addr=LAB_CLIENT4,
        credentials=[{"session": 1, "protocol": "telnet", "username": TELNET_USER, "password": TELNET_PASS,
                      "success": True}],
        password_changes=changes,
        typed=[TELNET_USER, TELNET_PASS] + [x for a in attempts for x in ("passwd", *a) if x is not None]
        + ["exit"],
        commands=[{"command": "passwd", "output": r} for r in replies],
        typing_note="each character is sent on its own (about 30 ms apart) and ends with CR; "
                    "the server echoes what is typed, except passwords",
    )

# --------------------------------------------------------------------------- LLMNR (llmnrd, llmnr-query)

LLMNR_NS = "wtrec-llmnr"
LLMNR_NAME = "wtprinter"


@scenario("llmnr")
def record_llmnr() -> None:
    """LLMNR (RFC 4795) on the loopback of a network namespace made for it (multicast switched on there,
    not on the host's loopback): llmnrd answers for LLMNR_NAME, llmnr-query asks (multicast to
    224.0.0.252:5355, the answer unicast back)."""
    run(["ip", "netns", "del", LLMNR_NS], check=False)
    run(["ip", "netns", "add", LLMNR_NS])
    run(["ip", "-n", LLMNR_NS, "link", "set", "lo", "up"])
    run(["ip", "-n", LLMNR_NS, "link", "set", "lo", "multicast", "on"])
    run(["ip", "-n", LLMNR_NS, "route", "add", "224.0.0.0/4", "dev", "lo"])
    responder = start(["ip", "netns", "exec", LLMNR_NS, "llmnrd", "-H", LLMNR_NAME, "-i", "lo"], "llmnrd")
    time.sleep(2)
    asked = [(LLMNR_NAME, "A"), (LLMNR_NAME, "AAAA"), (LLMNR_NAME, "ANY"), ("nobody-here", "A")]
    queries = []
    try:
        with Capture("llmnr.pcap", "udp port 5355", netns=LLMNR_NS) as cap:
            for name, qtype in asked:
                said = run(["ip", "netns", "exec", LLMNR_NS, "llmnr-query", "-I", "lo", "-T", qtype, name],
                           check=False).stdout
                answers = re.findall(r"LLMNR response: \S+ IN \S+ (\S+)", said)
                queries.append({"qname": name, "qtype": qtype, "answers": answers, "client_output": said.strip()})
                time.sleep(0.2)
    finally:
        stop(responder)
        run(["ip", "netns", "del", LLMNR_NS], check=False)
    assert queries[0]["answers"] == ["127.0.0.1"], queries
    write_expected(
        cap, ["llmnr"],
        f"llmnrd answering for {LLMNR_NAME} on the loopback of a network namespace (multicast on); llmnr-query "
        "in the same namespace asks A, AAAA and ANY for it and A for a name nobody has. Each query goes to "
        "224.0.0.252:5355 (from 0.0.0.0: the kernel picks no source address for multicast on lo); llmnrd "
        "answers by unicast from 127.0.0.1:5355 to the query's port, and stays silent when it has no record "
        "(AAAA: no IPv6 address to give).",
        {"debian": pkg_versions("llmnrd")},
        [{"service": "llmnr", "software": "llmnrd", "addr": "127.0.0.1", "port": 5355, "transport": "udp"}],
        queries=queries,
    )


# --------------------------------------------------------------------------- TFTP (tftpd-hpa, tftp-hpa, curl)

TFTP_PORT = 69          # the lab
TFTP_COMMENT = ("TFTP lab: clients on 10.20.0.2, tftpd-hpa on 10.20.0.1:69; each transfer continues from a new server "
                "port. tftp-hpa RRQ octet and netascii; curl RRQ with blksize 1024 + tsize (OACK) and with blksize 8; "
                "tftp-hpa WRQ; curl WRQ with tsize and blksize; an RRQ of a missing file (ERROR 1).")


@scenario("tftp")
def record_tftp() -> None:
    with Lab():
        _record_tftp()


def _record_tftp() -> None:
    import pwd
    root = fresh(WORK / "tftp" / "root")
    files = {
        "hello.txt": b"Hello over TFTP from wiretale samples.\n",
        "notes.txt": seeded_text("tftp-notes", 30).encode(),
        "image.bin": seeded_bytes("tftp-image.bin", 100_000),
        "small.bin": seeded_bytes("tftp-small.bin", 200),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    tftp_uid = pwd.getpwnam("tftp")
    os.chown(root, tftp_uid.pw_uid, tftp_uid.pw_gid)
    local = fresh(WORK / "tftp" / "client")
    put_hpa = seeded_bytes("tftp-put-hpa.bin", 3000)
    put_curl = seeded_bytes("tftp-put-curl.bin", 5000)
    (local / "put-hpa.bin").write_bytes(put_hpa)
    (local / "put-curl.bin").write_bytes(put_curl)
    server = Lab.server(["in.tftpd", "-L", "-v", "-a", f"{LAB_SERVER4}:{TFTP_PORT}", "-u", "tftp", "-c", "-s", str(root)], "tftpd")
    Lab.wait(TFTP_PORT, udp=True)
    transfers: list[dict] = []
    tftp = ["tftp", LAB_SERVER4, str(TFTP_PORT)]
    curl_base = f"tftp://{LAB_SERVER4}"
    with lab_capture("tftp.pcapng", "udp", TFTP_COMMENT) as cap, Lab.client():
        # 1 tftp-hpa RRQ octet, no options
        run(["tftp", "-m", "binary", LAB_SERVER4, str(TFTP_PORT), "-c", "get", "hello.txt", str(local / "hello.txt")])
        assert (local / "hello.txt").read_bytes() == files["hello.txt"]
        transfers.append({"n": 1, "client": "tftp-hpa", "opcode": "RRQ", "filename": "hello.txt", "mode": "octet",
                          "options": {}, "size": len(files["hello.txt"]), "sha256": sha256(files["hello.txt"]),
                          "blksize": 512, "blocks": 1, "result": "ok"})
        # 2 tftp-hpa RRQ netascii
        run(["tftp", "-m", "ascii", LAB_SERVER4, str(TFTP_PORT), "-c", "get", "notes.txt", str(local / "notes.txt")])
        assert (local / "notes.txt").read_bytes() == files["notes.txt"]
        wire = files["notes.txt"].replace(b"\n", b"\r\n")
        transfers.append({"n": 2, "client": "tftp-hpa", "opcode": "RRQ", "filename": "notes.txt", "mode": "netascii",
                          "options": {}, "size": len(wire), "sha256": sha256(wire),
                          "file_size": len(files["notes.txt"]), "file_sha256": sha256(files["notes.txt"]),
                          "blksize": 512, "blocks": len(wire) // 512 + 1, "result": "ok",
                          "note": "netascii: LF goes on the wire as CR LF; size/sha256 are of the wire bytes"})
        # 3 curl RRQ with blksize 1024 and tsize
        run(["curl", "-sS", "--tftp-blksize", "1024", "-o", str(local / "image.bin"), f"{curl_base}/image.bin"])
        assert (local / "image.bin").read_bytes() == files["image.bin"]
        n = len(files["image.bin"])
        transfers.append({"n": 3, "client": "curl", "opcode": "RRQ", "filename": "image.bin", "mode": "octet",
                          "options": {"tsize": "0", "blksize": "1024", "timeout": "6"},
                          "oack": {"tsize": str(n), "blksize": "1024", "timeout": "6"},
                          "size": n, "sha256": sha256(files["image.bin"]), "blksize": 1024, "blocks": n // 1024 + 1,
                          "result": "ok"})
        # 4 curl RRQ with blksize 8
        run(["curl", "-sS", "--tftp-blksize", "8", "-o", str(local / "small.bin"), f"{curl_base}/small.bin"])
        assert (local / "small.bin").read_bytes() == files["small.bin"]
        transfers.append({"n": 4, "client": "curl", "opcode": "RRQ", "filename": "small.bin", "mode": "octet",
                          "options": {"tsize": "0", "blksize": "8", "timeout": "6"},
                          "oack": {"tsize": "200", "blksize": "8", "timeout": "6"},
                          "size": 200, "sha256": sha256(files["small.bin"]), "blksize": 8, "blocks": 26,
                          "result": "ok", "note": "200 bytes in 25 full 8-byte blocks and an empty last block"})
        # 5 tftp-hpa WRQ octet
        run(["tftp", "-m", "binary", LAB_SERVER4, str(TFTP_PORT), "-c", "put", str(local / "put-hpa.bin"), "put-hpa.bin"])
        time.sleep(0.3)
        assert (root / "put-hpa.bin").read_bytes() == put_hpa
        transfers.append({"n": 5, "client": "tftp-hpa", "opcode": "WRQ", "filename": "put-hpa.bin", "mode": "octet",
                          "options": {}, "size": len(put_hpa), "sha256": sha256(put_hpa), "blksize": 512,
                          "blocks": len(put_hpa) // 512 + 1, "result": "ok"})
        # 6 curl WRQ with tsize (and blksize 512 asked explicitly)
        run(["curl", "-sS", "--tftp-blksize", "512", "-T", str(local / "put-curl.bin"), f"{curl_base}/put-curl.bin"])
        time.sleep(0.3)
        assert (root / "put-curl.bin").read_bytes() == put_curl
        transfers.append({"n": 6, "client": "curl", "opcode": "WRQ", "filename": "put-curl.bin", "mode": "octet",
                          "options": {"tsize": str(len(put_curl)), "blksize": "512", "timeout": "6"},
                          "oack": {"tsize": str(len(put_curl)), "blksize": "512", "timeout": "6"},
                          "size": len(put_curl), "sha256": sha256(put_curl), "blksize": 512,
                          "blocks": len(put_curl) // 512 + 1, "result": "ok"})
        # 7 file not found
        r = run(["tftp", "-m", "binary", LAB_SERVER4, str(TFTP_PORT), "-c", "get", "missing.bin", str(local / "missing.bin")],
                check=False)
        transfers.append({"n": 7, "client": "tftp-hpa", "opcode": "RRQ", "filename": "missing.bin", "mode": "octet",
                          "options": {}, "result": "error", "error_code": 1, "error_message": "File not found",
                          "client_said": (r.stdout + r.stderr).strip()})
    stop(server)
    write_expected(
        cap, ["tftp"],
        f"tftpd-hpa on {LAB_SERVER4}:{TFTP_PORT} (-c -s) in its own network namespace, clients on {LAB_CLIENT4}. Transfers in order: tftp-hpa RRQ octet; tftp-hpa RRQ netascii; "
        "curl RRQ with blksize 1024 + tsize; curl RRQ with blksize 8; tftp-hpa WRQ; curl WRQ with tsize and blksize; "
        "tftp-hpa RRQ of a missing file (ERROR 1). Each transfer runs on a new server port (TID).",
        {"debian": pkg_versions("tftpd-hpa", "tftp-hpa", "curl"), "curl": first_line(["curl", "--version"])},
        Lab.servers(("tftp", "tftpd-hpa", TFTP_PORT, "udp")),
        client_addr=LAB_CLIENT4,
        server_files={k: {"size": len(v), "sha256": sha256(v)} for k, v in files.items()},
        transfers=transfers,
        block_wrap="not recorded: wrapping the 16-bit block number needs more than 65535 DATA+ACK pairs; even with "
                   "blksize 8 that is over 131000 packets (about 7.6 MB of pcap), far above the 2 MB cap per capture",
    )


class TftpClient:
    """A TFTP client on one UDP socket (one local port for every request), in lock-step."""

    def __init__(self, host: str, port: int = 69) -> None:
        self.server = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(3.0)

    def get(self, name: str) -> tuple[bytes, tuple]:
        """RRQ ``name``; returns the data and the address the DATA came from."""
        self.sock.sendto(b"\0\1" + name.encode() + b"\0octet\0", self.server)
        data, expect = bytearray(), 1
        while True:
            pkt, who = self.sock.recvfrom(65536)
            assert pkt[:2] == b"\0\3", pkt
            block = int.from_bytes(pkt[2:4], "big")
            if block == expect:
                data += pkt[4:]
                expect += 1
            self.sock.sendto(b"\0\4" + pkt[2:4], who)
            if block == expect - 1 and len(pkt) - 4 < 512:
                return bytes(data), who

    def put(self, name: str, data: bytes) -> tuple:
        """WRQ ``name`` with ``data``; returns the address the ACKs came from."""
        self.sock.sendto(b"\0\2" + name.encode() + b"\0octet\0", self.server)
        pkt, who = self.sock.recvfrom(65536)
        assert pkt == b"\0\4\0\0", pkt
        for i in range(len(data) // 512 + 1):
            self.sock.sendto(b"\0\3" + (i + 1).to_bytes(2, "big") + data[i * 512:(i + 1) * 512], who)
            pkt, who2 = self.sock.recvfrom(65536)
            assert pkt == b"\0\4" + (i + 1).to_bytes(2, "big") and who2 == who, pkt
        return who

    def close(self) -> None:
        self.sock.close()


@scenario("tftp69")
def record_tftp69() -> None:
    """A server that answers from port 69 itself (samples/tftp69_server.py): an RRQ and an 87-byte WRQ from the
    same client port (one flow), then curl's RRQ and a missing file."""
    root = fresh(WORK / "tftp69" / "root")
    files = {"hello69.txt": seeded_text("tftp69-hello", 12).encode(), "curl69.bin": seeded_bytes("tftp69-curl", 1300)}
    for name, data in files.items():
        (root / name).write_bytes(data)
    upload = seeded_bytes("tftp69-upload", 87)
    server = start([sys.executable, str(HERE / "tftp69_server.py"), "127.0.0.1", str(root)], "tftp69")
    time.sleep(0.5)
    transfers: list[dict] = []
    with Capture("tftp69.pcap", "udp and host 127.0.0.1 and port 69") as cap:
        c = TftpClient("127.0.0.1")
        got, who = c.get("hello69.txt")
        assert got == files["hello69.txt"] and who[1] == 69
        n = len(got)
        transfers.append({"n": 1, "client": "samples/record.py TftpClient", "opcode": "RRQ", "filename": "hello69.txt",
                          "mode": "octet", "options": {}, "size": n, "sha256": sha256(got), "blocks": n // 512 + 1,
                          "client_port": c.sock.getsockname()[1], "server_port": who[1], "result": "ok"})
        who = c.put("upload87.bin", upload)
        time.sleep(0.3)
        assert (root / "upload87.bin").read_bytes() == upload and who[1] == 69
        transfers.append({"n": 2, "client": "samples/record.py TftpClient", "opcode": "WRQ", "filename": "upload87.bin",
                          "mode": "octet", "options": {}, "size": len(upload), "sha256": sha256(upload), "blocks": 1,
                          "client_port": c.sock.getsockname()[1], "server_port": who[1], "result": "ok",
                          "note": "the same client port as transfer 1: both are on one UDP flow"})
        c.close()
        out = WORK / "tftp69" / "curl69.bin"
        run(["curl", "-sS", "-o", str(out), "tftp://127.0.0.1/curl69.bin"])
        assert out.read_bytes() == files["curl69.bin"]
        n = len(files["curl69.bin"])
        transfers.append({"n": 3, "client": "curl", "opcode": "RRQ", "filename": "curl69.bin", "mode": "octet",
                          "options": {"tsize": "0", "blksize": "512", "timeout": "6"}, "size": n, "sha256": sha256(files["curl69.bin"]), "blocks": n // 512 + 1,
                          "server_port": 69, "result": "ok",
                          "note": "curl asks tsize, blksize and timeout; this server ignores options (no OACK)"})
        r = run(["curl", "-sS", "-o", str(WORK / "tftp69" / "missing.bin"), "tftp://127.0.0.1/missing.bin"],
                check=False)
        transfers.append({"n": 4, "client": "curl", "opcode": "RRQ", "filename": "missing.bin", "mode": "octet",
                          "options": {"tsize": "0", "blksize": "512", "timeout": "6"}, "result": "error", "error_code": 1, "error_message": "File not found",
                          "client_said": (r.stdout + r.stderr).strip()})
    stop(server)
    write_expected(
        cap, ["tftp"],
        "samples/tftp69_server.py on 127.0.0.1:69 answers every request from port 69 itself (not RFC 1350's new "
        "TID). Transfers in order: RRQ and an 87-byte WRQ from one client socket (one UDP flow); curl RRQ; curl RRQ "
        "of a missing file (ERROR 1).",
        {"python": sys.version.split()[0], "debian": pkg_versions("curl"), "curl": first_line(["curl", "--version"])},
        [{"service": "tftp", "software": "samples/tftp69_server.py", "addr": "127.0.0.1", "port": 69,
          "transport": "udp"}],
        server_files={k: {"size": len(v), "sha256": sha256(v)} for k, v in files.items()},
        transfers=transfers,
    )

# --------------------------------------------------------------------------- SNMP (net-snmp)

SNMP_PORT, SNMP_TRAP_PORT = 161, 162          # the lab
SNMP_COMMENT = ("SNMP lab: the manager on 10.20.0.2 asks net-snmp snmpd on 10.20.0.1:161: v1 get and a noSuchName, v2c "
                "walk and bulkwalk, v2c set, a wrong community (no answer), v3 authNoPriv get, v3 authPriv get and set; "
                "the agent's station sends a v1 trap, a v2c trap and a v2c inform to the manager's snmptrapd on port 162.")
SNMP_ENGINE_TEXT = "wiretale"
SNMP_V3 = {
    "authOnlyUser": {"level": "authNoPriv", "auth_protocol": "SHA", "auth_password": "auth-Pass-123"},
    "authPrivUser": {"level": "authPriv", "auth_protocol": "SHA", "auth_password": "auth-Pass-456",
                     "priv_protocol": "AES", "priv_password": "priv-Pass-789"},
}


def snmp_password_to_key(password: str, hash_name: str = "sha1") -> bytes:
    """RFC 3414 A.2: hash of the password repeated to 1 MiB (Ku)."""
    pw = password.encode()
    buf = (pw * (1048576 // len(pw) + 1))[:1048576]
    return hashlib.new(hash_name, buf).digest()


def snmp_localize(ku: bytes, engine_id: bytes, hash_name: str = "sha1") -> bytes:
    """RFC 3414 A.2: Kul = H(Ku || engineID || Ku)."""
    return hashlib.new(hash_name, ku + engine_id + ku).digest()


@scenario("snmp")
def record_snmp() -> None:
    with Lab():
        _record_snmp()


def _record_snmp() -> None:
    """The agent (snmpd) on the server, 10.20.0.1:161; the manager on the client, 10.20.0.2: it asks, and its
    snmptrapd on port 162 receives the traps and the inform the agent's station sends."""
    d = fresh(WORK / "snmp")
    persist = d / "persist"
    persist.mkdir()
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(persist), MIBS="", MIBDIRS="/nonexistent")
    u1, u2 = SNMP_V3["authOnlyUser"], SNMP_V3["authPrivUser"]
    (d / "snmpd.conf").write_text(f"""
agentaddress udp:{LAB_SERVER4}:{SNMP_PORT}
rocommunity public 10.20.0.0/24
rwcommunity private 10.20.0.0/24
engineID {SNMP_ENGINE_TEXT}
sysServices 72
createUser authOnlyUser SHA "{u1['auth_password']}"
createUser authPrivUser SHA "{u2['auth_password']}" AES "{u2['priv_password']}"
rouser authOnlyUser auth
rwuser authPrivUser priv
""")
    (d / "snmptrapd.conf").write_text("authCommunity log,execute,net public\n")
    agent = Lab.server(["snmpd", "-f", "-Lo", "-C", "-c", str(d / "snmpd.conf"), "-p", str(d / "snmpd.pid")], "snmpd", env=env)
    trapd = start(["ip", "netns", "exec", LAB_CLIENT_NS, "snmptrapd", "-f", "-Lo", "-C", "-c", str(d / "snmptrapd.conf"),
                   "-p", str(d / "snmptrapd.pid"), f"udp:{LAB_CLIENT4}:{SNMP_TRAP_PORT}"], "snmptrapd", env=env)
    Lab.wait(SNMP_PORT, udp=True)
    with Lab.client():
        wait_port(SNMP_TRAP_PORT, udp=True)
    time.sleep(1)
    agent_addr = f"udp:{LAB_SERVER4}:{SNMP_PORT}"
    trap_addr = f"udp:{LAB_CLIENT4}:{SNMP_TRAP_PORT}"
    v3a = ["-v3", "-l", "authNoPriv", "-u", "authOnlyUser", "-a", "SHA", "-A", u1["auth_password"]]
    v3p = ["-v3", "-l", "authPriv", "-u", "authPrivUser", "-a", "SHA", "-A", u2["auth_password"],
           "-x", "AES", "-X", u2["priv_password"]]
    contact = "wiretale admin <admin@example.test>"
    location = "Loopback lab, rack 1"
    sysname_v3 = "wiretale-v3-set"
    ops: list[dict] = []

    def snmp(tool: str, args: list[str], *, version: str, security: dict, pdu: str, varbinds: list[dict],
             note: str = "", check: bool = True) -> str:
        r = run([tool, "-On", "-t", "2", "-r", "0", *args], env=env, check=check)
        out = (r.stdout + r.stderr).strip()
        ops.append({"n": len(ops) + 1, "tool": tool, "version": version, **security, "pdu": pdu,
                    "varbinds": varbinds, "client_output": out.splitlines(), "note": note})
        return out

    with lab_capture("snmp.pcapng", f"udp port {SNMP_PORT} or udp port {SNMP_TRAP_PORT}", SNMP_COMMENT) as cap, \
            Lab.client():
        out = snmp("snmpget", ["-v1", "-c", "public", agent_addr, "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.5.0"],
                   version="1", security={"community": "public"}, pdu="get-request",
                   varbinds=[{"oid": "1.3.6.1.2.1.1.1.0", "name": "sysDescr.0"}, {"oid": "1.3.6.1.2.1.1.5.0", "name": "sysName.0"}])
        assert ".1.3.6.1.2.1.1.1.0 = STRING" in out, out
        out = snmp("snmpget", ["-v1", "-c", "public", agent_addr, "1.3.6.1.2.1.1.99.0"], version="1",
                   security={"community": "public"}, pdu="get-request", check=False,
                   varbinds=[{"oid": "1.3.6.1.2.1.1.99.0"}], note="no such OID: SNMPv1 answers error-status noSuchName(2)")
        assert "noSuchName" in out or "no such" in out.lower(), out
        out = snmp("snmpwalk", ["-v2c", "-c", "public", agent_addr, "1.3.6.1.2.1.1"], version="2c",
                   security={"community": "public"}, pdu="get-next-request (walk of system)", varbinds=[{"oid": "1.3.6.1.2.1.1"}])
        out = snmp("snmpbulkwalk", ["-v2c", "-c", "public", "-Cr5", agent_addr, "1.3.6.1.2.1.2.2.1.2"], version="2c",
                   security={"community": "public"}, pdu="get-bulk-request (max-repetitions 5, walk of ifDescr)",
                   varbinds=[{"oid": "1.3.6.1.2.1.2.2.1.2"}])
        out = snmp("snmpset", ["-v2c", "-c", "private", agent_addr, "1.3.6.1.2.1.1.4.0", "s", contact,
                               "1.3.6.1.2.1.1.6.0", "s", location], version="2c", security={"community": "private"},
                   pdu="set-request", varbinds=[{"oid": "1.3.6.1.2.1.1.4.0", "name": "sysContact.0", "type": "OCTET STRING", "value": contact},
                                                {"oid": "1.3.6.1.2.1.1.6.0", "name": "sysLocation.0", "type": "OCTET STRING", "value": location}])
        assert contact in out and location in out, out
        out = snmp("snmpget", ["-v2c", "-c", "wrong-community", agent_addr, "1.3.6.1.2.1.1.5.0"], version="2c",
                   security={"community": "wrong-community"}, pdu="get-request", check=False,
                   varbinds=[{"oid": "1.3.6.1.2.1.1.5.0"}], note="unknown community: the agent stays silent (timeout)")
        assert "Timeout" in out, out
        out = snmp("snmpget", [*v3a, agent_addr, "1.3.6.1.2.1.1.4.0"], version="3",
                   security={"user": "authOnlyUser", "security_level": "authNoPriv"}, pdu="get-request",
                   varbinds=[{"oid": "1.3.6.1.2.1.1.4.0", "name": "sysContact.0", "value": contact}],
                   note="engine discovery (empty-user request, report) first, then the authenticated get")
        assert contact in out, out
        out = snmp("snmpget", [*v3p, agent_addr, "1.3.6.1.2.1.1.6.0"], version="3",
                   security={"user": "authPrivUser", "security_level": "authPriv"}, pdu="get-request (encrypted)",
                   varbinds=[{"oid": "1.3.6.1.2.1.1.6.0", "name": "sysLocation.0", "value": location}])
        assert location in out, out
        out = snmp("snmpset", [*v3p, agent_addr, "1.3.6.1.2.1.1.5.0", "s", sysname_v3], version="3",
                   security={"user": "authPrivUser", "security_level": "authPriv"}, pdu="set-request (encrypted)",
                   varbinds=[{"oid": "1.3.6.1.2.1.1.5.0", "name": "sysName.0", "type": "OCTET STRING", "value": sysname_v3}])
        assert sysname_v3 in out, out
        with Lab.serving():                # traps and the inform come from the agent's station
            snmp("snmptrap", ["-v1", "-c", "public", trap_addr, "1.3.6.1.4.1.8072.2.3.1", LAB_SERVER4, "6", "17", "4242",
                              "1.3.6.1.4.1.8072.2.3.2.1", "s", "v1 trap from wiretale"], version="1",
                 security={"community": "public"}, pdu="trap (v1)",
                 varbinds=[{"oid": "1.3.6.1.4.1.8072.2.3.2.1", "type": "OCTET STRING", "value": "v1 trap from wiretale"}],
                 note=f"enterprise 1.3.6.1.4.1.8072.2.3.1, agent-addr {LAB_SERVER4}, generic 6 (enterpriseSpecific), specific 17, time-stamp 4242")
            snmp("snmptrap", ["-v2c", "-c", "public", trap_addr, "4343", "1.3.6.1.6.3.1.1.5.3",
                              "1.3.6.1.2.1.2.2.1.1.1", "i", "1", "1.3.6.1.2.1.2.2.1.7.1", "i", "2"], version="2c",
                 security={"community": "public"}, pdu="snmpV2-trap",
                 varbinds=[{"oid": "1.3.6.1.2.1.1.3.0", "name": "sysUpTime.0", "type": "TimeTicks", "value": "4343"},
                           {"oid": "1.3.6.1.6.3.1.1.4.1.0", "name": "snmpTrapOID.0", "type": "OID", "value": "1.3.6.1.6.3.1.1.5.3"},
                           {"oid": "1.3.6.1.2.1.2.2.1.1.1", "type": "INTEGER", "value": "1"},
                           {"oid": "1.3.6.1.2.1.2.2.1.7.1", "type": "INTEGER", "value": "2"}],
                 note="linkDown")
            snmp("snmpinform", ["-v2c", "-c", "public", trap_addr, "4444", "1.3.6.1.6.3.1.1.5.4",
                                "1.3.6.1.2.1.2.2.1.1.1", "i", "1"], version="2c",
                 security={"community": "public"}, pdu="inform-request (answered by a response)",
                 varbinds=[{"oid": "1.3.6.1.2.1.1.3.0", "name": "sysUpTime.0", "type": "TimeTicks", "value": "4444"},
                           {"oid": "1.3.6.1.6.3.1.1.4.1.0", "name": "snmpTrapOID.0", "type": "OID", "value": "1.3.6.1.6.3.1.1.5.4"},
                           {"oid": "1.3.6.1.2.1.2.2.1.1.1", "type": "INTEGER", "value": "1"}],
                 note="linkUp")
    # read the agent's engine ID outside the capture and check it against the computed one
    with Lab.client():
        eid_out = run(["snmpget", "-On", "-Ox", "-v2c", "-c", "public", agent_addr, "1.3.6.1.6.3.10.2.1.1.0"], env=env).stdout
    engine_id = bytes.fromhex("80001f8804") + SNMP_ENGINE_TEXT.encode()
    got = bytes.fromhex("".join(eid_out.split("Hex-STRING:")[1].split()))
    assert got == engine_id, (got.hex(), engine_id.hex())
    time.sleep(1)
    stop(agent)
    stop(trapd)
    trap_log = (LOG / "snmptrapd.log").read_text(errors="replace")
    assert "v1 trap from wiretale" in trap_log, trap_log[-2000:]
    users = []
    for name, u in SNMP_V3.items():
        ku = snmp_password_to_key(u["auth_password"])
        e = {"user": name, **u, "auth_key_ku": ku.hex(), "auth_key_localized": snmp_localize(ku, engine_id).hex()}
        if "priv_password" in u:
            kp = snmp_password_to_key(u["priv_password"])
            e["priv_key_ku"] = kp.hex()
            e["priv_key_localized"] = snmp_localize(kp, engine_id).hex()
            e["aes128_key"] = snmp_localize(kp, engine_id)[:16].hex()
        users.append(e)
    write_expected(
        cap, ["snmp"],
        f"net-snmp snmpd on {LAB_SERVER4}:{SNMP_PORT} (communities public/private, USM users authOnlyUser and "
        f"authPrivUser, engine ID from the text '{SNMP_ENGINE_TEXT}') and snmptrapd on the manager, {LAB_CLIENT4}:{SNMP_TRAP_PORT} "
        f"(a lab of two network namespaces; the manager asks from {LAB_CLIENT4}, the traps and the inform come from "
        f"{LAB_SERVER4}). "
        "v1 get (and a noSuchName error), v2c walk and bulkwalk, v2c set of sysContact and sysLocation, a get with a "
        "wrong community (no answer), v3 authNoPriv get, v3 authPriv get and set, v1 trap, v2c trap, v2c inform. "
        "Recorded with dumpcap as pcapng.",
        {"debian": pkg_versions("snmpd", "snmp", "snmptrapd"), "net-snmp": first_line(["snmpget", "--version"])},
        Lab.servers(("snmp", "net-snmp snmpd", SNMP_PORT, "udp"))
        + [{"service": "snmp-trap", "software": "net-snmp snmptrapd", "addr": LAB_CLIENT4, "port": SNMP_TRAP_PORT,
            "transport": "udp", "netns": LAB_CLIENT_NS, "note": "the manager's trap receiver"}],
        client_addr=LAB_CLIENT4,
        communities={"read": "public", "write": "private", "trap": "public"},
        engine_id=engine_id.hex(),
        usm_users=users,
        operations=ops,
        values_set=[{"oid": "1.3.6.1.2.1.1.4.0", "name": "sysContact.0", "value": contact, "version": "2c"},
                    {"oid": "1.3.6.1.2.1.1.6.0", "name": "sysLocation.0", "value": location, "version": "2c"},
                    {"oid": "1.3.6.1.2.1.1.5.0", "name": "sysName.0", "value": sysname_v3, "version": "3 authPriv"}],
        credentials=[
            {"protocol": "snmp", "kind": "community", "username": "", "password": "public", "success": True},
            {"protocol": "snmp", "kind": "community", "username": "", "password": "private", "success": True},
            {"protocol": "snmp", "kind": "community", "username": "", "password": "wrong-community", "success": False},
            {"protocol": "snmp", "kind": "usm", "username": "authOnlyUser", "password": u1["auth_password"], "success": True},
            {"protocol": "snmp", "kind": "usm", "username": "authPrivUser", "password": u2["auth_password"], "success": True},
        ],
        keys_note="Ku = SHA-1 of the password repeated to 1 MiB; localized = SHA-1(Ku || engineID || Ku) (RFC 3414 A.2); "
                  "AES-128 uses the first 16 bytes of the localized privacy key (RFC 3826)",
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
