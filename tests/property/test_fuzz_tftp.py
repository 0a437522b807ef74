"""Hypothesis fuzzing of the TFTP dissector in both roles (request flow on port
69, transfer flow reached by expectation) and without an expectation: only
items come out, never an exception."""
from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Event, Expect, FileClose, FileData, FileGap, FileOpen, Record,
    Transport, Violation,
)
from dissectors.tftp import TftpDissector, data_probe, parse_packet, probe
from tests.dissectors.test_tftp import data_ctx, request_ctx
from tests.conversation import ctx

ITEM_TYPES = (Event, Record, Anomaly, Confirm, Violation, Expect, FileOpen, FileData, FileGap,
              FileClose)
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

opcode = st.integers(0, 7)
packet = st.one_of(
    st.binary(max_size=80),
    st.builds(lambda op, blk, body: struct.pack("!HH", op, blk) + body,
              opcode, st.integers(0, 65535), st.binary(max_size=600)),
    st.builds(lambda op, parts: struct.pack("!H", op) + b"\0".join(parts),
              opcode, st.lists(st.sampled_from([b"octet", b"netascii", b"blksize", b"8",
                                                b"tsize", b"100", b"windowsize", b"4",
                                                b"f.bin", b"", b"65464", b"x"]), max_size=8)),
)
convo = st.lists(st.tuples(st.booleans(), packet), max_size=25)


def _run(c, steps):
    d = TftpDissector(c)
    files = {}
    for i, (is_orig, data) in enumerate(steps):
        for it in d.feed(ORIG if is_orig else RESP, data, float(i)):
            assert isinstance(it, ITEM_TYPES), it
            if isinstance(it, FileOpen):
                assert it.handle not in files
                files[it.handle] = "open"
            elif isinstance(it, (FileData, FileGap)):
                assert files.get(it.handle) == "open"
            elif isinstance(it, FileClose):
                assert files.get(it.handle) == "open"
                files[it.handle] = "closed"
        probe(ORIG, data)
        data_probe(RESP, data)
        parse_packet(data)
    for it in d.close(1e3):
        assert isinstance(it, ITEM_TYPES), it
        if isinstance(it, FileOpen):
            assert it.handle not in files
            files[it.handle] = "open"
        elif isinstance(it, (FileData, FileGap, FileClose)):
            assert files.get(it.handle) == "open"
            if isinstance(it, FileClose):
                files[it.handle] = "closed"
    assert all(v == "closed" for v in files.values())


@FUZZ
@given(convo)
def test_request_flow(steps):
    _run(request_ctx(), steps)


@FUZZ
@given(convo, st.sampled_from(["RRQ", "WRQ"]))
def test_transfer_flow(steps, op):
    _run(data_ctx(op, options=(("blksize", "8"), ("windowsize", "4"))), steps)


@FUZZ
@given(convo)
def test_transfer_without_request(steps):
    _run(ctx(Transport.UDP, orig=("10.0.0.9", 50000), resp=("10.0.0.1", 40000)), steps)
