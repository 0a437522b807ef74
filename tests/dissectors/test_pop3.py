"""POP3 dissector: conversation fixtures (whole, byte by byte, random splits) and negative cases.

Expected values are read off the bytes of each conversation (RFC 1939 examples and
hand-written exchanges), not copied from the dissector's output.
"""
from __future__ import annotations

import base64

import pytest

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Credential, FileClose, FileData, FileGap, FileOpen,
    Limits, StopParsing, Verdict, Violation,
)
from dissectors import pop3
from dissectors.pop3 import (
    Pop3AuthData, Pop3Command, Pop3Dissector, Pop3Listing, Pop3Message, Pop3Reply,
    Pop3Transaction, probe,
)
from tests.conversation import C, Gap, S, ctx, of_type, run, run_all_ways

CTX = ctx(resp=("10.0.0.2", 110))


def mk(limits: Limits | None = None):
    c = ctx(resp=("10.0.0.2", 110), limits=limits) if limits else CTX
    return lambda: Pop3Dissector(c)


def rows(items):
    return of_type(items, Pop3Transaction)


def file_bytes(items, handle=None):
    data = {}
    for i in items:
        if isinstance(i, FileData):
            data.setdefault(i.handle, b"")
            data[i.handle] += i.data
    if handle is None:
        return data
    return data.get(handle, b"")


GREETING = S(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n")


# ---------------------------------------------------------------- login
def test_user_pass_success_and_failure():
    items = run_all_ways(mk(), [
        GREETING,
        C(b"USER mrose\r\n"), S(b"+OK mrose is a real hoopy frood\r\n"),
        C(b"PASS wrong\r\n"), S(b"-ERR [AUTH] invalid password\r\n"),
        C(b"USER mrose\r\n"), S(b"+OK\r\n"),
        C(b"PASS tanstaaf\r\n"), S(b"+OK mrose's maildrop has 2 messages (320 octets)\r\n"),
    ])
    assert sum(isinstance(i, Confirm) for i in items) == 1
    creds = of_type(items, Credential)
    assert [(c.username, c.secret, c.kind, c.success) for c in creds] == [
        ("mrose", "wrong", "password", False), ("mrose", "tanstaaf", "password", True)]
    r = rows(items)
    assert [(x.command, x.arg, x.reply_status) for x in r] == [
        ("USER", "mrose", "+OK"), ("PASS", "********", "-ERR"), ("USER", "mrose", "+OK"),
        ("PASS", "********", "+OK")]                  # the secrets are in the credentials only
    assert r[1].reply_msg == "[AUTH] invalid password"
    assert all(x.user == "mrose" for x in r)
    replies = of_type(items, Pop3Reply)
    assert replies[0].greeting and replies[0].apop_challenge == "<1896.697170952@dbc.mtview.ca.us>"
    assert replies[2].code == "AUTH"
    assert replies[2].meaning().startswith("login failed")
    assert of_type(items, Pop3Command)[0].meaning()


def test_apop_credential():
    # RFC 1939 section 7 example
    items = run_all_ways(mk(), [
        GREETING,
        C(b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"),
        S(b"+OK maildrop has 1 message (369 octets)\r\n"),
    ])
    (cred,) = of_type(items, Credential)
    assert (cred.username, cred.secret, cred.kind, cred.success) == (
        "mrose", "c4c9334bac560ecc979e58001b3e22fb", "apop", True)
    assert rows(items)[0].user == "mrose"


# ---------------------------------------------------------------- listings and single-line replies
def test_capa_stat_list_uidl():
    items = run_all_ways(mk(), [
        GREETING,
        C(b"CAPA\r\n"), S(b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL PLAIN LOGIN\r\n"
                         b"PIPELINING\r\n.\r\n"),
        C(b"STAT\r\n"), S(b"+OK 2 320\r\n"),
        C(b"LIST\r\n"), S(b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"),
        C(b"LIST 2\r\n"), S(b"+OK 2 200\r\n"),
        C(b"LIST 3\r\n"), S(b"-ERR no such message, only 2 messages in maildrop\r\n"),
        C(b"UIDL\r\n"), S(b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"),
        C(b"UIDL 2\r\n"), S(b"+OK 2 QhdPYR:00WBw1Ph7x7\r\n"),
        C(b"LIST\r\n"), S(b"+OK 0 messages\r\n.\r\n"),
    ])
    listings = of_type(items, Pop3Listing)
    assert [(x.command, x.entries) for x in listings] == [
        ("CAPA", ("TOP", "USER", "SASL PLAIN LOGIN", "PIPELINING")),
        ("LIST", ("1 120", "2 200")),
        ("UIDL", ("1 whqtswO00WBw418f9t5JxYwZ", "2 QhdPYR:00WBw1Ph7x7")),
        ("LIST", ()),
    ]
    assert listings[1].count == 2 and not listings[1].truncated
    r = rows(items)
    assert [(x.command, x.arg, x.reply_status, x.reply_msg) for x in r] == [
        ("CAPA", "", "+OK", "Capability list follows"), ("STAT", "", "+OK", "2 320"),
        ("LIST", "", "+OK", "2 messages (320 octets)"), ("LIST", "2", "+OK", "2 200"),
        ("LIST", "3", "-ERR", "no such message, only 2 messages in maildrop"),
        ("UIDL", "", "+OK", ""), ("UIDL", "2", "+OK", "2 QhdPYR:00WBw1Ph7x7"),
        ("LIST", "", "+OK", "0 messages")]
    assert r[3].msg_number == 2
    assert not of_type(items, FileOpen)


# ---------------------------------------------------------------- messages
MSG_WIRE = (b"From: a@example.org\r\nSubject: dots\r\n\r\n..leading dot\r\n...two dots\r\n"
            b"middle . dot\r\n.\r\n")
MSG = b"From: a@example.org\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\r\nmiddle . dot\r\n"


def test_retr_unstuffs_and_reconstructs_message():
    items = run_all_ways(mk(), [
        GREETING, C(b"USER u\r\n"), S(b"+OK\r\n"), C(b"PASS p\r\n"), S(b"+OK\r\n"),
        C(b"RETR 1\r\n"), S(b"+OK %d octets\r\n" % len(MSG) + MSG_WIRE),
        C(b"DELE 1\r\n"), S(b"+OK message 1 deleted\r\n"),
        C(b"RSET\r\n"), S(b"+OK maildrop has 2 messages\r\n"),
        C(b"NOOP\r\n"), S(b"+OK\r\n"),
        C(b"QUIT\r\n"), S(b"+OK dewey POP3 server signing off\r\n"),
    ])
    (fo,) = of_type(items, FileOpen)
    assert (fo.kind, fo.source, fo.direction, fo.total_size) == ("email", "POP3", RESP, len(MSG))
    assert file_bytes(items, fo.handle) == MSG
    (fc,) = of_type(items, FileClose)
    assert fc.complete
    (ev,) = of_type(items, Pop3Message)
    assert ev.size == len(MSG) and ev.msg_number == 1 and not ev.partial
    r = {x.command: x for x in rows(items)}
    assert r["RETR"].fuid == CTX.fuid(fo.handle) and r["RETR"].msg_number == 1
    assert r["RETR"].msg_size == len(MSG) and not r["RETR"].partial
    assert [x.command for x in rows(items)] == ["USER", "PASS", "RETR", "DELE", "RSET", "NOOP", "QUIT"]


def test_empty_message_and_dot_only_lines():
    # an empty body: the terminator directly follows the status line
    items = run_all_ways(mk(), [GREETING, C(b"RETR 1\r\n"), S(b"+OK 0 octets\r\n.\r\n"),
                                C(b"RETR 2\r\n"), S(b"+OK\r\n..\r\n.\r\n")])
    data = file_bytes(items)
    assert [of_type(items, FileClose)[i].complete for i in (0, 1)] == [True, True]
    assert data.get("pop3-1", b"") == b""
    assert data["pop3-2"] == b".\r\n"


def test_top_is_partial_email():
    items = run_all_ways(mk(), [GREETING, C(b"TOP 1 1\r\n"),
                                S(b"+OK\r\nSubject: x\r\n\r\nfirst line\r\n.\r\n")])
    (fo,) = of_type(items, FileOpen)
    assert fo.kind == "email" and fo.name_hint == "TOP 1 1"
    assert file_bytes(items, fo.handle) == b"Subject: x\r\n\r\nfirst line\r\n"
    (r,) = rows(items)
    assert r.partial and r.msg_number == 1 and r.fuid
    assert of_type(items, Pop3Message)[0].partial


def test_pipelined_commands():
    items = run_all_ways(mk(), [
        GREETING,
        C(b"CAPA\r\nSTAT\r\nRETR 1\r\nLIST 1\r\nTOP 1 0\r\nQUIT\r\n"),
        S(b"+OK\r\nPIPELINING\r\n.\r\n+OK 1 30\r\n+OK 30 octets\r\nSubject: p\r\n\r\n+OK not a reply\r\n"
          b".\r\n+OK 1 30\r\n+OK\r\nSubject: p\r\n\r\n.\r\n+OK bye\r\n"),
    ])
    r = rows(items)
    assert [(x.command, x.reply_status, x.reply_msg) for x in r] == [
        ("CAPA", "+OK", ""), ("STAT", "+OK", "1 30"), ("RETR", "+OK", "30 octets"),
        ("LIST", "+OK", "1 30"), ("TOP", "+OK", ""), ("QUIT", "+OK", "bye")]
    data = file_bytes(items)
    assert data["pop3-1"] == b"Subject: p\r\n\r\n+OK not a reply\r\n"
    assert data["pop3-2"] == b"Subject: p\r\n\r\n"


# ---------------------------------------------------------------- AUTH
def b64(s: bytes) -> bytes:
    return base64.b64encode(s)


def test_auth_plain_with_continuation():
    items = run_all_ways(mk(), [
        GREETING, C(b"AUTH PLAIN\r\n"), S(b"+ \r\n"), C(b64(b"\x00tim\x00tanstaaftanstaaf") + b"\r\n"),
        S(b"+OK Maildrop locked and ready\r\n"), C(b"STAT\r\n"), S(b"+OK 0 0\r\n"),
    ])
    (cred,) = of_type(items, Credential)
    assert (cred.username, cred.secret, cred.kind, cred.success) == ("tim", "tanstaaftanstaaf", "password", True)
    assert [x.command for x in rows(items)] == ["AUTH", "STAT"]
    assert rows(items)[1].user == "tim"
    auth = of_type(items, Pop3AuthData)
    assert [a.direction for a in auth] == [RESP, ORIG]
    assert auth[1].data == "********" and auth[1].decoded == ""      # the SASL response carries the secret


def test_auth_login_and_initial_response_and_cancel():
    items = run_all_ways(mk(), [
        GREETING,
        C(b"AUTH LOGIN\r\n"), S(b"+ VXNlcm5hbWU6\r\n"), C(b64(b"anna") + b"\r\n"),
        S(b"+ UGFzc3dvcmQ6\r\n"), C(b64(b"s3cret") + b"\r\n"), S(b"-ERR authentication failed\r\n"),
        C(b"AUTH PLAIN " + b64(b"\x00bob\x00pw") + b"\r\n"), S(b"+OK\r\n"),
        C(b"AUTH CRAM-MD5\r\n"), S(b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+\r\n"), C(b"*\r\n"),
        S(b"-ERR cancelled\r\n"), C(b"NOOP\r\n"), S(b"+OK\r\n"),
    ])
    creds = of_type(items, Credential)
    assert [(c.username, c.secret, c.success) for c in creds] == [("anna", "s3cret", False), ("bob", "pw", True)]
    assert [x.command for x in rows(items)] == ["AUTH", "AUTH", "AUTH", "NOOP"]
    assert of_type(items, Pop3AuthData)[0].decoded == "Username:"


def test_auth_xoauth2_and_mechanism_listing():
    token = b64(b"user=joe@example.com\x01auth=Bearer ya29.tok\x01\x01")
    items = run_all_ways(mk(), [
        GREETING, C(b"AUTH\r\n"), S(b"+OK\r\nPLAIN\r\nXOAUTH2\r\n.\r\n"),
        C(b"AUTH XOAUTH2\r\n"), S(b"+ \r\n"), C(token + b"\r\n"), S(b"+OK Welcome.\r\n"),
    ])
    assert of_type(items, Pop3Listing)[0].entries == ("PLAIN", "XOAUTH2")
    (cred,) = of_type(items, Credential)
    assert (cred.username, cred.secret, cred.kind, cred.success) == ("joe@example.com", "ya29.tok", "oauth2", True)


# ---------------------------------------------------------------- STLS
def test_stls_stops_parsing_after_ok():
    items = run_all_ways(mk(), [
        GREETING, C(b"STLS\r\n"), S(b"+OK Begin TLS negotiation\r\n"),
        C(b"\x16\x03\x01\x00\x05hello"), S(b"\x16\x03\x03garbage\r\n"),
    ])
    assert isinstance(items[-1], StopParsing) and items[-1].reason == "tls"
    assert [x.command for x in rows(items)] == ["STLS"]
    assert not of_type(items, Anomaly)


def test_stls_refused_continues():
    items = run_all_ways(mk(), [GREETING, C(b"STLS\r\n"), S(b"-ERR not now\r\n"),
                                C(b"USER a\r\n"), S(b"+OK\r\n")])
    assert not of_type(items, StopParsing)
    assert [x.reply_status for x in rows(items)] == ["-ERR", "+OK"]


# ---------------------------------------------------------------- negative cases
def test_over_long_line_is_an_anomaly_and_parsing_continues():
    lim = Limits(max_line=64)
    items = run_all_ways(mk(lim), [
        GREETING, C(b"USER " + b"x" * 200 + b"\r\n"), C(b"NOOP\r\n"), S(b"+OK\r\n"),
        S(b"+OK " + b"y" * 300 + b"\r\n"),
    ])
    names = [a.name for a in of_type(items, Anomaly)]
    assert names.count("pop3_line_too_long") == 2
    assert [x.command for x in rows(items)] == ["NOOP"]


def test_message_cut_at_end_of_capture_is_flagged_partial():
    items = run_all_ways(mk(), [GREETING, C(b"RETR 1\r\n"),
                                S(b"+OK 500 octets\r\nSubject: cut\r\n\r\nonly the begin")])
    (fc,) = of_type(items, FileClose)
    assert not fc.complete and "capture ended" in fc.reason
    (r,) = rows(items)
    assert r.partial and r.command == "RETR" and r.reply_status == "+OK"
    assert file_bytes(items, fc.handle) == b"Subject: cut\r\n\r\nonly the begin"
    assert not of_type(items, Pop3Message)[0].complete


def test_gap_inside_message_counts_missing_bytes_and_resyncs():
    items = run_all_ways(mk(), [
        GREETING, C(b"RETR 1\r\n"), S(b"+OK 300 octets\r\nSubject: g\r\n\r\nbefore\r\n"),
        Gap(RESP, 123), S(b"after\r\n.\r\n"), C(b"QUIT\r\n"), S(b"+OK bye\r\n"),
    ])
    (gap,) = of_type(items, FileGap)
    assert gap.length == 123
    (fc,) = of_type(items, FileClose)
    assert not fc.complete
    assert file_bytes(items, fc.handle) == b"Subject: g\r\n\r\nbefore\r\nafter\r\n"
    assert [(x.command, x.reply_status) for x in rows(items)] == [("RETR", "+OK"), ("QUIT", "+OK")]
    assert rows(items)[0].partial


def test_client_gap_resyncs_on_next_command():
    items = run_all_ways(mk(), [GREETING, C(b"USER an"), Gap(ORIG, 10), C(b"na\r\nSTAT\r\n"),
                                S(b"+OK 1 2\r\n")])
    assert [x.command for x in rows(items)] == ["STAT"]


def test_server_side_only():
    items = run_all_ways(mk(), [
        GREETING, S(b"+OK\r\n"), S(b"+OK 2 320\r\n"),
        S(b"+OK 25 octets\r\nSubject: s\r\n\r\nbody line\r\n.\r\n"),
        S(b"+OK\r\n1 120\r\n2 200\r\n.\r\n"), S(b"+OK bye\r\n"),
    ])
    assert not of_type(items, Pop3Command)
    r = rows(items)
    assert [x.reply_msg for x in r] == ["", "2 320", "25 octets", "", "bye"]
    assert all(x.command == "" for x in r)
    (fo,) = of_type(items, FileOpen)
    assert fo.kind == "email"
    assert file_bytes(items, fo.handle) == b"Subject: s\r\n\r\nbody line\r\n"
    assert r[2].fuid == CTX.fuid(fo.handle)
    assert of_type(items, Pop3Listing)[0].entries == ("1 120", "2 200")


def test_client_side_only():
    items = run_all_ways(mk(), [C(b"USER anna\r\nPASS pw\r\nAUTH PLAIN\r\n"),
                                C(b64(b"\x00anna\x00pw2") + b"\r\n"), C(b"RETR 1\r\nQUIT\r\n")])
    assert [x.command for x in rows(items)] == ["USER", "PASS", "AUTH", "RETR", "QUIT"]
    assert all(x.reply_status == "" for x in rows(items))
    creds = of_type(items, Credential)
    assert [(c.username, c.secret, c.success) for c in creds] == [("anna", "pw", None), ("anna", "pw2", None)]


def test_mid_stream_start_resyncs():
    items = run_all_ways(mk(), [
        S(b"ody of a message that started before the capture\r\nmore\r\n.\r\n"),
        C(b"QUIT\r\n"), S(b"+OK bye\r\n"),
    ])
    assert not of_type(items, Anomaly) and not of_type(items, Violation)
    assert [(x.command, x.reply_status) for x in rows(items)] == [("QUIT", "+OK")]


def test_binary_before_confirmation_is_a_violation():
    items = run(mk(), [C(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")])
    assert of_type(items, Violation)
    items = run(mk(), [S(b"\x00\x01\x02binary\r\n")])
    assert of_type(items, Violation)


def test_pending_cap():
    lim = Limits(max_pending_requests=3)
    items = run_all_ways(mk(lim), [GREETING, C(b"NOOP\r\n" * 5)])
    assert [a.name for a in of_type(items, Anomaly)] == ["pop3_pending_too_many"]
    assert len(rows(items)) == 5


def test_message_cap():
    lim = Limits(max_message=10)
    items = run_all_ways(mk(lim), [GREETING, C(b"RETR 1\r\n"),
                                   S(b"+OK\r\n0123456789abcdef\r\nmore\r\n.\r\n+OK\r\n"), C(b"NOOP\r\n")])
    assert "pop3_message_too_long" in [a.name for a in of_type(items, Anomaly)]
    fc = of_type(items, FileClose)[0]
    assert not fc.complete
    assert file_bytes(items, fc.handle) == b"0123456789"


# ---------------------------------------------------------------- probe and spec
@pytest.mark.parametrize("direction,data,verdict", [
    (RESP, b"+OK POP3 server ready\r\n", Verdict.YES),
    (RESP, b"+OK", Verdict.MAYBE),
    (RESP, b"-ERR busy\r\n", Verdict.MAYBE),
    (RESP, b"220 smtp ready\r\n", Verdict.NO),
    (RESP, b"* OK IMAP4rev1\r\n", Verdict.NO),
    (ORIG, b"CAPA\r\n", Verdict.YES),
    (ORIG, b"USER anna\r\n", Verdict.MAYBE),
    (ORIG, b"AUTH PLAIN\r\n", Verdict.MAYBE),
    (ORIG, b"CA", Verdict.MAYBE),
    (ORIG, b"GET / HTTP/1.1\r\n", Verdict.NO),
    (ORIG, b"a001 CAPABILITY\r\n", Verdict.NO),
])
def test_probe(direction, data, verdict):
    assert probe(direction, data) is verdict


def test_spec_and_meanings():
    (spec,) = pop3.SPECS
    assert spec.service_name == "pop3" and 110 in spec.ports
    assert isinstance(spec.factory(CTX), Pop3Dissector)
    for cmd in ("USER", "PASS", "APOP", "AUTH", "STLS", "CAPA", "STAT", "LIST", "UIDL", "RETR",
                "TOP", "DELE", "RSET", "NOOP", "QUIT"):
        assert Pop3Command(0.0, ORIG, command=cmd).meaning()
    assert Pop3Reply(0.0, RESP, status="+OK", command="XYZ").meaning()
    assert Pop3Command(0.0, ORIG, command="XYZ").meaning() == ""
    ev = Pop3Command(0.0, ORIG, command="RETR", arg="1")
    assert ev.summary() == "POP3 RETR 1"
