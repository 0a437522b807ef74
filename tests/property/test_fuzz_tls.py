"""Hypothesis fuzzing of the TLS record layer, the handshake parsers and HTTP/2 framing: whatever the
bytes, only items come out (no exception, no internal error), file streams stay well formed, and the
parsers raise nothing but their own one-sentence error. Real conversations (OpenSSL in memory, the h2
library) are mutated too, with their keys, so decryption and the protocol inside are fuzzed as well."""
from __future__ import annotations

import dataclasses
import struct
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoder.keylog import Keyring
from decoder.model import ORIG, RESP, Limits
from dissectors import _tls_wire as wire
from dissectors.http2 import Http2Dissector
from dissectors.probes.http2 import PREFACE
from dissectors.tls import TlsDissector
from tests.conversation import ctx, feed_checked
from tests.tlsfixtures import h2_conversation, tls_conversation

_FOLDER = Path(tempfile.mkdtemp(prefix="wiretale-tls-fuzz-"))
REAL_TLS = {v: tls_conversation(_FOLDER, [(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                                           b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")], v, c, "http/1.1")
            for v, c in (("1.3", None), ("1.2", "ECDHE-RSA-AES128-GCM-SHA256"))}
REAL_H2 = h2_conversation([([(":method", "GET"), (":path", "/x"), (":scheme", "https"), (":authority", "a")],
                            b"")], [([(":status", "200"), ("content-type", "text/plain")], b"hello" * 100)])

RECORD_BITS = [b"\x16\x03\x01", b"\x16\x03\x03", b"\x17\x03\x03", b"\x14\x03\x03\x00\x01\x01", b"\x15\x03\x03\x00\x02",
               b"\x00\x05", b"\x40\x00", b"\xff\xff", b"\x01\x00\x00", b"\x02\x00\x00", b"\x0b\x00\x00", b"\x03\x03",
               b"\x00" * 32, b"\x00\x00", b"\x13\x01", b"\x00\x2b\x00\x03\x02\x03\x04", b"\x00\x10"]
H2_BITS = [PREFACE, b"\x00\x00\x00\x04\x00\x00\x00\x00\x00", b"\x00\x00\x06\x04\x00\x00\x00\x00\x00", b"\x00\x01",
           b"\x00\x00\x04\x01\x05\x00\x00\x00\x01", b"\x00\x00\x03\x00\x01\x00\x00\x00\x01", b"\x82\x84\x86",
           b"\x00\x00\x04\x09\x04\x00\x00\x00\x01", b"\x00\x00\x04\x03\x00\x00\x00\x00\x01", b"\x00\x00\x00\x00",
           b"\x3f\xe1\x1f", b"\x00\x00\x08\x07\x00\x00\x00\x00\x00"]

tls_chunk = st.one_of(st.binary(max_size=80), st.lists(st.sampled_from(RECORD_BITS), max_size=10).map(b"".join))
h2_chunk = st.one_of(st.binary(max_size=80), st.lists(st.sampled_from(H2_BITS), max_size=10).map(b"".join))


def _steps(chunk):
    return st.lists(st.tuples(st.sampled_from([ORIG, RESP]),
                              st.one_of(chunk, st.integers(min_value=1, max_value=3000))), max_size=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_steps(tls_chunk), lim=st.sampled_from([Limits(), Limits(max_header_block=8)]))
def test_tls_record_layer_fuzz(steps, lim):
    feed_checked(TlsDissector(ctx(resp=("10.0.0.2", 443), limits=lim)), steps)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300))
def test_handshake_parsers_raise_only_their_error(body):
    for parse in (wire.parse_client_hello, wire.parse_server_hello, wire.parse_encrypted_extensions,
                  lambda b: wire.parse_certificate(b, False), lambda b: wire.parse_certificate(b, True)):
        try:
            parse(body)
        except wire.TlsParseError:
            pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(version=st.sampled_from(sorted(REAL_TLS)), data=st.data())
def test_mutated_real_sessions_with_keys(version, data):
    steps, keys = REAL_TLS[version]
    secrets = Keyring()
    secrets.add_text(keys, "fuzz")
    i = data.draw(st.integers(min_value=0, max_value=len(steps) - 1))
    raw = bytearray(steps[i].data)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        pos = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw[pos] ^= data.draw(st.integers(min_value=1, max_value=255))
    mutated = [(s.direction, s.data) for s in steps[:i]] + [(steps[i].direction, bytes(raw))] + \
        [(s.direction, s.data) for s in steps[i + 1:]]
    feed_checked(TlsDissector(dataclasses.replace(ctx(resp=("10.0.0.2", 443)), secrets=secrets)), mutated)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_steps(h2_chunk), preface=st.booleans(),
       lim=st.sampled_from([Limits(), Limits(max_header_block=32, max_pending_requests=2)]))
def test_http2_framing_fuzz(steps, preface, lim):
    if preface:
        steps = [(ORIG, PREFACE)] + steps
    feed_checked(Http2Dissector(ctx(resp=("10.0.0.2", 443), limits=lim)), steps)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_real_http2(data):
    i = data.draw(st.integers(min_value=0, max_value=len(REAL_H2) - 1))
    raw = bytearray(REAL_H2[i].data)
    pos = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[pos] ^= data.draw(st.integers(min_value=1, max_value=255))
    steps = [(s.direction, s.data) for s in REAL_H2]
    steps[i] = (steps[i][0], bytes(raw))
    feed_checked(Http2Dissector(ctx(resp=("10.0.0.2", 443))), steps)


def test_record_header_of_every_type_is_bounded():
    """A record claiming the most the header allows is refused before it is buffered."""
    d = TlsDissector(ctx(resp=("10.0.0.2", 443)))
    items = d.feed(ORIG, struct.pack("!BHH", 22, 0x0303, 0xFFFF), 0.0)
    assert len(d.dirs[0].buf) == 0 and items
