"""Hypothesis fuzzing of the SMTP dissector and of the MIME parser: only items come
out, never an exception, whatever the bytes, the direction and the split points."""
from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings, strategies as st

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Credential, Event, FileClose, FileData, FileGap, FileOpen,
    Limits, Record, StopParsing, Violation,
)
from dissectors.mime import MailParse, explode, parse_headers
from dissectors.smtp import SmtpDissector, probe
from tests.conversation import ctx

ITEM_TYPES = (Event, Record, Anomaly, FileOpen, FileData, FileGap, FileClose, Confirm, Violation,
              StopParsing, Credential)
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# fragments that drive the state machine into its interesting corners
TOKENS = [b"220 mx ESMTP\r\n", b"250-PIPELINING\r\n", b"250 ok\r\n", b"354 go\r\n", b"334 \r\n",
          b"334 VXNlcm5hbWU6\r\n", b"235 ok\r\n", b"535 no\r\n", b"221 bye\r\n", b"550 no\r\n",
          b"EHLO x\r\n", b"HELO y\r\n", b"MAIL FROM:<a@b> SIZE=10\r\n", b"RCPT TO:<c@d>\r\n",
          b"DATA\r\n", b"BDAT 5\r\n", b"BDAT 3 LAST\r\n", b"BDAT x\r\n", b"RSET\r\n", b"QUIT\r\n",
          b"AUTH PLAIN\r\n", b"AUTH LOGIN YQ==\r\n", b"AUTH CRAM-MD5\r\n", b"AUTH XOAUTH2 dXNlcj1h\r\n",
          b"STARTTLS\r\n", b"*\r\n", b"AGEAYg==\r\n", b".\r\n", b"..\r\n", b"\n.\n", b"\r\n",
          b"Subject: =?utf-8?q?x?=\r\n", b"\r\n\r\n", b".", b"\r", b"\n", b"\x16\x03\x01",
          b"\x00\xff", b"250", b"-", b" "]


@st.composite
def conversations(draw):
    steps = []
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["tok", "tok", "tok", "bin", "gap"]))
        direction = draw(st.sampled_from([ORIG, RESP]))
        if kind == "tok":
            data = b"".join(draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6)))
        elif kind == "bin":
            data = draw(st.binary(max_size=200))
        else:
            steps.append(("gap", direction, draw(st.integers(0, 5000))))
            continue
        cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
        prev = 0
        for c in cuts + [len(data)]:
            steps.append(("feed", direction, data[prev:c]))
            prev = c
    return steps


def _check(items):
    assert isinstance(items, list)
    for it in items:
        assert isinstance(it, ITEM_TYPES), type(it)
        if isinstance(it, Event):
            assert isinstance(it.summary(), str)
            if hasattr(it, "meaning"):
                assert isinstance(it.meaning(), str)


@SETTINGS
@given(conversations(), st.sampled_from([Limits(), Limits(max_line=16, max_message=40,
                                                          max_header_block=20,
                                                          max_pending_requests=3)]))
def test_dissector_never_raises(steps, limits):
    d = SmtpDissector(ctx(limits=limits))
    ts = 0.0
    opened, closed = set(), set()
    for kind, direction, arg in steps:
        ts += 0.01
        items = d.gap(direction, arg, ts) if kind == "gap" else d.feed(direction, arg, ts)
        _check(items)
        opened |= {i.handle for i in items if isinstance(i, FileOpen)}
        closed |= {i.handle for i in items if isinstance(i, FileClose)}
    items = d.close(ts + 1)
    _check(items)
    opened |= {i.handle for i in items if isinstance(i, FileOpen)}
    closed |= {i.handle for i in items if isinstance(i, FileClose)}
    # every object opened is closed exactly once, whatever happened
    assert closed == opened


@SETTINGS
@given(st.binary(max_size=2000), st.binary(max_size=2000))
def test_dissector_raw_binary_both_directions(a, b):
    d = SmtpDissector(ctx())
    _check(d.feed(ORIG, a, 1.0))
    _check(d.feed(RESP, b, 1.1))
    _check(d.gap(ORIG, 10, 1.2))
    _check(d.feed(ORIG, b, 1.3))
    _check(d.close(2.0))


@SETTINGS
@given(st.sampled_from([ORIG, RESP]), st.binary(max_size=300))
def test_probe_never_raises(direction, data):
    probe(direction, data)


MIME_TOKENS = [b"Content-Type: multipart/mixed; boundary=B\r\n", b"Content-Type: multipart/alternative; boundary=\"C\"\r\n",
               b"Content-Type: message/rfc822\r\n", b"Content-Type: text/plain; charset=utf-8\r\n",
               b"Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC.txt\r\n",
               b"Content-Disposition: attachment; filename*0*=x; filename*1=\"y\"\r\n",
               b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: quoted-printable\r\n",
               b"Subject: =?iso-8859-1?q?caf=E9?= =?utf-8?b?w6k=?=\r\n", b"From: \"a, b\" <a@b>, c\r\n",
               b"Received: from x ([1.2.3.4]) by y\r\n", b"\r\n", b"--B\r\n", b"--B--\r\n", b"--C\r\n",
               b"--C--\r\n", b"aGVsbG8=\r\n", b"=3D=\r\n", b"body\r\n", b"\xe9\xff\x00", b"=?", b"\n"]


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(MIME_TOKENS), st.binary(max_size=30)), max_size=40),
       st.sampled_from([Limits(), Limits(max_mime_depth=2, max_mime_parts=4, max_file_size=10,
                                         max_header_block=30)]))
def test_explode_never_raises(chunks, limits):
    data = b"".join(chunks)
    r = explode(data, limits)
    assert isinstance(r, MailParse)
    assert not any(d.startswith("parser_error") for d in r.defects), r.defects
    assert len(r.parts) <= limits.max_mime_parts
    assert all(p["depth"] <= limits.max_mime_depth for p in r.parts)
    assert all(len(a.data) <= limits.max_file_size for a in r.attachments)
    paths = [p["path"] for p in r.parts]
    assert len(paths) == len(set(paths)), paths
    assert isinstance(parse_headers(data), dict)
    assert all(dataclasses.is_dataclass(a) for a in r.attachments)
