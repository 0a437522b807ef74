"""NFS on samples/nfs-tcp.pcap and samples/nfs-udp.pcap (issue 27, acceptance 2) against tshark and the
recorder's facts (``samples/record_nfs.py``).

Every RPC call and reply equals tshark's ``rpc.xid``, ``rpc.program``, ``rpc.programversion``,
``rpc.procedure`` and ``rpc.state_accept``; the round-trip time tshark's ``rpc.time``; every name
argument tshark's ``nfs.name``; every status ``nfs.status`` (v2/v3), ``nfs.nfsstat4`` (v4) or
``mount.status``. The files extracted equal what the clients read and wrote (sha256 from the JSON), and
the NFS server on port 12049, which no port rule knows, is reached through the portmapper's answers.
"""
from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest

from dissectors._nfs_procs import PROGRAMS
from tests.conftest import SAMPLES
from tests.oracle.tshark import fields
from tests.samples_truth import file_bytes, load, sha256

CAPTURES = ("nfs-tcp.pcap", "nfs-udp.pcap")
FIELDS = ("rpc.xid", "rpc.msgtyp", "rpc.program", "rpc.programversion", "rpc.procedure", "rpc.state_accept",
          "rpc.time", "nfs.name", "nfs.status", "nfs.nfsstat4", "mount.status")
ACCEPT = {"SUCCESS": 0, "PROG_UNAVAIL": 1, "PROG_MISMATCH": 2, "PROC_UNAVAIL": 3, "GARBAGE_ARGS": 4,
          "SYSTEM_ERR": 5}


def _tshark(cap: str) -> list[dict]:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is absent")
    if not (SAMPLES / cap).is_file():
        pytest.skip(f"samples/{cap} is absent")
    facts = json.loads((SAMPLES / "expected" / cap.replace(".pcap", ".json")).read_text())
    # a field may repeat (rpc.programversion is shown twice; an NFSv4 COMPOUND has several names)
    return fields(SAMPLES / cap, FIELDS, "rpc", facts["tshark_decode_as"])


def _first_int(v: list[str]) -> int | None:
    return int(v[0], 0) if v else None


def _status_code(prog: int, vers: int, name: str | None) -> int | None:
    if name is None:
        return None
    inv = {v: k for k, v in PROGRAMS[(prog, vers)].status_names.items()}
    return inv[name]


@pytest.mark.parametrize("cap", CAPTURES)
def test_calls_and_replies_equal_tshark(cap: str) -> None:
    t = _tshark(cap)
    a, _ = load(cap)
    calls = Counter((_first_int(r["rpc.xid"]), _first_int(r["rpc.program"]), _first_int(r["rpc.programversion"]),
                     _first_int(r["rpc.procedure"])) for r in t if r["rpc.msgtyp"] == ["0"])
    ours = Counter((r["xid"], r["prog_num"], r["version"], r["proc_num"]) for r in a.rows["rpc"])
    assert ours == calls and len(calls) > 20
    replies = Counter((_first_int(r["rpc.xid"]), _first_int(r["rpc.state_accept"])) for r in t
                      if r["rpc.msgtyp"] == ["1"])
    ours_r = Counter((r["xid"], ACCEPT[r["rpc_status"]]) for r in a.rows["rpc"] if r["rpc_status"] is not None)
    assert ours_r == replies
    rtt = {_first_int(r["rpc.xid"]): float(r["rpc.time"][0]) for r in t if r["rpc.time"]}
    for r in a.rows["rpc"]:
        assert r["rtt"] == pytest.approx(rtt[r["xid"]], abs=2e-6)


@pytest.mark.parametrize("cap", CAPTURES)
def test_names_and_statuses_equal_tshark(cap: str) -> None:
    t = _tshark(cap)
    a, _ = load(cap)
    by_xid = {r["xid"]: r for r in a.rows["nfs"]}
    names = statuses = 0
    for r in t:
        xid = _first_int(r["rpc.xid"])
        if _first_int(r["rpc.program"]) not in (100003, 100005):
            continue
        row = by_xid[xid]
        if r["rpc.msgtyp"] == ["0"] and r["nfs.name"]:
            # NFSv4: several LOOKUPs in one COMPOUND; the row names the last
            assert row["name"] == r["nfs.name"][-1]
            names += 1
        if r["rpc.msgtyp"] == ["1"]:
            st = r["nfs.nfsstat4"] or r["nfs.status"] or r["mount.status"]
            if st:
                assert _status_code(100003 if row["program"] == "nfs" else 100005, row["version"],
                                    row["status"]) == int(st[0])
                statuses += 1
            elif r["rpc.state_accept"] != ["0"]:
                assert row["status"] in ACCEPT          # refused at the RPC level: its status shown
            else:
                assert row["status"] is None, row       # NULL, EXPORT, UMNT: no status in the result
    assert names >= 4 and statuses >= 10


def _files(a, facts_key: str, facts: dict) -> None:
    got = {sha256(file_bytes(a, f)): f for f in a.rows["files"] if f["source"] == "NFS"}
    for item in facts_key:
        f = got[item["sha256"]]
        assert f["seen_bytes"] == item["size"] and f["missing_bytes"] == 0 and f["complete"]
        assert f["filename"] == item["path"].rsplit("/", 1)[-1]


def test_tcp_files_equal_what_nfs_cp_read_and_wrote() -> None:
    a, facts = load("nfs-tcp.pcap")
    _files(a, facts["read"] + facts["written"], facts)
    assert len([f for f in a.rows["files"] if f["source"] == "NFS"]) == 2


def test_udp_files_equal_what_the_client_read_and_wrote() -> None:
    a, facts = load("nfs-udp.pcap")
    c = facts["client"]
    _files(a, [c["read"], c["read_out_of_order"], c["write"]], facts)


@pytest.mark.parametrize("cap", CAPTURES)
def test_nfs_on_a_port_of_its_own_found_through_the_portmapper(cap: str) -> None:
    a, facts = load(cap)
    port = next(s["port"] for s in facts["servers"] if s["service"] == "nfs")
    conns = {c["uid"]: c for c in a.rows["conn"]}
    nfs = [c for c in conns.values() if c["service"] == "nfs"]
    assert nfs and all(c["resp_p"] == port for c in nfs)
    foreseen = [c for c in nfs if c["parent_uid"]]
    assert foreseen and all(conns[c["parent_uid"]]["service"] == "portmapper" for c in foreseen)


def test_paths_learnt_from_mount_and_lookup() -> None:
    a, facts = load("nfs-tcp.pcap")
    export = facts["export"]
    paths = {r["path"] for r in a.rows["nfs"] if r["program"] == "nfs" and r["path"]}
    assert f"{export}/docs/report.bin" in paths and f"{export}/upload.bin" in paths
    assert f"{export}/missing.txt" in paths
    assert not any(p.startswith("<fh:") for p in paths)      # every root handle came from a MNT reply


def test_auth_sys_identities_claimed_no_secret() -> None:
    a, _ = load("nfs-udp.pcap")
    creds = [c for c in a.rows["credentials"] if c["kind"] == "identity claimed"]
    assert {c["username"] for c in creds} >= {"uid=0 gid=0 machine=wiretale-rec"}
    assert all(c["secret"] == "" for c in creds)


def _tcp(buf: bytes):
    import dpkt

    seg = dpkt.ethernet.Ethernet(buf).data.data
    return seg if isinstance(seg, dpkt.tcp.TCP) else None


def test_a_connection_met_inside_a_write_is_decoded_from_the_next_record(tmp_path) -> None:
    """samples/nfs-tcp.pcap cut so that nfs-cp's upload connection begins with the last segment of its
    70 000-byte WRITE (no handshake, no portmapper before it): the flow is found as NFS by its content (the
    detection buffer raised to hold that segment's 4 584 bytes and the COMMIT after them), the bytes before the
    first record are skipped and said, and the calls after it equal tshark's on the whole capture."""
    import dpkt

    from decoder.model import Limits
    from decoder.api import analyze

    cap = SAMPLES / "nfs-tcp.pcap"
    if not cap.is_file():
        pytest.skip("samples/nfs-tcp.pcap is absent")
    with cap.open("rb") as f:
        r = dpkt.pcap.Reader(f)
        frames = [(ts, buf) for ts, buf in r]
        link = r.datalink()
    port = start = None
    for i, (_, buf) in enumerate(frames):
        seg = _tcp(buf)
        if seg is None or seg.dport != 12049 or not seg.data:
            continue
        record = seg.data[8:12] == b"\0\0\0\0" and seg.data[12:16] == b"\0\0\0\2"
        if port is None and record and int.from_bytes(seg.data[:4], "big") & 0x7FFFFFFF > len(seg.data) - 4:
            port = seg.sport                          # a call longer than its segment: the WRITE
        elif port == seg.sport and not record:
            start = i                                  # its continuations; the cut keeps the last
        elif port == seg.sport:
            break
    assert port is not None and start is not None
    kept = [(ts, buf) for ts, buf in frames[start:] if _tcp(buf) is not None and port in (_tcp(buf).sport,
                                                                                          _tcp(buf).dport)]
    out = tmp_path / "cut.pcap"
    with out.open("wb") as f:
        w = dpkt.pcap.Writer(f, linktype=link)
        for ts, buf in kept:
            w.writepkt(buf, ts)
    calls = {_first_int(r["rpc.xid"]): _first_int(r["rpc.procedure"]) for r in _tshark("nfs-tcp.pcap")
             if r["rpc.msgtyp"] == ["0"]}
    with analyze(out, out_dir=tmp_path / "o", strict=True, limits=Limits(detect_buffer=8192)) as a:
        [conn] = [c for c in a.rows["conn"] if port in (c["orig_p"], c["resp_p"])]
        assert conn["service"] == "nfs" and not conn["parent_uid"]
        names = [x["name"] for x in a.rows["anomalies"]]
        assert "rpc_midstream" in names and "rpc_reply_without_call" in names      # the WRITE's reply
        got = [(r["xid"], r["proc_num"], r["procedure"]) for r in a.rows["rpc"]]
    assert got and all(calls[x] == n for x, n, _ in got) and "COMMIT" in {p for _, _, p in got}
