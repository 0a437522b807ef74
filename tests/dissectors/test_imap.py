"""IMAP dissector: conversation fixtures (whole, byte by byte, random splits) and negative cases.

Expected values are read off the bytes of each conversation (RFC 9051/3501 examples
and hand-written exchanges), not copied from the dissector's output.
"""
from __future__ import annotations

import base64

import pytest

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Credential, FileClose, FileData, FileGap, FileOpen,
    Limits, StopParsing, Verdict, Violation,
)
from dissectors import imap
from dissectors.imap import (
    ImapAuthResponse, ImapCommand, ImapContinuation, ImapDissector, ImapDone, ImapLiteral,
    ImapResponse, ImapTransaction, decode_mailbox, probe,
)
from tests.conversation import C, Gap, S, ctx, normalize, of_type, run, run_all_ways

CTX = ctx(resp=("10.0.0.2", 143))
GREETING = S(b"* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR IDLE] Dovecot ready.\r\n")


def mk(limits: Limits | None = None):
    c = ctx(resp=("10.0.0.2", 143), limits=limits) if limits else CTX
    return lambda: ImapDissector(c)


def rows(items):
    return of_type(items, ImapTransaction)


def files(items):
    """handle → (FileOpen, bytes, FileClose|None)"""
    res: dict = {}
    for i in items:
        if isinstance(i, FileOpen):
            res[i.handle] = [i, b"", None]
        elif isinstance(i, FileData):
            res[i.handle][1] += i.data
        elif isinstance(i, FileClose):
            res[i.handle][2] = i
    return res


def b64(s: bytes) -> bytes:
    return base64.b64encode(s)


MSG1 = (b"From: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\n"
        b"To: mooch@owatagu.siam.edu.example\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n")


# ---------------------------------------------------------------- login, capability, select
def test_login_select_and_untagged_responses():
    items = run_all_ways(mk(), [
        GREETING,
        C(b"a001 CAPABILITY\r\n"),
        S(b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\na001 OK CAPABILITY completed\r\n"),
        C(b"a002 LOGIN \"joe\" \"p\\\"w d\"\r\n"), S(b"a002 OK LOGIN completed\r\n"),
        C(b"a003 SELECT INBOX\r\n"),
        S(b"* 172 EXISTS\r\n* 1 RECENT\r\n* OK [UNSEEN 12] Message 12 is first unseen\r\n"
          b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
          b"a003 OK [READ-WRITE] SELECT completed\r\n"),
        C(b"a004 SEARCH UNSEEN\r\n"), S(b"* SEARCH 2 84 882\r\na004 OK SEARCH completed\r\n"),
        C(b"a005 STORE 2 +FLAGS (\\Deleted)\r\n"),
        S(b"* 2 FETCH (FLAGS (\\Deleted \\Seen))\r\na005 OK STORE completed\r\n"),
        C(b"a006 EXAMINE \"&Jjo-!\"\r\n"), S(b"a006 NO no such mailbox\r\n"),
        C(b"a007 LIST \"\" \"*\"\r\n"), S(b"* LIST (\\HasNoChildren) \"/\" INBOX\r\na007 OK done\r\n"),
        C(b"a008 LOGOUT\r\n"), S(b"* BYE IMAP4rev1 Server logging out\r\na008 OK LOGOUT completed\r\n"),
    ])
    assert sum(isinstance(i, Confirm) for i in items) == 1
    (cred,) = of_type(items, Credential)
    assert (cred.username, cred.secret, cred.kind, cred.success) == ("joe", 'p"w d', "password", True)
    r = rows(items)
    assert [(x.tag, x.command, x.status) for x in r] == [
        ("a001", "CAPABILITY", "OK"), ("a002", "LOGIN", "OK"), ("a003", "SELECT", "OK"),
        ("a004", "SEARCH", "OK"), ("a005", "STORE", "OK"), ("a006", "EXAMINE", "NO"),
        ("a007", "LIST", "OK"), ("a008", "LOGOUT", "OK")]
    assert r[0].user == "" and r[1].user == "joe"
    assert r[2].mailbox == "INBOX" and r[3].mailbox == "INBOX"
    assert r[5].mailbox == "\u263a!"        # modified UTF-7, RFC 3501 5.1.3
    assert r[6].mailbox == ""               # a failed EXAMINE deselects
    assert r[2].reply_text == "[READ-WRITE] SELECT completed"
    resp = of_type(items, ImapResponse)
    assert resp[0].greeting and resp[0].code.startswith("CAPABILITY")
    untagged = [(x.number, x.keyword or x.status) for x in resp if x.tag == "*"]
    assert untagged == [(None, "OK"), (None, "CAPABILITY"), (172, "EXISTS"), (1, "RECENT"),
                        (None, "OK"), (None, "FLAGS"), (None, "SEARCH"), (2, "FETCH"),
                        (None, "LIST"), (None, "BYE")]
    assert [x.meaning() for x in resp if x.keyword == "EXISTS"] == ["the number of messages in the mailbox"]
    assert of_type(items, ImapCommand)[1].meaning().startswith("logs in")
    assert not of_type(items, FileOpen)


def test_login_with_literals():
    items = run_all_ways(mk(), [
        GREETING, C(b"A1 LOGIN {11}\r\n"), S(b"+ Ready for additional command text\r\n"),
        C(b"FRED FOOBAR {7}\r\n"), S(b"+ Ready\r\n"), C(b"fat man\r\n"), S(b"A1 OK LOGIN completed\r\n"),
        C(b"A2 LOGIN {4+}\r\nanna {3+}\r\n\"x\"\r\n"), S(b"A2 NO [AUTHENTICATIONFAILED] bad\r\n"),
    ])
    creds = of_type(items, Credential)
    assert [(c.username, c.secret, c.success) for c in creds] == [
        ("FRED FOOBAR", "fat man", True), ("anna", '"x"', False)]
    lits = of_type(items, ImapLiteral)
    assert [(x.size, x.non_sync, x.purpose) for x in lits] == [
        (11, False, "value"), (7, False, "value"), (4, True, "value"), (3, True, "value")]
    conts = of_type(items, ImapContinuation)
    assert [c.purpose for c in conts] == ["literal", "literal"]
    assert rows(items)[0].arg == "FRED FOOBAR ********"          # the password is in the credential only


# ---------------------------------------------------------------- AUTHENTICATE
def test_authenticate_plain_login_ir_and_cancel():
    items = run_all_ways(mk(), [
        GREETING,
        C(b"a1 AUTHENTICATE PLAIN\r\n"), S(b"+ \r\n"), C(b64(b"\x00tim\x00tanstaaf") + b"\r\n"),
        S(b"a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"),
        C(b"a2 AUTHENTICATE LOGIN\r\n"), S(b"+ VXNlcm5hbWU6\r\n"), C(b64(b"joe") + b"\r\n"),
        S(b"+ UGFzc3dvcmQ6\r\n"), C(b64(b"secret") + b"\r\n"), S(b"a2 OK Logged in\r\n"),
        C(b"a3 AUTHENTICATE PLAIN " + b64(b"admin\x00bob\x00pw") + b"\r\n"), S(b"a3 OK\r\n"),
        C(b"a4 AUTHENTICATE CRAM-MD5\r\n"), S(b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"),
        C(b"*\r\n"), S(b"a4 BAD cancelled\r\n"),
        C(b"a5 NOOP\r\n"), S(b"a5 OK\r\n"),
    ])
    creds = of_type(items, Credential)
    assert [(c.username, c.secret, c.success) for c in creds] == [
        ("tim", "tanstaaf", False), ("joe", "secret", True), ("bob", "pw", True)]
    assert [(x.command, x.status) for x in rows(items)] == [
        ("AUTHENTICATE", "NO"), ("AUTHENTICATE", "OK"), ("AUTHENTICATE", "OK"),
        ("AUTHENTICATE", "BAD"), ("NOOP", "OK")]
    conts = of_type(items, ImapContinuation)
    assert [c.decoded for c in conts][1:3] == ["Username:", "Password:"]
    assert all(c.purpose == "sasl" for c in conts)
    assert len(of_type(items, ImapAuthResponse)) == 4
    assert rows(items)[-1].user == "bob"


# ---------------------------------------------------------------- STARTTLS, COMPRESS
def test_starttls_stops_parsing():
    items = run_all_ways(mk(), [
        GREETING, C(b"a STARTTLS\r\n"), S(b"a OK Begin TLS negotiation now\r\n"),
        C(b"\x16\x03\x01\x00\x10binary"), S(b"\x16\x03\x03\x00\x10binary\r\n"),
    ])
    assert isinstance(items[-1], StopParsing) and items[-1].reason == "tls"
    assert not of_type(items, Anomaly)


# ---------------------------------------------------------------- FETCH
def fetch_convo():
    n = len(MSG1)
    hdr = MSG1.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    body = MSG1[len(hdr):]
    return [
        GREETING, C(b"a1 LOGIN joe pw\r\n"), S(b"a1 OK\r\n"), C(b"a2 SELECT INBOX\r\n"), S(b"a2 OK\r\n"),
        C(b"a3 FETCH 12 (FLAGS BODY.PEEK[])\r\n"),
        S(b"* 12 FETCH (FLAGS (\\Seen) BODY[] {%d}\r\n" % n + MSG1 + b")\r\na3 OK FETCH completed\r\n"),
        C(b"a4 UID FETCH 4827 (RFC822 RFC822.SIZE)\r\n"),
        S(b"* 13 FETCH (UID 4827 RFC822 {%d}\r\n" % n + MSG1 + b" RFC822.SIZE %d)\r\na4 OK done\r\n" % n),
        C(b"a5 FETCH 1:2 (BODY[HEADER] BODY[TEXT])\r\n"),
        S(b"* 1 FETCH (BODY[HEADER] {%d}\r\n" % len(hdr) + hdr + b" BODY[TEXT] {%d}\r\n" % len(body)
          + body + b")\r\n* 2 FETCH (BODY[HEADER] {0}\r\n BODY[TEXT] NIL)\r\na5 OK done\r\n"),
        C(b"a6 FETCH 3 BODY[]<0.20>\r\n"),
        S(b"* 3 FETCH (BODY[]<0> {20}\r\n" + MSG1[:20] + b")\r\na6 OK done\r\n"),
        C(b"a7 FETCH 3 BODY.PEEK[HEADER.FIELDS (SUBJECT)]\r\n"),
        S(b"* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {30}\r\nSubject: afternoon meeting\r\n\r\n)\r\na7 OK\r\n"),
    ], hdr, body


def test_fetch_whole_messages_sections_and_partials():
    convo, hdr, body = fetch_convo()
    items = run_all_ways(mk(), convo)
    f = files(items)
    got = [(fo.kind, fo.direction, data, fc.complete) for fo, data, fc in f.values()]
    assert got == [
        ("email", RESP, MSG1, True),            # BODY[]
        ("email", RESP, MSG1, True),            # RFC822
        ("email", RESP, hdr, True),             # BODY[HEADER]: a header-only message, flagged
        ("file", RESP, body, True),             # BODY[TEXT]
        ("email", RESP, b"", True),             # BODY[HEADER] {0}
        ("file", RESP, MSG1[:20], True),        # BODY[]<0>: partial fetch → plain file
        ("file", RESP, b"Subject: afternoon meeting\r\n\r\n", True),
    ]
    assert all(fo.source == "IMAP" for fo, _, _ in f.values())
    handles = list(f)
    r = {x.tag: x for x in rows(items)}
    assert r["a3"].fuids == (CTX.fuid(handles[0]),) and r["a3"].sections == ("BODY[]",)
    assert r["a4"].command == "UID FETCH" and r["a4"].arg == "4827 (RFC822 RFC822.SIZE)"
    assert r["a4"].sections == ("RFC822",)
    assert r["a5"].sections == ("BODY[HEADER]", "BODY[TEXT]", "BODY[HEADER]")
    assert r["a6"].sections == ("BODY[]<0>",)
    assert r["a7"].sections == ("BODY[HEADER.FIELDS (SUBJECT)]",)
    assert all(x.mailbox == "INBOX" for x in rows(items)[2:])
    lits = of_type(items, ImapLiteral)
    assert [(x.msg_number, x.purpose) for x in lits] == [
        (12, "message"), (13, "message"), (1, "message"), (1, "section"), (2, "message"),
        (3, "section"), (3, "section")]
    assert f[handles[1]][0].name_hint == "message 13 RFC822 UID 4827"
    fetches = [x for x in of_type(items, ImapResponse) if x.keyword == "FETCH"]
    assert fetches[0].text == "(FLAGS (\\Seen) BODY[] {%d bytes})" % len(MSG1)


def test_fetch_literal_split_at_every_byte():
    """Two chunks, split at every offset of the server's FETCH response."""
    wire = b"* 12 FETCH (BODY[] {%d}\r\n" % len(MSG1) + MSG1 + b")\r\na3 OK FETCH completed\r\n"
    head = [GREETING, C(b"a3 FETCH 12 BODY[]\r\n")]
    ref = normalize(run(mk(), head + [S(wire, ts=1.0)]))
    for k in range(1, len(wire)):
        got = normalize(run(mk(), head + [S(wire[:k], ts=1.0), S(wire[k:], ts=1.0)]))
        assert got == ref, k
    assert files(ref)[next(iter(files(ref)))][1] == MSG1


# ---------------------------------------------------------------- APPEND, IDLE
def test_append_non_synchronising_and_synchronising():
    items = run_all_ways(mk(), [
        GREETING,
        C(b"A003 APPEND saved-messages (\\Seen) {%d+}\r\n" % len(MSG1) + MSG1 + b"\r\n"),
        S(b"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"),
        C(b"A004 APPEND {5}\r\n"), S(b"+ go\r\n"), C(b"Draft \"07-Feb-1994 21:52:25 -0800\" {%d}\r\n" % len(MSG1)),
        S(b"+ Ready for literal data\r\n"), C(MSG1 + b"\r\n"), S(b"A004 OK APPEND completed\r\n"),
    ])
    f = list(files(items).values())
    assert [(fo.kind, fo.direction, data, fc.complete) for fo, data, fc in f] == [
        ("email", ORIG, MSG1, True), ("email", ORIG, MSG1, True)]
    r = rows(items)
    assert [(x.command, x.status, x.sections) for x in r] == [
        ("APPEND", "OK", ("APPEND",)), ("APPEND", "OK", ("APPEND",))]
    assert r[0].fuids == (CTX.fuid(f[0][0].handle),)
    assert r[0].arg == "saved-messages (\\Seen) {%d bytes}" % len(MSG1)
    assert r[1].arg.startswith('"Draft" "07-Feb-1994')
    assert of_type(items, ImapLiteral)[0].non_sync


def test_append_synchronising_literal_refused():
    items = run_all_ways(mk(), [
        GREETING, C(b"A1 APPEND INBOX {99999}\r\n"), S(b"A1 NO [TOOBIG] message too big\r\n"),
        C(b"A2 NOOP\r\n"), S(b"A2 OK\r\n"),
    ])
    assert not of_type(items, FileOpen)
    assert [(x.tag, x.command, x.status) for x in rows(items)] == [("A1", "APPEND", "NO"), ("A2", "NOOP", "OK")]


def test_idle_done():
    items = run_all_ways(mk(), [
        GREETING, C(b"A002 IDLE\r\n"), S(b"+ idling\r\n"), S(b"* 4 EXISTS\r\n"),
        C(b"DONE\r\n"), S(b"A002 OK IDLE terminated\r\n"), C(b"A003 NOOP\r\n"), S(b"A003 OK\r\n"),
    ])
    assert [c.purpose for c in of_type(items, ImapContinuation)] == ["idle"]
    assert len(of_type(items, ImapDone)) == 1
    assert [(x.command, x.status) for x in rows(items)] == [("IDLE", "OK"), ("NOOP", "OK")]


# ---------------------------------------------------------------- negative cases
def test_over_long_line():
    lim = Limits(max_line=128)
    items = run_all_ways(mk(lim), [
        GREETING, C(b"a1 LOGIN " + b"x" * 300 + b"\r\n"), C(b"a2 NOOP\r\n"), S(b"a2 OK\r\n"),
        S(b"* OK " + b"y" * 300 + b"\r\n"),
    ])
    assert [a.name for a in of_type(items, Anomaly)] == ["imap_line_too_long", "imap_line_too_long"]
    assert [(x.tag, x.status) for x in rows(items)] == [("a2", "OK")]


def test_huge_literal_is_refused_without_allocation():
    items = run_all_ways(mk(), [
        GREETING, C(b"a1 APPEND INBOX {4294967295}\r\n"), C(b"junk line\r\na2 NOOP\r\n"),
        S(b"* 1 FETCH (BODY[] {18446744073709551616000}\r\nSubject: x\r\n)\r\na2 OK\r\n"),
    ])
    names = [a.name for a in of_type(items, Anomaly)]
    assert names == ["imap_literal_too_long", "imap_literal_too_long"]
    assert not of_type(items, FileOpen)
    assert [(x.tag, x.command, x.status) for x in rows(items)] == [("a2", "NOOP", "OK"), ("a1", "APPEND", "")]


def test_message_cut_at_end_of_capture():
    items = run_all_ways(mk(), [
        GREETING, C(b"a1 FETCH 1 BODY[]\r\n"), S(b"* 1 FETCH (BODY[] {500}\r\nSubject: cut\r\n\r\nbeg"),
    ])
    ((fo, data, fc),) = files(items).values()
    assert fo.kind == "email" and data == b"Subject: cut\r\n\r\nbeg"
    assert not fc.complete and "capture ended" in fc.reason
    (r,) = rows(items)
    assert r.status == "" and r.fuids == (CTX.fuid(fo.handle),)


def test_gap_inside_literal_keeps_sync():
    items = run_all_ways(mk(), [
        GREETING, C(b"a1 FETCH 1 BODY[]\r\n"), S(b"* 1 FETCH (BODY[] {100}\r\n" + b"A" * 30),
        Gap(RESP, 50), S(b"B" * 20 + b")\r\na1 OK done\r\n"), C(b"a2 NOOP\r\n"), S(b"a2 OK\r\n"),
    ])
    (gap,) = of_type(items, FileGap)
    assert gap.length == 50
    ((fo, data, fc),) = files(items).values()
    assert data == b"A" * 30 + b"B" * 20 and not fc.complete
    assert [(x.tag, x.status) for x in rows(items)] == [("a1", "OK"), ("a2", "OK")]


def test_gap_past_literal_resyncs():
    items = run_all_ways(mk(), [
        GREETING, C(b"a1 FETCH 1 BODY[]\r\n"), S(b"* 1 FETCH (BODY[] {10}\r\n12345"),
        Gap(RESP, 40), S(b"rest of a line)\r\na1 OK done\r\n"),
    ])
    (gap,) = of_type(items, FileGap)
    assert gap.length == 5
    assert [(x.tag, x.status) for x in rows(items)] == [("a1", "OK")]


def test_server_side_only():
    items = run_all_ways(mk(), [
        S(b"* OK Coremail System IMap Server Ready\r\n"),
        S(b"* CAPABILITY IMAP4rev1 LITERAL+\r\nC1 OK CAPABILITY completed\r\n"),
        S(b"C3 OK LOGIN completed\r\n"),
        S(b"* 21 EXISTS\r\nC7 OK [READ-WRITE] SELECT completed\r\n"),
        S(b"* 21 FETCH (UID 1320886124 BODY[] {%d}\r\n" % len(MSG1) + MSG1 + b")\r\nC8 OK Fetch completed\r\n"),
    ])
    assert not of_type(items, ImapCommand)
    r = rows(items)
    assert [(x.tag, x.command, x.status) for x in r] == [("C1", "", "OK"), ("C3", "", "OK"), ("C7", "", "OK"),
                                                         ("C8", "", "OK")]
    ((fo, data, fc),) = files(items).values()
    assert fo.kind == "email" and data == MSG1 and fc.complete
    assert r[3].fuids == (CTX.fuid(fo.handle),)


def test_client_side_only():
    items = run_all_ways(mk(), [
        C(b"a1 LOGIN anna secret\r\na2 SELECT INBOX\r\n"), C(b"a3 AUTHENTICATE PLAIN\r\n"),
        C(b64(b"\x00anna\x00pw2") + b"\r\n"),
        C(b"a4 APPEND INBOX {%d+}\r\n" % len(MSG1) + MSG1 + b"\r\na5 LOGOUT\r\n"),
    ])
    r = rows(items)
    assert [(x.tag, x.command, x.status) for x in r] == [
        ("a1", "LOGIN", ""), ("a2", "SELECT", ""), ("a3", "AUTHENTICATE", ""), ("a4", "APPEND", ""),
        ("a5", "LOGOUT", "")]
    assert [(c.username, c.secret, c.success) for c in of_type(items, Credential)] == [
        ("anna", "secret", None), ("anna", "pw2", None)]
    ((fo, data, fc),) = files(items).values()
    assert data == MSG1 and fo.direction is ORIG and fo.kind == "email"


def test_mid_stream_start_inside_a_literal():
    items = run_all_ways(mk(), [
        S(b"tail of a message body\r\n(with) {3}\r\n)\r\n"),
        S(b"* 2 FETCH (BODY[] {%d}\r\n" % len(MSG1) + MSG1 + b")\r\n"),
        C(b"a9 NOOP\r\n"), S(b"a9 OK\r\n"),
    ])
    assert not of_type(items, Violation)
    ((fo, data, fc),) = files(items).values()
    assert data == MSG1
    # the FETCH answered a command sent before the capture began: its row has no tag
    assert [(x.tag, x.command, x.fuids) for x in rows(items)] == [
        ("a9", "NOOP", ()), ("", "", (CTX.fuid(fo.handle),))]


def test_binary_before_confirmation_is_a_violation():
    assert of_type(run(mk(), [C(b"\x16\x03\x01\x02\x00\x01\x00")]), Violation)
    assert of_type(run(mk(), [S(b"\x00\x00\x00\x10abc")]), Violation)


def test_pending_cap():
    items = run_all_ways(mk(Limits(max_pending_requests=2)), [GREETING, C(b"a NOOP\r\nb NOOP\r\nc NOOP\r\n")])
    assert [a.name for a in of_type(items, Anomaly)] == ["imap_pending_too_many"]
    assert len(rows(items)) == 3


# ---------------------------------------------------------------- probe, spec, helpers
@pytest.mark.parametrize("direction,data,verdict", [
    (RESP, b"* OK IMAP4rev1 Service Ready\r\n", Verdict.YES),
    (RESP, b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n", Verdict.YES),
    (RESP, b"* OK hello\r\n", Verdict.MAYBE),
    (RESP, b"* O", Verdict.MAYBE),
    (RESP, b"+OK POP3 ready\r\n", Verdict.NO),
    (RESP, b"220 ftp\r\n", Verdict.NO),
    (ORIG, b"a001 CAPABILITY\r\n", Verdict.YES),
    (ORIG, b"a001 LOGIN joe pw\r\n", Verdict.YES),
    (ORIG, b"a001 NOOP\r\n", Verdict.MAYBE),
    (ORIG, b"AUTH LOGIN\r\n", Verdict.NO),
    (ORIG, b"USER anna\r\n", Verdict.NO),
    (ORIG, b"GET / HTTP/1.1\r\n", Verdict.NO),
])
def test_probe(direction, data, verdict):
    assert probe(direction, data) is verdict


def test_spec_meanings_and_mailbox_names():
    (spec,) = imap.SPECS
    assert spec.service_name == "imap" and 143 in spec.ports
    assert isinstance(spec.factory(CTX), ImapDissector)
    for cmd in ("LOGIN", "AUTHENTICATE", "STARTTLS", "CAPABILITY", "SELECT", "EXAMINE", "LIST",
                "FETCH", "UID FETCH", "SEARCH", "STORE", "IDLE", "APPEND", "LOGOUT"):
        assert ImapCommand(0.0, ORIG, command=cmd).meaning()
    assert ImapResponse(0.0, RESP, tag="a1", status="NO").meaning()
    assert decode_mailbox("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == "~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e"
    assert decode_mailbox("a&-b") == "a&b" and decode_mailbox("bad&***-") == "bad&***-"
    assert ImapLiteral(0.0, RESP, size=5, purpose="message", section="BODY[]", msg_number=3).summary() == \
        "IMAP literal {5}: message BODY[] of message 3"
