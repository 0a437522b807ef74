"""The recorded samples in samples/: readable, listed, with complete ground truth.

These tests use only the committed files (CI never runs the recording script):
- every capture opens with dpkt and holds packets; size caps (2 MB each, 20 MB in all);
- every capture is listed in samples/README.md and has samples/expected/<stem>.json whose
  capture_sha256 is the committed file's (so facts and capture cannot drift apart);
- the JSON has the keys its protocols need (REQUIRED below), with well-formed sha256 values;
- cleartext credentials the script used really are in the capture bytes (an oracle
  independent of wiretale), SNMPv3 keys follow RFC 3414 A.2 (checked on the RFC's own
  test vector first);
- acceptance 1: tshark's protocol hierarchy (-z io,phs) recognises each capture's
  protocols, with the -d decode-as list of the JSON for the unusual ports (skipped when
  tshark is absent);
- issue 29: the lab samples (server and client in two network namespaces) are pcapng with
  their capture comment, servers on the standard ports, and tshark's hierarchy names their
  protocols with no -d at all (acceptance 2); ftp-ipv6.pcapng stays on an unusual port.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from pathlib import Path

import dpkt
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
EXPECTED = SAMPLES / "expected"
README = SAMPLES / "README.md"

CAPTURES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".pcap", ".pcapng"))
IDS = [p.name for p in CAPTURES]
NINE = {"smtp", "pop3", "imap", "ftp", "http", "telnet", "tftp", "dns", "snmp"}

COMMON = ("capture", "format", "interface", "link_type", "capture_filter", "capture_sha256",
          "tshark_decode_as", "protocols", "description", "recorded_with", "software", "servers")

# protocol -> top-level keys, and for list-valued keys the keys each item needs
REQUIRED: dict[str, dict[str, tuple[str, ...]]] = {
    "dns": {"zone": (), "queries": ("qname", "qtype", "rcode", "answers", "transport")},
    "llmnr": {"queries": ("qname", "qtype", "answers")},
    "portmapper": {"servers": ("service", "port")},
    "mount": {"export": ()},
    "nfs": {"server_files": ()},
    "smtp": {"messages": ("mail_from", "rcpt_to", "subject", "message_id", "size", "sha256", "attachments"),
             "credentials": ("username", "password", "mechanism", "success"), "sessions": ()},
    "pop3": {"mailbox": (), "sessions": ("commands",), "credentials": ("username", "password", "success")},
    "imap": {"mailbox": (), "appended": ("mailbox", "size", "sha256"), "sessions": ("commands",),
             "credentials": ("username", "password", "success")},
    "ftp": {"transfers": ("command", "path", "direction", "mode", "data_channel", "size", "sha256"),
            "server_files": (), "credentials": ("username", "password", "success"), "sessions": ("commands",)},
    "ftp-data": {"transfers": ()},
    "http": {"requests": ("method", "url", "status"), "server_files": (),
             "credentials": ("username", "password", "success")},
    "telnet": {"credentials": ("username", "password", "success"), "commands": ("command", "output"), "typed": ()},
    "tftp": {"transfers": ("opcode", "filename", "mode", "options", "result"), "server_files": ()},
    "websocket": {"messages": ("connection", "direction", "opcode", "length", "sha256"), "closes": ("code",)},
    "tls": {"sessions": ("tls_version", "cipher", "alpn"), "requests": ("method", "url", "status", "http_version"),
            "server_files": ()},
    "snmp": {"operations": ("version", "pdu", "varbinds"), "values_set": ("oid", "value"), "engine_id": (),
             "usm_users": ("user", "auth_password", "auth_key_localized"), "communities": (),
             "credentials": ("password", "success")},
}
# our protocol name -> the layer name in tshark's protocol hierarchy
TSHARK_LAYER = {"portmapper": "portmap", "mount": "mount", "nfs": "nfs", "smtp": "smtp", "pop3": "pop", "imap": "imap", "ftp": "ftp", "ftp-data": "ftp-data",
                "http": "http", "telnet": "telnet", "tftp": "tftp", "dns": "dns", "snmp": "snmp", "tls": "tls", "llmnr": "llmnr",
                "websocket": "websocket"}
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def expected(cap: Path) -> dict:
    return json.loads((EXPECTED / (cap.stem + ".json")).read_text())


def packets(cap: Path) -> list[bytes]:
    with cap.open("rb") as f:
        reader = dpkt.pcapng.Reader(f) if cap.suffix == ".pcapng" else dpkt.pcap.Reader(f)
        return [bytes(buf) for _, buf in reader]


def test_samples_exist():
    assert len(CAPTURES) >= 9
    covered = set().union(*(expected(c)["protocols"] for c in CAPTURES))
    assert NINE <= covered, NINE - covered


@pytest.mark.parametrize("cap", CAPTURES, ids=IDS)
def test_readable_and_small(cap):
    pkts = packets(cap)
    assert len(pkts) > 5
    assert cap.stat().st_size <= 2 * 1024 * 1024


def test_total_size():
    assert sum(c.stat().st_size for c in CAPTURES) < 20 * 1024 * 1024


def test_link_layer_variety():
    docs = [expected(c) for c in CAPTURES]
    assert any(d["link_type"] == "linux-sll2" for d in docs)
    assert any(d["format"] == "pcapng" for d in docs)
    with (SAMPLES / "dns.pcapng").open("rb") as f:
        assert dpkt.pcapng.Reader(f).datalink() == 276        # LINKTYPE_LINUX_SLL2


@pytest.mark.parametrize("cap", CAPTURES, ids=IDS)
def test_listed_in_readme(cap):
    text = README.read_text()
    assert cap.name in text
    assert f"expected/{cap.stem}.json" in text


def test_no_stray_expected():
    names = {c.stem for c in CAPTURES}
    assert {p.stem for p in EXPECTED.glob("*.json")} == names


def _check_sha_fields(obj, where="$"):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "sha256" or k.endswith("_sha256"):
                assert isinstance(v, str) and SHA_RE.match(v), f"{where}.{k} = {v!r}"
            else:
                _check_sha_fields(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_sha_fields(v, f"{where}[{i}]")


@pytest.mark.parametrize("cap", CAPTURES, ids=IDS)
def test_expected_complete(cap):
    doc = expected(cap)
    for key in COMMON:
        assert key in doc, f"missing {key}"
    assert doc["capture"] == cap.name
    assert doc["capture_sha256"] == hashlib.sha256(cap.read_bytes()).hexdigest(), \
        "capture changed without re-recording its expected JSON"
    assert doc["format"] == ("pcapng" if cap.suffix == ".pcapng" else "pcap")
    assert doc["software"] and doc["servers"]
    for srv in doc["servers"]:
        if srv.get("netns", "").startswith("wtlab-"):  # a lab: its own addresses (a backend: the server's loopback)
            assert srv["addr"] in LAB_SERVER_ADDRS + LAB_CLIENT_ADDRS + ("127.0.0.1", "::1"), srv
        else:
            assert srv["addr"] in ("127.0.0.1", "::1"), "servers must be on loopback"
    for proto in doc["protocols"]:
        assert proto in REQUIRED, proto
        for key, item_keys in REQUIRED[proto].items():
            assert key in doc and doc[key], f"{proto}: missing or empty {key}"
            if item_keys:
                for item in doc[key]:
                    for ik in item_keys:
                        assert ik in item, f"{proto}: {key} item lacks {ik}: {item}"
    _check_sha_fields(doc)
    keylog = doc.get("tls_keylog")
    if keylog:
        assert (ROOT / keylog).read_text().count("CLIENT_") >= 1


def test_smtp_facts_are_self_consistent():
    doc = expected(SAMPLES / "smtp.pcapng")
    mime = doc["messages"][0]
    names = [a["filename"] for a in mime["attachments"]]
    assert len(names) == 2 and any(not n.isascii() for n in names)   # the RFC 2231 one
    assert mime["rejected_rcpt"] and any(m["tls"] for m in doc["messages"])
    assert {c["mechanism"] for c in doc["credentials"]} >= {"PLAIN", "LOGIN"}


def _raw(cap: Path) -> bytes:
    return b"".join(packets(cap))


@pytest.mark.parametrize("name", ["ftp.pcapng", "ftp-ipv6.pcapng", "imap.pcapng", "pop3.pcapng"])
def test_cleartext_passwords_on_the_wire(name):
    cap = SAMPLES / name
    raw = _raw(cap)
    for c in expected(cap)["credentials"]:
        if "TLS" in c.get("note", "") or c.get("mechanism") == "APOP":
            continue
        assert c["password"].encode() in raw, c


def test_http_basic_and_smtp_auth_on_the_wire():
    raw = _raw(SAMPLES / "http.pcapng")
    for c in expected(SAMPLES / "http.pcapng")["credentials"]:
        assert base64.b64encode(f"{c['username']}:{c['password']}".encode()) in raw
    raw = _raw(SAMPLES / "smtp.pcapng")
    for c in expected(SAMPLES / "smtp.pcapng")["credentials"]:
        if c["mechanism"] == "PLAIN" and "TLS" not in c.get("note", ""):
            assert base64.b64encode(f"\0{c['username']}\0{c['password']}".encode()) in raw
        elif c["mechanism"] == "LOGIN":
            assert base64.b64encode(c["password"].encode()) in raw


def test_dns_names_on_the_wire():
    raw = _raw(SAMPLES / "dns.pcapng")
    for q in expected(SAMPLES / "dns.pcapng")["queries"]:
        wire = b"".join(bytes([len(l)]) + l.encode() for l in q["qname"].rstrip(".").split("."))
        assert wire in raw, q["qname"]


def _ku(password: str) -> bytes:
    pw = password.encode()
    return hashlib.sha1((pw * (1048576 // len(pw) + 1))[:1048576]).digest()


def test_snmpv3_keys_follow_rfc3414():
    # RFC 3414 A.3.2 test vector first, so the check itself is checked
    ku = _ku("maplesyrup")
    assert ku.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    engine = bytes.fromhex("000000000000000000000002")
    assert hashlib.sha1(ku + engine + ku).hexdigest() == "6695febc9288e36282235fc7151f128497b38f3f"
    doc = expected(SAMPLES / "snmp.pcapng")
    engine = bytes.fromhex(doc["engine_id"])
    raw = _raw(SAMPLES / "snmp.pcapng")
    assert engine in raw                        # msgAuthoritativeEngineID on the wire
    for u in doc["usm_users"]:
        ku = _ku(u["auth_password"])
        assert u["auth_key_localized"] == hashlib.sha1(ku + engine + ku).hexdigest()
        assert u["user"].encode() in raw
        if "priv_password" in u:
            kp = _ku(u["priv_password"])
            assert u["aes128_key"] == hashlib.sha1(kp + engine + kp).hexdigest()[:32]


# the lab recordings (samples/record.py's Lab): server and client in two network namespaces
LAB_NETNS = "wtlab-server"
LAB_SERVER_ADDRS = ("10.20.0.1", "fd00:20::1")
LAB_CLIENT_ADDRS = ("10.20.0.2", "fd00:20::2")      # a server there: SNMP's trap receiver, on the manager
STANDARD_PORTS = {"ftp": 21, "smtp": 25, "pop3": 110, "imap": 143, "http": 80, "telnet": 23, "tftp": 69,
                  "dns": 53, "snmp": 161, "snmp-trap": 162}
LAB = [c for c in CAPTURES if expected(c).get("netns") == LAB_NETNS]


def _phs(tshark: str, cap: Path, decode_as: list[str]) -> str:
    cmd = [tshark, "-r", str(cap), "-q", "-z", "io,phs"]
    for d in decode_as:
        cmd += ["-d", d]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.mark.parametrize("cap", CAPTURES, ids=IDS)
def test_tshark_recognises_protocols(cap, tshark):
    doc = expected(cap)
    out = _phs(tshark, cap, doc["tshark_decode_as"])
    layers = {line.split()[0] for line in out.splitlines() if "frames:" in line}
    for proto in doc["protocols"]:
        assert TSHARK_LAYER[proto] in layers, f"{proto} not in {sorted(layers)}"


@pytest.mark.parametrize("cap", LAB, ids=[c.name for c in LAB])
def test_lab_sample_on_standard_ports_with_a_comment(cap):
    doc = expected(cap)
    assert doc["format"] == "pcapng" and doc["tshark_decode_as"] == []
    for srv in doc["servers"]:
        if srv["addr"] in LAB_SERVER_ADDRS + LAB_CLIENT_ADDRS:
            assert srv["port"] == STANDARD_PORTS[srv["service"]], srv
    comment = doc["capture_comment"]
    assert len(comment) > 40 and comment.encode() in cap.read_bytes()     # in the section header block


@pytest.mark.parametrize("cap", LAB, ids=[c.name for c in LAB])
def test_lab_sample_named_by_tshark_without_decode_as(cap, tshark):
    """Issue 29, acceptance 2: no -d at all, tshark's hierarchy names every protocol of the lab."""
    out = _phs(tshark, cap, [])
    layers = {line.split()[0] for line in out.splitlines() if "frames:" in line}
    for proto in expected(cap)["protocols"]:
        assert TSHARK_LAYER[proto] in layers, f"{proto} not in {sorted(layers)}"
    assert not _unnamed_payload(out), "TCP or UDP payload tshark cannot name"


def _unnamed_payload(phs: str) -> list[str]:
    """``data`` right under tcp or udp in a protocol hierarchy: payload of no protocol tshark knows
    (``data`` deeper down is a body, e.g. an HTTP octet-stream)."""
    stack: list[tuple[int, str]] = []
    found = []
    for line in phs.splitlines():
        if "frames:" not in line:
            continue
        depth, name = len(line) - len(line.lstrip()), line.split()[0]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if name == "data" and stack and stack[-1][1] in ("tcp", "udp"):
            found.append(line.strip())
        stack.append((depth, name))
    return found


def test_one_sample_kept_on_unusual_ports(tshark):
    """ftp-ipv6.pcapng stays on port 10021: tshark needs -d there, wiretale finds FTP by content."""
    cap = SAMPLES / "ftp-ipv6.pcapng"
    doc = expected(cap)
    assert doc["tshark_decode_as"] and cap not in LAB
    layers = {line.split()[0] for line in _phs(tshark, cap, []).splitlines() if "frames:" in line}
    assert "ftp" not in layers
