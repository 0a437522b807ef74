"""ONC RPC / portmapper / MOUNT / NFS dissector: conversation fixtures built from the RFCs' XDR
(whole, byte by byte, random splits over TCP; datagrams over UDP) and the negative cases."""
from __future__ import annotations

import hashlib

from decoder.model import (
    Anomaly, Confirm, Credential, Expect, FileClose, FileData, FileGap, FileOpen, Limits, Transport, Violation,
)
from dissectors import nfs
from dissectors.probes.nfs import SPECS
from decoder.model import Verdict, ORIG, RESP
from tests.conversation import C, Gap, S, ctx, of_type, run, run_all_ways
from tests.dissectors.rpc_build import (
    call, denied_auth, fattr2, opaque, post_op_attr, reply, rm, string, u32, u64,
)

NFS, MOUNT, PMAP = 100003, 100005, 100000
ROOT = bytes(range(1, 29))            # a 28-byte v3 handle
DIR = b"D" * 16
FILE = b"F" * 20
CONTENT = bytes(range(256)) * 40       # 10240 bytes


def tcp(resp_p: int = 2049, limits: Limits | None = None):
    return lambda: nfs.RpcDissector(ctx(Transport.TCP, resp=("10.0.0.2", resp_p), limits=limits))


def udp(resp_p: int = 2049, limits: Limits | None = None):
    return lambda: nfs.RpcDissector(ctx(Transport.UDP, resp=("10.0.0.2", resp_p), limits=limits))


def rows(items, table: str) -> list:
    return [i for i in items if getattr(i, "TABLE", None) == table]


def file_bytes(items, handle_prefix: str) -> tuple[bytes, list[int]]:
    data, gaps = b"", []
    for i in items:
        if isinstance(i, FileData) and i.handle.startswith(handle_prefix):
            data += i.data
        if isinstance(i, FileGap) and i.handle.startswith(handle_prefix):
            gaps.append(i.length)
    return data, gaps


def v3_session() -> list:
    """MNT-less v3 session over TCP: LOOKUP dir, LOOKUP file, two READs answered out of offset order
    (the second half first), a WRITE of a new file, READDIRPLUS, an error."""
    lookup_dir = call(1, NFS, 3, 3, opaque(ROOT) + string("docs"))
    lookup_dir_r = reply(1, u32(0) + opaque(DIR) + post_op_attr(4096) + post_op_attr(4096))
    lookup_file = call(2, NFS, 3, 3, opaque(DIR) + string("report.bin"))
    lookup_file_r = reply(2, u32(0) + opaque(FILE) + post_op_attr(len(CONTENT)) + post_op_attr(4096))
    read_b = call(4, NFS, 3, 6, opaque(FILE) + u64(8192) + u32(8192))
    read_b_r = reply(4, u32(0) + post_op_attr(len(CONTENT)) + u32(2048, 1) + opaque(CONTENT[8192:]))
    read_a = call(3, NFS, 3, 6, opaque(FILE) + u64(0) + u32(8192))
    read_a_r = reply(3, u32(0) + post_op_attr(len(CONTENT)) + u32(8192, 0) + opaque(CONTENT[:8192]))
    create = call(5, NFS, 3, 8, opaque(DIR) + string("new.txt") + u32(0) + u32(0) * 6)
    create_r = reply(5, u32(0) + u32(1) + opaque(b"N" * 12) + post_op_attr(0) + u32(0, 0))
    write = call(6, NFS, 3, 7, opaque(b"N" * 12) + u64(0) + u32(5, 2) + opaque(b"hello"))
    write_r = reply(6, u32(0) + u32(0, 0) + u32(5, 2) + b"verifier")
    rdp = call(7, NFS, 3, 17, opaque(DIR) + u64(0) + b"\0" * 8 + u32(512, 4096))
    entry = lambda fid, name, fh: u32(1) + u64(fid) + string(name) + u64(fid) + post_op_attr(1) + (
        u32(1) + opaque(fh) if fh else u32(0))
    rdp_r = reply(7, u32(0) + post_op_attr(4096) + b"\0" * 8 + entry(1, ".", None) + entry(
        2, "sub", b"S" * 8) + u32(0) + u32(1))
    missing = call(8, NFS, 3, 3, opaque(b"S" * 8) + string("nope"))
    missing_r = reply(8, u32(2) + post_op_attr(None))
    seq = [(lookup_dir, lookup_dir_r), (lookup_file, lookup_file_r)]
    steps = [C(rm(m)) if i % 2 == 0 else S(rm(m)) for i, m in enumerate(x for p in seq for x in p)]
    steps += [C(rm(read_a)), C(rm(read_b)), S(rm(read_b_r, frags=3)), S(rm(read_a_r, frags=2))]
    steps += [C(rm(create)), S(rm(create_r)), C(rm(write)), S(rm(write_r)), C(rm(rdp)), S(rm(rdp_r)),
              C(rm(missing)), S(rm(missing_r))]
    return steps


def test_v3_over_tcp_whole_bytewise_and_random_splits() -> None:
    items = run_all_ways(tcp(), v3_session())
    assert isinstance(items[0], Confirm)
    table = rows(items, "nfs")
    assert [(r.proc, r.name, r.status) for r in table] == [
        ("LOOKUP", "docs", "NFS3_OK"), ("LOOKUP", "report.bin", "NFS3_OK"), ("READ", "report.bin", "NFS3_OK"),
        ("READ", "report.bin", "NFS3_OK"), ("CREATE", "new.txt", "NFS3_OK"), ("WRITE", "new.txt", "NFS3_OK"),
        ("READDIRPLUS", "docs", "NFS3_OK"), ("LOOKUP", "nope", "NFS3ERR_NOENT")]
    root = ROOT.hex()[:8]
    assert table[1].path == f"<fh:{root}>/docs/report.bin" and table[1].root_fh == ROOT.hex()
    assert table[7].path == f"<fh:{root}>/docs/sub/nope"          # the handle learnt from READDIRPLUS
    assert [(r.offset, r.count) for r in table[2:4]] == [(8192, 8192), (0, 8192)]
    assert all(r.rtt is not None and r.rtt >= 0 for r in table)
    read, gaps = file_bytes(items, "read:")
    assert read == CONTENT and gaps == []
    assert hashlib.sha256(read).hexdigest() == hashlib.sha256(CONTENT).hexdigest()
    opened = {o.handle: o for o in of_type(items, FileOpen)}
    assert opened[f"read:{FILE.hex()}"].name_hint == "report.bin"
    assert opened[f"read:{FILE.hex()}"].total_size == len(CONTENT)
    assert file_bytes(items, "write:")[0] == b"hello"
    assert all(c.complete for c in of_type(items, FileClose))
    rpc = rows(items, "rpc")
    assert len(rpc) == 8 and {(r.auth, r.auth_uid, r.machine) for r in rpc} == {("AUTH_SYS", 1000, "client")}
    cred = of_type(items, Credential)
    assert [(c.username, c.secret, c.kind) for c in cred] == [("uid=1000 gid=1000 machine=client", "",
                                                              "identity claimed")]
    summaries = [i.summary() for i in items if isinstance(i, nfs.RpcReply)]
    assert summaries[-1].startswith("NFS3 LOOKUP reply NFS3ERR_NOENT")
    assert [i.meaning() for i in items if isinstance(i, nfs.RpcReply)][-1] == "no such file or directory"


def test_read_hole_is_a_gap_never_zero_filled() -> None:
    steps = [C(rm(call(1, NFS, 3, 6, opaque(FILE) + u64(4096) + u32(4096)))),
             S(rm(reply(1, u32(0) + post_op_attr(8192) + u32(4096, 1) + opaque(CONTENT[4096:8192]))))]
    items = run_all_ways(tcp(), steps)
    data, gaps = file_bytes(items, "read:")
    assert data == CONTENT[4096:8192] and gaps == [4096]
    assert [c.complete for c in of_type(items, FileClose)] == [False]


def test_v2_over_udp_mount_lookup_read_write() -> None:
    fh_root, fh_file = b"R" * 32, b"f" * 32
    body = b"version two\n"
    steps = [
        C(call(10, MOUNT, 1, 1, string("/export"))), S(reply(10, u32(0) + fh_root)),
        C(call(11, NFS, 2, 4, fh_root + string("a.txt"))),
        S(reply(11, u32(0) + fh_file + fattr2(len(body)))),
        C(call(12, NFS, 2, 6, fh_file + u32(0, 8192, 0))), S(reply(12, u32(0) + fattr2(len(body)) + opaque(body))),
        C(call(13, NFS, 2, 8, fh_file + u32(0, 0, 0) + opaque(b"new"))), S(reply(13, u32(0) + fattr2(3))),
        C(call(14, NFS, 2, 4, fh_root + string("x"))), S(reply(14, u32(2))),
    ]
    items = run_all_ways(udp(), steps, datagram=True)
    table = rows(items, "nfs")
    assert [(r.program, r.version, r.proc, r.name, r.path, r.status) for r in table] == [
        ("mount", 1, "MNT", "/export", "/export", "NFS_OK"),
        ("nfs", 2, "LOOKUP", "a.txt", "/export/a.txt", "NFS_OK"),
        ("nfs", 2, "READ", "a.txt", "/export/a.txt", "NFS_OK"),
        ("nfs", 2, "WRITE", "a.txt", "/export/a.txt", "NFS_OK"),
        ("nfs", 2, "LOOKUP", "x", "/export/x", "NFSERR_NOENT")]
    assert file_bytes(items, "read:")[0] == body and file_bytes(items, "write:")[0] == b"new"


def test_portmapper_getport_and_getaddr_become_expectations() -> None:
    getport = call(1, PMAP, 2, 3, u32(MOUNT, 3, 6, 0))
    dump = call(2, PMAP, 2, 4)
    maps = b"".join(u32(1, p, v, t, port) for p, v, t, port in [(PMAP, 2, 6, 111), (NFS, 3, 17, 12049)]) + u32(0)
    rpcb = call(3, PMAP, 4, 3, u32(NFS, 3) + string("tcp") + string("") + string(""))
    steps = [C(rm(getport)), S(rm(reply(1, u32(20048)))), C(rm(dump)), S(rm(reply(2, maps))),
             C(rm(rpcb)), S(rm(reply(3, string("127.0.0.1.8.1"))))]
    items = run_all_ways(tcp(111), steps)
    exp = of_type(items, Expect)
    # the DUMP list foresees no flow; each GETPORT/GETADDR answer one
    assert [(e.transport, e.service, e.resp_h, e.resp_p, e.orig_h, e.single_use) for e in exp] == [
        (Transport.TCP, "mount", "10.0.0.2", 20048, "10.0.0.1", True),
        (Transport.TCP, "nfs", "10.0.0.2", 2049, "10.0.0.1", True)]
    assert rows(items, "nfs") == [] and [r.procedure for r in rows(items, "rpc")] == ["GETPORT", "DUMP", "GETADDR"]


def test_nfs4_compound_operations_listed() -> None:
    ops = u32(24) + u32(15) + string("export") + u32(15) + string("hello.txt") + u32(10) + u32(9) + u32(2, 0x10, 0)
    c = call(5, NFS, 4, 1, string("") + u32(0) + u32(5) + ops)
    results = u32(24, 0, 15, 0, 15, 0) + u32(10, 0) + opaque(FILE) + u32(9, 0) + u32(0) + opaque(b"")
    items = run_all_ways(tcp(), [C(rm(c)), S(rm(reply(5, u32(0) + string("") + u32(5) + results)))])
    row = rows(items, "nfs")[0]
    assert (row.version, row.proc, row.ops, row.name, row.status) == (
        4, "COMPOUND", ["PUTROOTFH", "LOOKUP", "LOOKUP", "GETFH", "GETATTR"], "hello.txt", "NFS4_OK")
    [rep] = [i for i in items if isinstance(i, nfs.RpcReply)]
    assert "5 results: PUTROOTFH LOOKUP LOOKUP GETFH GETATTR" in rep.summary()


def test_rpc_denied_and_mismatch_replies() -> None:
    steps = [C(call(1, NFS, 2, 0)), S(reply(1, u32(3, 4), accept_stat=2)),
             C(call(2, NFS, 3, 0)), S(denied_auth(2, 5))]
    items = run_all_ways(udp(), steps, datagram=True)
    rep = [i for i in items if isinstance(i, nfs.RpcReply)]
    assert [r.rpc_status for r in rep] == ["PROG_MISMATCH", "AUTH_TOOWEAK"]
    assert "versions 3–4" in rep[0].summary() and "too weak" in rep[1].meaning()
    assert [r.rpc_status for r in rows(items, "rpc")] == ["PROG_MISMATCH", "AUTH_TOOWEAK"]


# ---------------------------------------------------------------- negative cases
def test_not_rpc_first_is_a_violation() -> None:
    items = run(udp(), [C(b"GET / HTTP/1.1\r\n\r\n")], datagram=True)
    assert of_type(items, Violation)


def test_garbage_after_confirm_is_an_anomaly_and_decoding_goes_on() -> None:
    steps = [C(call(1, NFS, 3, 0)), S(reply(1)), C(u32(7, 5, 0)), C(call(2, NFS, 3, 0)), S(reply(2)),
             S(reply(99))]
    items = run(udp(), steps, datagram=True)
    names = [a.name for a in of_type(items, Anomaly)]
    assert names == ["rpc_malformed", "rpc_reply_without_call"]
    assert len(rows(items, "rpc")) == 2


def test_oversized_record_skipped_then_next_record_decoded() -> None:
    lim = Limits(rpc_max_record=1024)
    big = call(1, NFS, 3, 7, opaque(FILE) + u64(0) + u32(4000, 2) + opaque(b"x" * 4000))
    steps = [C(rm(call(9, NFS, 3, 0))), C(rm(big, frags=2)), C(rm(call(2, NFS, 3, 0))), S(rm(reply(2)))]
    items = run_all_ways(tcp(limits=lim), steps)
    assert [a.name for a in of_type(items, Anomaly)] == ["rpc_record_too_long"]
    assert [r.xid for r in rows(items, "rpc")] == [2, 9]


def test_gap_resynchronises_at_the_next_record() -> None:
    steps = [C(rm(call(1, NFS, 3, 0))), S(rm(reply(1))), Gap(ORIG, 100), C(b"\x01\x02junk" + rm(call(2, NFS, 3, 0))),
             S(rm(reply(2)))]
    items = run_all_ways(tcp(), steps)
    assert [a.name for a in of_type(items, Anomaly)] == ["rpc_gap"]
    assert [r.rpc_status for r in rows(items, "rpc")] == ["SUCCESS", "SUCCESS"]


def test_xdr_caps_become_limit_anomalies() -> None:
    lim = Limits(xdr_max_string=32)
    steps = [C(call(1, NFS, 3, 3, opaque(ROOT) + string("a-name-longer-than-the-32-bytes-cap"))),
             S(reply(1, u32(2)))]
    items = run(udp(limits=lim), steps, datagram=True)
    # the arguments are reported, the call is still paired with its reply
    assert [a.name for a in of_type(items, Anomaly)] == ["rpc_xdr_too_long"]
    assert [r.status for r in rows(items, "nfs")] == ["NFS3ERR_NOENT"]


def test_handle_cap() -> None:
    lim = Limits(nfs_max_handles=1)
    steps = []
    for i in range(3):
        steps += [C(call(i, NFS, 3, 3, opaque(ROOT) + string(f"f{i}"))),
                  S(reply(i, u32(0) + opaque(bytes([i]) * 8) + post_op_attr(None) + post_op_attr(None)))]
    items = run(udp(limits=lim), steps, datagram=True)
    assert [a.name for a in of_type(items, Anomaly)] == ["nfs_handles_too_many"]


def test_probes() -> None:
    by = {(s.name, s.transport): s.probe for s in SPECS}
    c = call(1, MOUNT, 3, 1, string("/x"))
    assert by[("mount", Transport.UDP)](ORIG, c) is Verdict.YES
    assert by[("nfs", Transport.UDP)](ORIG, c) is Verdict.NO
    assert by[("mount", Transport.TCP)](ORIG, rm(c)) is Verdict.YES
    assert by[("mount", Transport.TCP)](ORIG, c) is Verdict.NO            # no record mark
    assert by[("nfs", Transport.UDP)](RESP, reply(1)) is Verdict.MAYBE
    assert by[("portmapper", Transport.UDP)](ORIG, b"\x16\x03\x01\x02\x00\x01\x00\x01" * 4) is Verdict.NO


def test_many_small_pieces_above_a_hole_are_bounded() -> None:
    steps = []
    for i in range(1, nfs.MAX_PIECES + 3):
        steps += [C(call(i, NFS, 3, 6, opaque(FILE) + u64(2 * i) + u32(1))),
                  S(reply(i, u32(0) + post_op_attr(None) + u32(1, 0) + opaque(b"x")))]
    items = run(udp(), steps, datagram=True)
    assert [a.name for a in of_type(items, Anomaly)] == ["nfs_reorder_limit"]
    data, gaps = file_bytes(items, "read:")
    assert data == b"x" * (nfs.MAX_PIECES + 2) and len(gaps) == nfs.MAX_PIECES + 2     # never zero-filled


def test_fragmented_udp_read_replies_through_the_pipeline(tmp_path) -> None:
    """8 KiB READ replies over UDP arrive as IP fragments (the common NFS-over-UDP case): the engine
    rebuilds the datagram, the dissector the file."""
    from decoder.api import analyze
    from tests.builders import fragments_v4, udp_bytes, udp_packet, write_pcap

    cli, srv = ("10.0.0.1", 800), ("10.0.0.2", 2049)
    body = CONTENT[:9192]
    pkts = []
    for xid, off, n in ((1, 0, 8192), (2, 8192, 1000)):
        pkts.append(udp_packet(*cli, *srv, call(xid, NFS, 3, 6, opaque(FILE) + u64(off) + u32(8192))))
        rep = reply(xid, u32(0) + post_op_attr(len(body)) + u32(n, int(off > 0)) + opaque(body[off:off + n]))
        pkts += fragments_v4(srv[0], cli[0], 17, udp_bytes(srv[1], cli[1], rep), 1480, ident=xid)
    write_pcap(tmp_path / "frag.pcap", pkts)
    with analyze(tmp_path / "frag.pcap", out_dir=tmp_path / "out", strict=True) as a:
        assert [(r["proc"], r["offset"], r["status"]) for r in a.rows["nfs"]] == [
            ("READ", 0, "NFS3_OK"), ("READ", 8192, "NFS3_OK")]
        [f] = a.rows["files"]
        assert (f["source"], f["seen_bytes"], f["missing_bytes"], f["complete"]) == ("NFS", len(body), 0, True)
        assert f["sha256"] == hashlib.sha256(body).hexdigest()


def test_tcp_met_inside_a_message_finds_the_next_record() -> None:
    """A capture that starts inside an RPC message (both directions): the bytes up to the first record
    are skipped and said, the records after it decoded."""
    tail = b"\x80\x00\x00\x1c" + b"\x00" * 3 + b"tail of a WRITE's data that began before the capture" * 20
    steps = [C(tail + rm(call(7, NFS, 3, 1, opaque(FILE)))), S(b"end of a READ reply" * 30 + rm(
        reply(7, u32(0) + post_op_attr(5)))), C(rm(call(8, NFS, 3, 0))), S(rm(reply(8)))]
    items = run_all_ways(tcp(), steps)
    notes = of_type(items, Anomaly)
    assert [(a.name, a.direction) for a in notes] == [("rpc_midstream", ORIG), ("rpc_midstream", RESP)]
    assert f"{len(tail)} bytes" in notes[0].detail
    assert [(r.proc, r.status) for r in rows(items, "nfs")] == [("GETATTR", "NFS3_OK"), ("NULL", None)]


def test_tcp_not_rpc_at_all_is_a_violation() -> None:
    lim = Limits(rpc_max_record=1024)
    items = run(tcp(limits=lim), [C(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 100)])
    assert of_type(items, Violation)


def test_probe_looks_inside_a_stream_met_midway() -> None:
    by = {(s.name, s.transport): s.probe for s in SPECS}
    nfs_tcp = by[("nfs", Transport.TCP)]
    mid = b"\x13\x37" * 100 + rm(call(1, NFS, 3, 4, opaque(FILE) + u32(1)))
    assert nfs_tcp(ORIG, mid) is Verdict.YES
    assert by[("mount", Transport.TCP)](ORIG, mid) is Verdict.NO
    assert nfs_tcp(ORIG, b"\x13\x37" * 100) is Verdict.NO
    assert nfs_tcp(RESP, b"\x13\x37" * 100) is Verdict.MAYBE          # inside a READ reply's data
    assert nfs_tcp(ORIG, b"GET / HTTP/1.1\r\n\r\n") is Verdict.NO


def test_nfs4_compound_reply_lists_results_to_the_first_failure() -> None:
    ops = u32(24) + u32(15) + string("export") + u32(15) + string("nope") + u32(10)
    c = call(6, NFS, 4, 1, string("") + u32(0) + u32(4) + ops)
    res = u32(2) + string("") + u32(3) + u32(24, 0) + u32(15, 0) + u32(15, 2)
    items = run_all_ways(tcp(), [C(rm(c)), S(rm(reply(6, res)))])
    [rep] = [i for i in items if isinstance(i, nfs.RpcReply)]
    assert "3 results: PUTROOTFH LOOKUP LOOKUP failed (NFS4ERR_NOENT)" in rep.summary()
    assert rows(items, "nfs")[0].status == "NFS4ERR_NOENT"
