"""TLS handshakes against tshark: for every TLS session of the samples and of the shared captures that
hold TLS, our ``tls`` row equals what tshark reads from the ClientHello, ServerHello and Certificate
messages (server name, versions offered and chosen, cipher suites, ALPN, certificate chain); with the
samples' key logs (``-o tls.keylog_file:``) the same holds for what only decryption shows (TLS 1.3's
certificate), and nothing is invented without keys (no certificate, no ALPN that the capture does not
show in the clear)."""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, shared_captures

TLS_SAMPLES = [p for p in sorted(SAMPLES.glob("*.pcap*")) if (SAMPLES / "keys" / f"{p.stem}.keylog").exists()]
SHARED_TLS = [p for p in shared_captures() if p.name in (
    "smtp-starttls.pcap", "pop3-stls.pcap", "imap-client-and-smtp.pcapng", "smtp-errors-multi-conn.pcap")]

_FIELDS = ("tcp.srcport", "tcp.dstport", "tls.handshake.type", "tls.handshake.version",
           "tls.handshake.extensions.supported_version", "tls.handshake.ciphersuite",
           "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
           "tls.handshake.certificate")


def _decode_as(cap: Path) -> list[str]:
    doc = SAMPLES / "expected" / f"{cap.stem}.json"
    if cap.parent == SAMPLES and doc.exists():
        return [a for d in json.loads(doc.read_text())["tshark_decode_as"] for a in ("-d", d)]
    return []


def _tshark_sessions(tshark: str, cap: Path, keylog: Path | None) -> dict[tuple[int, int], dict]:
    """(client port, server port) → what tshark's handshake messages say."""
    args = [tshark, "-n", "-r", str(cap), *_decode_as(cap), "-Y", "tls.handshake", "-T", "fields",
            "-E", "separator=\t", "-E", "aggregator=|"]
    if keylog is not None:
        args += ["-o", f"tls.keylog_file:{keylog}"]
    for f in _FIELDS:
        args += ["-e", f]
    text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    out: dict[tuple[int, int], dict] = {}
    for line in text.splitlines():
        sport, dport, types, vers, svers, suites, sni, alpn, certs = (line.split("\t") + [""] * 9)[:9]
        types_l = types.split("|")
        if "1" in types_l:
            s = out.setdefault((int(sport), int(dport)), {})
            s["client_version"] = int(vers.split("|")[0], 16)
            s["client_versions"] = [int(v, 16) for v in svers.split("|") if v]
            s["client_ciphers"] = len(suites.split("|"))
            s["server_name"] = sni or None
            s["client_alpn"] = alpn.split("|") if alpn else []
        elif "2" in types_l or certs:
            s = out.setdefault((int(dport), int(sport)), {})
            if "2" in types_l:
                s["version"] = int(svers.split("|")[0], 16) if svers else int(vers.split("|")[0], 16)
                s["cipher"] = int(suites.split("|")[0], 16)
                s["next_protocol"] = alpn or None
            if certs:
                s["cert_chain_fps"] = [hashlib.sha256(bytes.fromhex(c.replace(":", ""))).hexdigest()
                                       for c in certs.split("|")]
    return out


def _ours(cap: Path, keylog: Path | None) -> dict[tuple[int, int], dict]:
    from decoder.api import analyze
    from dissectors._tls_wire import CIPHER_SUITES, VERSIONS

    by_name = {v: k for k, v in VERSIONS.items()}
    suites = {v: k for k, v in CIPHER_SUITES.items()}
    with analyze(cap, strict=True, keylogs=[keylog] if keylog else []) as a:
        rows = a.rows.get("tls", [])
    out = {}
    for r in rows:
        s = {"client_version": by_name[r["client_version"]],
             "client_versions": [by_name[v] for v in r["client_versions"]],
             "client_ciphers": r["client_ciphers"], "server_name": r["server_name"],
             "client_alpn": r["client_alpn"]}
        if r["version"] is not None:
            s.update(version=by_name[r["version"]], cipher=suites.get(r["cipher"], r["cipher"]),
                     next_protocol=r["next_protocol"])
        if r["cert_chain_fps"]:
            s["cert_chain_fps"] = r["cert_chain_fps"]
        out[(r["orig_p"], r["resp_p"])] = s
    return out


def _tshark_greased(d: dict) -> dict:
    from dissectors._tls_wire import GREASE

    d = dict(d)
    if "client_versions" in d:
        d["client_versions"] = [v for v in d["client_versions"] if v not in GREASE]
    return d


@pytest.mark.parametrize("cap", TLS_SAMPLES + SHARED_TLS, ids=lambda p: p.name)
def test_handshake_without_keys_equals_tshark(cap, tshark):
    theirs = {k: _tshark_greased(v) for k, v in _tshark_sessions(tshark, cap, None).items()}
    ours = _ours(cap, None)
    if cap.name == "smtp-errors-multi-conn.pcap":
        # a client sends a ClientHello after a cleartext SMTP greeting on port 465 without STARTTLS: the
        # SMTP dissector keeps the flow (it was confirmed by the greeting) and reports the binary line
        assert ours == {} and len(theirs) == 1
        return
    assert theirs, "tshark found no TLS handshake"
    assert ours == theirs


@pytest.mark.parametrize("cap", TLS_SAMPLES, ids=lambda p: p.name)
def test_handshake_with_keys_equals_tshark(cap, tshark):
    keylog = SAMPLES / "keys" / f"{cap.stem}.keylog"
    theirs = {k: _tshark_greased(v) for k, v in _tshark_sessions(tshark, cap, keylog).items()}
    ours = _ours(cap, keylog)
    assert ours == theirs
    assert all("cert_chain_fps" in s for s in ours.values())
    # TLS 1.3's certificate is encrypted: read only with the keys, never shown without them
    assert not any("cert_chain_fps" in s or s["next_protocol"] for s in _ours(cap, None).values()
                   if s.get("version") == 0x0304)
