"""FTP and Telnet through the whole pipeline, on the public captures and the samples.

Oracles: ``tshark --export-objects ftp-data`` (bytes of exported objects), the
payloads written by the capture authors (ftp-ipv6-all-data.pcap says
"STOR payload …" in the STOR's data), and samples/expected/ftp*.json (sha256 of
every file the recording script sent or fetched, the server's directory).

Documented exceptions
    * tshark 4.0 exports the ftp-data object of ftp-multi-transfer.pcap without
      its last segment (108000 of the 109440 bytes the capture holds; the
      capture stops mid-transfer): ours must start with tshark's object.
    * ftp-data-upload-failed.pcap holds a data connection without its control
      connection: nothing links it, wiretale leaves it a raw flow and tshark
      exports nothing either.
    * telnet-honeynet-challenge.pcap is a CVE-2011-4862 exploit (ENCRYPT
      ENC_KEYID of 482 bytes, shellcode containing IAC bytes inside the
      subnegotiation): ``telnet_encrypt_keyid_oversized`` and
      ``telnet_sb_malformed`` are real. telnet-option-on-ftp-port.pcap sends an
      AUTHENTICATION REPLY without its type pair: ``telnet_auth_malformed`` is real.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, shared_captures

api = pytest.importorskip("decoder.api")

TRANSFER = ("RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD")
FTP_WITH_DATA = [p for p in shared_captures("*") if p.name in {
    "ftp-flashfxp-download.pcap", "ftp-ticked-off-developer.pcapng", "ftp-multi-transfer.pcap",
    "ftp-active-retr.pcap", "ftp-active-stor.pcap", "ftp-passive-retr.pcap",
    "ftp-ipv6-all-data.pcap", "http-smtp-ftp-hackchallenge.pcap"}]
TSHARK_PREFIX_ONLY = {("ftp-multi-transfer.pcap", "1MB.zip")}

_cache: dict[Path, object] = {}


def analyzed(path: Path, tmp_root: Path):
    if path not in _cache:
        out = tmp_root / path.name
        _cache[path] = (api.analyze(str(path), out_dir=str(out)), out)
    return _cache[path]


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory):
    return tmp_path_factory.mktemp("ftp_telnet")


def _records(df) -> list[dict]:
    return [] if df is None else df.to_dict("records")


def _file_bytes(out: Path, row: dict) -> bytes:
    p = Path(row["path"])
    if not p.is_absolute():
        p = out / p
    return p.read_bytes()


def _transfers(res) -> list[dict]:
    return [r for r in _records(res.tables.get("ftp")) if r["command"] in TRANSFER]


# ---------------------------------------------------------------- acceptance 1
@pytest.mark.parametrize("cap", FTP_WITH_DATA, ids=lambda p: p.name)
def test_files_extracted_and_identical_to_tshark(cap, tshark, tmp_root):
    res, out = analyzed(cap, tmp_root)
    files = [f for f in _records(res.tables["files"]) if f["source"] == "FTP_DATA"]
    assert files, "no FTP data file extracted"
    # every data connection in the capture became a file linked to a command
    conns = [c for c in _records(res.tables["conn"]) if c["service"] == "ftp-data"]
    linked = {(r.get("data_channel") or {}).get("uid") for r in _transfers(res)}
    assert {c["uid"] for c in conns if (c.get("orig_bytes") or 0) + (c.get("resp_bytes") or 0)} \
        <= linked
    exp_dir = tmp_root / f"tshark-{cap.name}"
    exp_dir.mkdir(exist_ok=True)
    subprocess.run([tshark, "-r", str(cap), "-q", "--export-objects", f"ftp-data,{exp_dir}"],
                   check=True, capture_output=True, timeout=120)
    for theirs in sorted(exp_dir.iterdir()):
        data = theirs.read_bytes()
        ours = [_file_bytes(out, f) for f in files if f.get("filename") == theirs.name]
        assert ours, f"tshark exported {theirs.name}, we have no file of that name"
        if (cap.name, theirs.name) in TSHARK_PREFIX_ONLY:
            assert any(o.startswith(data) and len(o) >= len(data) for o in ours)
        else:
            assert data in ours, f"{theirs.name}: bytes differ from tshark's export"


@pytest.mark.parametrize("name,modes", [
    ("ftp-active-retr.pcap", {"PORT"}),
    ("ftp-active-stor.pcap", {"PORT"}),
    ("ftp-passive-retr.pcap", {"PASV"}),
    ("ftp-ipv6-all-data.pcap", {"EPSV", "EPRT"}),
    ("http-smtp-ftp-hackchallenge.pcap", {"PORT"}),
])
def test_every_transfer_linked_to_its_command(name, modes, tmp_root):
    caps = [p for p in FTP_WITH_DATA if p.name == name]
    if not caps:
        pytest.skip("shared capture absent")
    res, out = analyzed(caps[0], tmp_root)
    rows = _records(res.tables["ftp"])
    seen_modes = {r["command"] for r in rows if r["command"] in ("PORT", "PASV", "EPRT", "EPSV")}
    assert modes <= seen_modes
    files = {f["fuid"]: f for f in _records(res.tables["files"])}
    transfers = _transfers(res)
    assert transfers
    for r in transfers:
        assert r["data_status"] == "complete", r
        assert (r.get("data_channel") or {}).get("uid"), r
        f = files[r["fuid"]]
        assert f["uid"] == r["data_channel"]["uid"]
        if name == "ftp-ipv6-all-data.pcap" and r["command"] in ("STOR", "APPE", "STOU"):
            # the capture's authors wrote the command into each upload's payload
            assert _file_bytes(out, f).startswith(f"{r['command']} payload".encode()), r
    if name == "ftp-ipv6-all-data.pcap":
        ipv6 = [r for r in transfers if ":" in (r["data_channel"].get("resp_h") or "")]
        assert len(ipv6) == len(transfers) == 14
        listing = _records(res.tables.get("ftp_listing"))
        assert {r["command"] for r in listing} == {"LIST", "NLST", "MLSD"}


def test_data_connection_never_arrives_in_epsv_capture(tmp_root):
    caps = shared_captures("ftp-epsv.pcap")
    if not caps:
        pytest.skip("shared capture absent")
    res, _ = analyzed(caps[0], tmp_root)
    st = {(r["command"], r["arg"]): r["data_status"] for r in _transfers(res)}
    assert st[("RETR", "resume.doc")] == "no_data_connection"
    assert st[("STOR", "README")] == "no_data_connection"


def test_truncated_transfer_is_partial(tmp_root):
    caps = [p for p in FTP_WITH_DATA if p.name in ("ftp-multi-transfer.pcap",
                                                    "ftp-flashfxp-download.pcap")]
    if not caps:
        pytest.skip("shared capture absent")
    for cap in caps:
        res, _ = analyzed(cap, tmp_root)
        retr = [r for r in _transfers(res) if r["command"] == "RETR"]
        assert retr and all(r["data_status"] == "partial" for r in retr)


def test_telnet_on_ftp_port_goes_to_telnet(tmp_root):
    caps = shared_captures("telnet-option-on-ftp-port.pcap")
    if not caps:
        pytest.skip("shared capture absent")
    res, _ = analyzed(caps[0], tmp_root)
    assert list(res.tables["conn"]["service"]) == ["telnet"]
    assert set(res.tables["anomalies"]["name"]) == {"telnet_auth_malformed"}


# ---------------------------------------------------------------- acceptance 2 (samples)
SAMPLE_FTP = [(SAMPLES / n) for n in ("ftp.pcapng", "ftp-ipv6.pcapng") if (SAMPLES / n).exists()]


@pytest.mark.parametrize("cap", SAMPLE_FTP, ids=lambda p: p.name)
def test_samples_sha256_listing_and_credentials(cap, tmp_root):
    exp = json.loads((SAMPLES / "expected" / (cap.stem + ".json")).read_text())
    res, out = analyzed(cap, tmp_root)
    rows = _records(res.tables["ftp"])
    files = {f["fuid"]: f for f in _records(res.tables["files"])}
    for t in exp.get("transfers", []):
        # without a PWD/CWD in the session the working directory is unknown and
        # the path stays relative (ftp-ipv6.pcapng)
        cands = [r for r in rows if r["command"] == t["command"]
                 and (r.get("path") == t["path"]
                      or (r.get("cwd") is None and "/" + str(r.get("path")) == t["path"]))
                 and r.get("fuid") and files[r["fuid"]]["sha256"] == t["sha256"]]
        assert cands, f"no {t['command']} {t['path']} with sha256 {t['sha256'][:12]}"
        assert files[cands[0]["fuid"]]["seen_bytes"] == t["size"]
        assert cands[0]["data_status"] == "complete"
    listing = _records(res.tables.get("ftp_listing"))
    for sess in exp.get("sessions", []):
        for cmd, entries in (sess.get("listings") or {}).items():
            names = {r["name"] for r in listing if r["command"] == cmd
                     and r.get("type") not in ("cdir", "pdir")}
            want = {e.split()[-1] if cmd == "LIST" else e for e in entries}
            assert want <= names, (cmd, want - names)
    creds = {(c["username"], c["secret"], c["success"])
             for c in _records(res.tables["credentials"]) if c["protocol"] == "ftp"}
    for c in exp.get("credentials", []):
        assert (c["username"], c["password"], c["success"]) in creds


# ---------------------------------------------------------------- Telnet
KNOWN_TELNET_ANOMALIES = {
    "telnet-hackers-view.pcap": set(),
    "telnet-honeynet-challenge.pcap": {"telnet_encrypt_keyid_oversized", "telnet_sb_malformed"},
}


@pytest.mark.parametrize("cap", [p for p in shared_captures("telnet-*")
                                 if p.name in KNOWN_TELNET_ANOMALIES], ids=lambda p: p.name)
def test_shared_telnet_captures(cap, tmp_root):
    res, _ = analyzed(cap, tmp_root)
    assert "telnet" in set(res.tables["conn"]["service"])
    names = set(res.tables["anomalies"]["name"]) if len(res.tables["anomalies"]) else set()
    assert names == KNOWN_TELNET_ANOMALIES[cap.name]
    (row,) = _records(res.tables["telnet"])
    if cap.name == "telnet-hackers-view.pcap":
        # from the bytes: "Username: " admin (echoed), "Password: " barrymn<BS>anilow
        assert row["user"] == "admin" and row["login_success"] is True
        assert row["options_agreed"] == ["server ECHO"]
        creds = _records(res.tables["credentials"])
        assert [(c["username"], c["secret"], c["success"]) for c in creds] == [
            ("admin", "barrymanilow", True)]
        assert row["echo_bytes"] == len(b"admin\n")
    else:
        # an exploit, not a login: no credential, but the overflow is visible
        assert not len(res.tables["credentials"])
        tl = res.tables["timeline"]
        assert (tl["summary"] == "client SB ENCRYPT ENC_KEYID (482 bytes)").sum() == 2
