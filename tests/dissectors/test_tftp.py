"""TFTP dissector: request flow (Expect), transfer flow (ordering, duplicates,
missing blocks, wrap, windowsize, OACK, ERROR), assembly of the tftp rows,
probes, and the crafted negative cases of issue 7 acceptance 4."""
from __future__ import annotations

import struct

import pytest

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, ExpectationMatch, Expect, FileClose, FileData, FileGap,
    FileOpen, Limits, Transport, Verdict, Violation,
)
from dissectors import tftp
from dissectors.tftp import (
    TftpDissector, TftpError, TftpOack, TftpRecord, TftpRequest, TftpTransferEnd,
    assemble, data_probe, probe,
)
from tests.conversation import C, S, ctx, of_type, run_all_ways

CLIENT = ("192.168.1.2", 44935)
SERVER = ("192.168.1.1", 69)
TID = ("192.168.1.1", 59557)


# -- packet builders (RFC 1350, 2347)
def rq(op: int, name: bytes, mode: bytes = b"octet", **opts) -> bytes:
    body = name + b"\0" + mode + b"\0"
    for k, v in opts.items():
        body += k.encode() + b"\0" + str(v).encode() + b"\0"
    return struct.pack("!H", op) + body


def data(block: int, payload: bytes) -> bytes:
    return struct.pack("!HH", 3, block & 0xFFFF) + payload


def ack(block: int) -> bytes:
    return struct.pack("!HH", 4, block & 0xFFFF)


def err(code: int, m: bytes) -> bytes:
    return struct.pack("!HH", 5, code) + m + b"\0"


def oack(**opts) -> bytes:
    return b"\0\6" + b"".join(k.encode() + b"\0" + str(v).encode() + b"\0"
                              for k, v in opts.items())


def request_ctx():
    return ctx(Transport.UDP, orig=CLIENT, resp=SERVER, uid="Creq")


def data_ctx(op="RRQ", filename="boot.img", options=(), uid="Cdata"):
    # The transfer flow is originated by the server's new port.
    exp = ExpectationMatch("Creq", "tftp0", "tftp-data",
                           {"op": op, "filename": filename, "mode": "octet",
                            "options": tuple(options), "request_ts": 0.5})
    return ctx(Transport.UDP, orig=TID, resp=CLIENT, uid=uid, expectation=exp)


def run(c, convo):
    return run_all_ways(lambda: TftpDissector(c), convo, datagram=True)


def file_bytes(items) -> bytes:
    return b"".join(i.data for i in of_type(items, FileData))


def names(items):
    return [a.name for a in of_type(items, Anomaly)]


# -- request flow
def test_rrq_expects_transfer_from_any_server_port():
    items = run(request_ctx(), [C(rq(1, b"boot.img", blksize=1024, tsize=0), ts=1.0)])
    assert isinstance(items[0], Confirm)
    (req,) = of_type(items, TftpRequest)
    assert (req.op, req.filename, req.mode) == ("RRQ", "boot.img", "octet")
    assert req.options == (("blksize", "1024"), ("tsize", "0"))
    assert req.summary() == 'RRQ "boot.img" octet blksize=1024 tsize=0'
    assert "download" in req.meaning()
    (e,) = of_type(items, Expect)
    assert (e.transport, e.service) == (Transport.UDP, "tftp-data")
    assert (e.orig_h, e.orig_p, e.resp_h, e.resp_p) == ("192.168.1.1", None) + CLIENT
    assert e.ttl == Limits().tftp_expect_ttl
    meta = dict(e.meta)
    assert meta["op"] == "RRQ" and meta["filename"] == "boot.img" and meta["request_ts"] == 1.0
    (row,) = of_type(items, TftpRecord)
    assert (row.wrq, row.fname, row.mode, row.blksize, row.expect_token) == (
        False, "boot.img", "octet", 1024, e.token)


def test_retransmitted_request_expects_once():
    items = run(request_ctx(), [C(rq(2, b"cfg.txt", b"netascii"), ts=1.0),
                                C(rq(2, b"cfg.txt", b"netascii"), ts=6.0)])
    assert len(of_type(items, Expect)) == 1
    (row,) = of_type(items, TftpRecord)
    assert row.wrq is True and row.mode == "netascii"


def test_error_answered_from_port_69_is_recorded():
    items = run(request_ctx(), [C(rq(1, b"nope")), S(err(1, b"File not found"))])
    (e,) = of_type(items, TftpError)
    assert e.summary() == 'ERROR 1 (File not found): "File not found"'
    assert e.meaning() == "File not found"
    (row,) = of_type(items, TftpRecord)
    assert (row.error_code, row.error_msg) == (1, "File not found")


def test_server_answering_from_port_69_runs_each_request_on_the_flow():
    """An RRQ answered from port 69 itself, then a WRQ of 87 bytes from the same client port: two
    files, each under its own request's row and name (issue 24), the RRQ's late ACK still its own."""
    up = bytes(range(87))
    items = run(request_ctx(), [
        C(rq(1, b"get.txt")), S(data(1, b"g" * 512)), C(ack(1)), S(data(2, b"g" * 100)),
        C(rq(2, b"put.bin")), C(ack(2)), S(ack(0)), C(data(1, up)), S(ack(1))])
    opens = of_type(items, FileOpen)
    assert [(o.handle, o.name_hint, o.direction) for o in opens] == [("tftp", "get.txt", RESP),
                                                                     ("tftp1", "put.bin", ORIG)]
    by_handle: dict[str, bytes] = {}
    for d in of_type(items, FileData):
        by_handle[d.handle] = by_handle.get(d.handle, b"") + d.data
    assert by_handle == {"tftp": b"g" * 612, "tftp1": up}
    assert [(c.handle, c.complete) for c in of_type(items, FileClose)] == [("tftp", True), ("tftp1", True)]
    rows = of_type(items, TftpRecord)
    assert [(r.fname, r.wrq, r.size, r.block_sent, r.block_acked, r.complete, r.uid_data, r.fuid) for r in rows] == [
        ("get.txt", False, 612, 2, 2, True, "Creq", request_ctx().fuid("tftp")),
        ("put.bin", True, 87, 1, 1, True, "Creq", request_ctx().fuid("tftp1"))]
    ends = of_type(items, TftpTransferEnd)
    assert [(e.filename, e.size, e.complete) for e in ends] == [("get.txt", 612, True), ("put.bin", 87, True)]


def test_truncated_request_is_an_anomaly_without_expect():
    items = run(request_ctx(), [C(b"\0\x0100")])
    assert {"tftp_unterminated_string", "tftp_bad_request"} <= set(names(items))
    assert not of_type(items, Expect)


def test_foreign_bytes_before_confirmation():
    items = run(request_ctx(), [C(b"\x16\x03\x01hello")])
    assert len(items) == 1 and isinstance(items[0], Violation)


# -- transfer flow
BLOCK = bytes(range(256)) * 2     # 512 bytes


def test_rrq_transfer_with_meta():
    body = BLOCK + BLOCK + b"tail"
    convo = [C(data(1, BLOCK), ts=1.0), S(ack(1)), C(data(2, BLOCK)), S(ack(2)),
             C(data(3, b"tail")), S(ack(3), ts=2.0)]
    items = run(data_ctx(), convo)
    (fo,) = of_type(items, FileOpen)
    assert (fo.source, fo.name_hint, fo.direction) == ("TFTP", "boot.img", ORIG)
    assert file_bytes(items) == body
    (fc,) = of_type(items, FileClose)
    assert fc.complete
    (row,) = of_type(items, TftpRecord)
    assert (row.ts, row.wrq, row.fname, row.uid_data) == (0.5, False, "boot.img", "Cdata")
    assert (row.size, row.block_sent, row.block_acked, row.complete) == (len(body), 3, 3, True)
    assert row.fuid == data_ctx().fuid("tftp") and row.expect_token == "tftp0"
    (end,) = of_type(items, TftpTransferEnd)
    assert "3 blocks" in end.summary() and "complete" in end.summary()
    assert not names(items)


def test_wrq_with_oack_blksize_and_tsize():
    big = b"A" * 1024
    body = big + b"B" * 100
    convo = [C(oack(blksize=1024, tsize=len(body))),   # server (ORIG) answers the WRQ
             S(data(1, big)), C(ack(1)), S(data(2, b"B" * 100)), C(ack(2))]
    items = run(data_ctx("WRQ", "up.bin", (("blksize", "1024"), ("tsize", str(len(body))))),
                convo)
    (o,) = of_type(items, TftpOack)
    assert o.summary() == "OACK blksize=1024 tsize=1124"
    (fo,) = of_type(items, FileOpen)
    assert fo.total_size == len(body) and fo.direction == RESP
    assert file_bytes(items) == body      # the 1024-byte block did not end the transfer
    (row,) = of_type(items, TftpRecord)
    assert (row.wrq, row.blksize, row.tsize, row.size, row.complete) == (
        True, 1024, 1124, 1124, True)


def test_wrq_ack_zero_then_data():
    convo = [C(ack(0)), S(data(1, b"small")), C(ack(1))]
    items = run(data_ctx("WRQ", "x"), convo)
    assert "write request accepted" in of_type(items, tftp.TftpAck)[0].summary()
    assert file_bytes(items) == b"small" and of_type(items, FileClose)[0].complete


def test_duplicates_dropped():
    convo = [C(data(1, BLOCK)), C(data(1, BLOCK)), S(ack(1)), C(data(2, b"end")),
             C(data(2, b"end")), C(data(1, BLOCK))]
    items = run(data_ctx(), convo)
    assert file_bytes(items) == BLOCK + b"end"
    assert of_type(items, FileClose)[0].complete
    assert names(items).count("tftp_duplicate_block") == 2   # first one, then the total
    assert of_type(items, TftpTransferEnd)[0].duplicates == 3


def test_missing_block_becomes_gap_not_zeros():
    convo = [C(data(1, BLOCK)), C(data(3, BLOCK)), C(data(4, b"end"))]
    items = run(data_ctx(), convo)
    assert file_bytes(items) == BLOCK + BLOCK + b"end"    # no zero fill
    (gap,) = of_type(items, FileGap)
    assert gap.length == 512
    (fc,) = of_type(items, FileClose)
    assert not fc.complete
    assert "tftp_missing_blocks" in names(items)
    # the gap sits between block 1 and block 3 in the item stream
    kinds = [type(i).__name__ for i in items if isinstance(i, (FileData, FileGap))]
    assert kinds == ["FileData", "FileGap", "FileData"]   # adjacent data joined by normalize()
    (row,) = of_type(items, TftpRecord)
    assert row.complete is False and row.size == 1024 + 3


def test_windowsize_out_of_order_blocks_are_reordered():
    convo = [C(oack(windowsize=4)), S(ack(0)),
             C(data(2, b"b" * 512)), C(data(1, b"a" * 512)), C(data(4, b"d")),
             C(data(3, b"c" * 512)), S(ack(4))]
    items = run(data_ctx(options=(("windowsize", "4"),)), convo)
    assert file_bytes(items) == b"a" * 512 + b"b" * 512 + b"c" * 512 + b"d"
    assert of_type(items, FileClose)[0].complete and not of_type(items, FileGap)


@pytest.mark.parametrize("rollover", [0, 1])
def test_block_number_wrap(rollover):
    n = 65540
    convo = [C(oack(blksize=8))]
    for k in range(1, n + 1):
        w = k if k <= 65535 else ((k % 65536) if rollover == 0 else ((k - 1) % 65535) + 1)
        payload = struct.pack("!Q", k) if k < n else b"last"
        convo.append(C(struct.pack("!HH", 3, w) + payload))
    convo.append(S(ack(((n % 65536) if rollover == 0 else ((n - 1) % 65535) + 1))))
    items = TftpDissector(data_ctx(options=(("blksize", "8"),)))
    out = []
    for i, step in enumerate(convo):
        out.extend(items.feed(step.direction, step.data, float(i)))
    out.extend(items.close(1e6))
    expected = b"".join(struct.pack("!Q", k) for k in range(1, n)) + b"last"
    assert file_bytes(out) == expected
    assert of_type(out, FileClose)[0].complete
    assert not names(out)
    (row,) = of_type(out, TftpRecord)
    assert row.block_sent == n and row.block_acked == n


def test_error_mid_transfer():
    convo = [C(data(1, BLOCK)), S(ack(1)), C(err(3, b"Disk full"))]
    items = run(data_ctx(), convo)
    assert "tftp_transfer_aborted" in names(items)
    (fc,) = of_type(items, FileClose)
    assert not fc.complete and "ERROR 3" in fc.reason
    (row,) = of_type(items, TftpRecord)
    assert (row.error_code, row.error_msg, row.complete) == (3, "Disk full", False)
    assert file_bytes(items) == BLOCK


def test_oack_refused_by_error_8():
    convo = [C(oack(blksize=65464)), S(err(8, b"blksize too big"))]
    items = run(data_ctx(options=(("blksize", "65464"),)), convo)
    assert "tftp_option_refused" in names(items)
    assert not of_type(items, FileOpen)
    (row,) = of_type(items, TftpRecord)
    assert (row.error_code, row.complete) == (8, False)
    assert "Option negotiation refused" in of_type(items, TftpError)[0].meaning()


def test_oack_with_unrequested_option_and_bad_blksize():
    convo = [C(oack(blksize=4, rollover=0)), S(ack(0)), C(data(1, b"x"))]
    items = run(data_ctx(options=(("blksize", "4"),)), convo)
    ns = names(items)
    assert "tftp_oack_unrequested_option" in ns and "tftp_bad_option" in ns


def test_transfer_cut_short_uses_tsize_for_the_tail_gap():
    convo = [C(oack(tsize=2000)), S(ack(0)), C(data(1, BLOCK)), S(ack(1))]
    items = run(data_ctx(options=(("tsize", "0"),)), convo)
    gaps = of_type(items, FileGap)
    assert [g.length for g in gaps] == [2000 - 512]
    assert "tftp_transfer_incomplete" in names(items)
    assert not of_type(items, FileClose)[0].complete


def test_late_capture_without_request():
    c = ctx(Transport.UDP, orig=TID, resp=CLIENT, uid="Clate")
    convo = [C(data(7, BLOCK)), S(ack(7)), C(data(8, b"end")), S(ack(8))]
    assert data_probe(ORIG, convo[0].data) is Verdict.YES
    items = run(c, convo)
    assert isinstance(items[0], Confirm)
    assert file_bytes(items) == BLOCK + b"end"
    # blocks 1..6 were before the capture started: a gap, never zeros
    assert [g.length for g in of_type(items, FileGap)] == [6 * 512]
    assert not of_type(items, FileClose)[0].complete
    (row,) = of_type(items, TftpRecord)
    assert row.wrq is None and row.fname is None and row.uid_data == "Clate"
    assert row.block_sent == 8


def test_server_answering_from_port_69_gives_one_row():
    convo = [C(rq(1, b"f")), S(data(1, b"hello")), C(ack(1))]
    items = run(request_ctx(), convo)
    (row,) = of_type(items, TftpRecord)
    assert (row.fname, row.uid_data, row.size, row.complete) == ("f", "Creq", 5, True)
    assert file_bytes(items) == b"hello"


def test_data_in_wrong_direction_and_junk_after_confirmation():
    convo = [C(data(1, BLOCK)), S(data(1, b"x")), C(b"\x09\x09junk")]
    items = run(data_ctx(), convo)
    assert {"tftp_data_wrong_direction", "tftp_bad_opcode"} <= set(names(items))


def test_reorder_cap_declares_gap():
    convo = [C(data(k, BLOCK)) for k in range(2, 70)]
    items = run(data_ctx(), convo)
    assert "tftp_reorder_limit" in names(items)
    assert of_type(items, FileGap)[0].length == 512


def test_gap_call_is_an_anomaly():
    assert names(TftpDissector(data_ctx()).gap(ORIG, 3, 1.0)) == ["tftp_gap"]


# -- assembly
def test_assemble_folds_transfer_row_into_request_row():
    req = dict(ts=1.0, uid="Creq", wrq=False, fname="f", mode="octet", uid_data=None,
               size=0, block_sent=0, block_acked=0, error_code=None, error_msg=None,
               blksize=None, tsize=None, complete=None, fuid=None, expect_token="tftp0")
    dat = dict(req, uid="Cdata", uid_data="Cdata", size=10, block_sent=1, block_acked=1,
               complete=True, fuid="Fx", blksize=512)
    other = dict(req, uid="Cother", uid_data="Cother", expect_token=None)
    conn = [{"uid": "Creq", "parent_uid": None, "expect_token": None},
            {"uid": "Cdata", "parent_uid": "Creq", "expect_token": "tftp0"},
            {"uid": "Cother", "parent_uid": float("nan"), "expect_token": float("nan")}]
    tables = {"tftp": [req, dat, other], "conn": conn}
    out = list(assemble(tables)["tftp"])
    assert len(out) == 2
    merged = out[0]
    assert (merged["uid"], merged["uid_data"], merged["size"], merged["fuid"],
            merged["complete"]) == ("Creq", "Cdata", 10, "Fx", True)
    assert out[1]["uid"] == "Cother"
    assert tables["tftp"][0]["uid_data"] is None     # input not mutated
    assert list(assemble({"tftp": out, "conn": conn})["tftp"]) == out   # idempotent


# -- probes and specs
def test_probes():
    assert probe(ORIG, rq(1, b"pxelinux.0", blksize=1456)) is Verdict.YES
    assert probe(ORIG, rq(2, b"x", b"octet")) is Verdict.YES
    assert probe(ORIG, rq(1, b"x", b"binary")) is Verdict.MAYBE
    assert probe(ORIG, b"\0\x01abc") is Verdict.MAYBE
    assert probe(ORIG, b"\x45\x00\x00\x1c") is Verdict.NO
    assert probe(ORIG, b"\0\x09") is Verdict.NO
    assert data_probe(ORIG, data(1, b"short")) is Verdict.MAYBE
    assert data_probe(ORIG, data(300, b"p" * 1468)) is Verdict.YES
    assert data_probe(ORIG, data(9, BLOCK)) is Verdict.YES
    assert data_probe(ORIG, data(9, b"short")) is Verdict.MAYBE
    assert data_probe(ORIG, ack(3)) is Verdict.MAYBE
    assert data_probe(ORIG, ack(3) + b"x") is Verdict.NO
    assert data_probe(ORIG, oack(blksize=1024)) is Verdict.YES
    assert data_probe(ORIG, oack(color="red")) is Verdict.NO
    assert data_probe(ORIG, err(1, b"File not found")) is Verdict.MAYBE
    assert data_probe(ORIG, b"\x12\x34\x01\x00\x00\x01") is Verdict.NO


def test_specs():
    req, dat = tftp.SPECS
    assert (req.name, req.ports, req.service_name, req.expect_only) == (
        "tftp", frozenset({69}), "tftp", False)
    assert req.assemble.resolve() is assemble
    assert (dat.name, dat.service_name, dat.expect_only) == ("tftp-data", "tftp", True)


def test_error_with_blocks_waiting_terminates():
    """Regression (found by Hypothesis): blocks buffered ahead of a hole, then an
    ERROR before anything was written, then close: used to loop for ever."""
    convo = [C(data(3, BLOCK)), C(data(5, b"x")), S(err(0, b"bye"))]
    items = run(data_ctx(), convo)
    assert file_bytes(items) == BLOCK + b"x"
    assert [g.length for g in of_type(items, FileGap)] == [1024, 512]
    assert not of_type(items, FileClose)[0].complete
