"""SMTP dissector: conversation fixtures run whole, byte by byte and at random splits."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Credential, FileClose, FileData, FileGap, FileOpen, Limits,
    StopParsing, Verdict, Violation,
)
from dissectors import smtp
from dissectors.smtp import (
    SmtpAuthData, SmtpCommand, SmtpDissector, SmtpMessage, SmtpReply, SmtpTransaction, probe,
)
from tests.conversation import C, Gap, S, ctx, of_type, run_all_ways


def go(convo, limits: Limits | None = None):
    return run_all_ways(lambda: SmtpDissector(ctx(limits=limits)), convo)


def file_bytes(items, handle=None) -> bytes:
    return b"".join(i.data for i in of_type(items, FileData) if handle in (None, i.handle))


def anomalies(items) -> list[str]:
    return [a.name for a in of_type(items, Anomaly)]


def b64(s: bytes) -> bytes:
    return base64.b64encode(s)


GREETING = S(b"220 mx.example.org ESMTP Postfix\r\n")
EHLO = [C(b"EHLO client.example.net\r\n"),
        S(b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-CHUNKING\r\n"
          b"250-STARTTLS\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n")]

MESSAGE = (b"From: Anna <anna@example.net>\r\nTo: Bob <bob@example.org>, carl@example.org\r\n"
           b"Subject: =?UTF-8?Q?caf=C3=A9?=\r\nMessage-ID: <m1@example.net>\r\n"
           b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
           b"Received: from [192.0.2.7] by mx.example.org; Mon, 1 Jan 2024 10:00:01 +0000\r\n"
           b"\r\nHello Bob,\r\n.leading dot\r\n\r\n.\r\nbye\r\n")


def stuff(msg: bytes) -> bytes:
    """Dot-stuff a message (RFC 5321 4.5.2) and add the end-of-data line."""
    lines = msg.split(b"\r\n")
    return b"\r\n".join(b"." + ln if ln.startswith(b".") else ln for ln in lines) + b".\r\n"


# ---------------------------------------------------------------- the happy paths
def test_ehlo_multiline_reply_and_auth_plain():
    items = go([GREETING, *EHLO,
                C(b"AUTH PLAIN " + b64(b"\x00anna\x00s3cret") + b"\r\n"),
                S(b"235 2.7.0 Authentication successful\r\n"),
                C(b"QUIT\r\n"), S(b"221 2.0.0 Bye\r\n")])
    assert sum(isinstance(i, Confirm) for i in items) == 1
    replies = of_type(items, SmtpReply)
    assert [(r.code, r.command) for r in replies] == [(220, ""), (250, "EHLO"), (235, "AUTH"),
                                                       (221, "QUIT")]
    ehlo = replies[1]
    assert ehlo.text.split("\n") == ["mx.example.org", "PIPELINING", "SIZE 10240000", "CHUNKING",
                                     "STARTTLS", "AUTH PLAIN LOGIN CRAM-MD5"]
    assert "PIPELINING" in ehlo.summary() and ehlo.meaning()
    cmds = of_type(items, SmtpCommand)
    assert [c.command for c in cmds] == ["EHLO", "AUTH", "QUIT"]
    assert "s3cret" not in cmds[1].summary() and b64(b"\x00anna\x00s3cret").decode() not in cmds[1].summary()
    assert all(c.meaning() for c in cmds)
    [cred] = of_type(items, Credential)
    assert (cred.protocol, cred.username, cred.secret, cred.kind, cred.success) == \
        ("smtp", "anna", "s3cret", "password", True)
    [row] = of_type(items, SmtpTransaction)
    assert row.helo == "client.example.net" and row.auth_user == "anna" and row.trans_depth == 1
    assert row.last_reply is None or row.last_reply.startswith("2")


def test_auth_login_failure():
    items = go([GREETING, *EHLO, C(b"AUTH LOGIN\r\n"), S(b"334 VXNlcm5hbWU6\r\n"),
                C(b64(b"anna") + b"\r\n"), S(b"334 UGFzc3dvcmQ6\r\n"),
                C(b64(b"wrong") + b"\r\n"), S(b"535 5.7.8 Error: authentication failed\r\n"),
                C(b"QUIT\r\n"), S(b"221 Bye\r\n")])
    [cred] = of_type(items, Credential)
    assert (cred.username, cred.secret, cred.success) == ("anna", "wrong", False)
    assert len(of_type(items, SmtpAuthData)) == 2
    assert [c.command for c in of_type(items, SmtpCommand)] == ["EHLO", "AUTH", "QUIT"]
    assert [r.code for r in of_type(items, SmtpReply)] == [220, 250, 334, 334, 535, 221]
    assert of_type(items, SmtpReply)[4].meaning() == smtp.REPLY_MEANINGS[535]
    # secrets never reach the timeline text
    assert all("wrong" not in e.summary() and b64(b"wrong").decode() not in e.summary()
               for e in of_type(items, SmtpAuthData))


def test_auth_cram_md5_rfc2195_example():
    challenge = b"<1896.697170952@postoffice.reston.mci.net>"
    digest = hmac.new(b"tanstaaftanstaaf", challenge, hashlib.md5).hexdigest()
    assert digest == "b913a602c7eda7a495b4e6e7334d3890"   # RFC 2195 section 2
    response = b64(b"tim " + digest.encode())
    items = go([GREETING, *EHLO, C(b"AUTH CRAM-MD5\r\n"), S(b"334 " + b64(challenge) + b"\r\n"),
                C(response + b"\r\n"), S(b"235 ok\r\n")])
    [cred] = of_type(items, Credential)
    assert cred.username == "tim" and cred.kind == "cram-md5" and cred.success is True
    assert cred.secret == f"$cram_md5${b64(challenge).decode()}${response.decode()}"


def test_pipelined_transaction_with_rejected_recipient_and_dot_unstuffing():
    items = go([GREETING, *EHLO,
                C(b"MAIL FROM:<anna@example.net> SIZE=500\r\nRCPT TO:<bob@example.org>\r\n"
                  b"RCPT TO:<nobody@example.org>\r\nRCPT TO:<carl@example.org>\r\nDATA\r\n"),
                S(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <nobody@example.org>: user unknown\r\n"
                  b"250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
                C(stuff(MESSAGE)), S(b"250 2.0.0 Ok: queued as 12345\r\n"),
                C(b"QUIT\r\n"), S(b"221 2.0.0 Bye\r\n")])
    replies = of_type(items, SmtpReply)
    assert [(r.code, r.command) for r in replies][2:] == [
        (250, "MAIL"), (250, "RCPT"), (550, "RCPT"), (250, "RCPT"), (354, "DATA"), (250, "."),
        (221, "QUIT")]
    [opened] = of_type(items, FileOpen)
    assert (opened.kind, opened.source) == ("email", "SMTP")
    assert file_bytes(items) == MESSAGE
    [closed] = of_type(items, FileClose)
    assert closed.complete
    [m] = of_type(items, SmtpMessage)
    assert m.size == len(MESSAGE) and m.complete and m.subject == "café"
    [row] = of_type(items, SmtpTransaction)
    # Zeek 7.0 smtp.log meaning: mailboxes without <>; the paths as sent in *_path
    assert row.mailfrom == "anna@example.net" and row.declared_size == 500
    assert row.mailfrom_path == "<anna@example.net>"
    assert row.rcptto == ["bob@example.org", "nobody@example.org", "carl@example.org"]
    assert row.rcptto_path == ["<bob@example.org>", "<nobody@example.org>", "<carl@example.org>"]
    assert row.rejected_rcptto == ["nobody@example.org"]
    assert row.from_ == "Anna <anna@example.net>"
    assert row.to == ["Bob <bob@example.org>", "carl@example.org"]
    assert row.subject == "café" and row.msg_id == "<m1@example.net>"
    assert row.date == "Mon, 1 Jan 2024 10:00:00 +0000"
    assert row.path == ["10.0.0.2", "10.0.0.1", "192.0.2.7"]
    assert row.last_reply == "250 2.0.0 Ok: queued as 12345"
    assert row.fuids == [ctx().fuid(opened.handle)] and row.complete is True
    assert row.msg_size == len(MESSAGE) and row.tls is False


def test_two_transactions_with_rset():
    items = go([GREETING, *EHLO,
                C(b"MAIL FROM:<a@x.org>\r\n"), S(b"250 ok\r\n"),
                C(b"RCPT TO:<b@y.org>\r\n"), S(b"250 ok\r\n"),
                C(b"RSET\r\n"), S(b"250 reset\r\n"),
                C(b"MAIL FROM:<c@x.org>\r\n"), S(b"250 ok\r\n"),
                C(b"RCPT TO:<d@y.org>\r\n"), S(b"250 ok\r\n"),
                C(b"DATA\r\n"), S(b"354 go\r\n"),
                C(b"Subject: two\r\n\r\nbody\r\n.\r\n"), S(b"250 queued\r\n"),
                C(b"MAIL FROM:<e@x.org>\r\n"), S(b"250 ok\r\n"),
                C(b"RCPT TO:<f@y.org>\r\n"), S(b"250 ok\r\n"),
                C(b"DATA\r\n"), S(b"354 go\r\n"),
                C(b"Subject: three\r\n\r\nbody 3\r\n.\r\n"), S(b"250 queued 3\r\n"),
                C(b"QUIT\r\n"), S(b"221 bye\r\n")])
    rows = of_type(items, SmtpTransaction)
    assert [(r.trans_depth, r.mailfrom, r.subject, len(r.fuids)) for r in rows] == [
        (1, "a@x.org", None, 0), (2, "c@x.org", "two", 1), (3, "e@x.org", "three", 1)]
    assert rows[2].last_reply == "250 queued 3"
    handles = [o.handle for o in of_type(items, FileOpen)]
    assert len(set(handles)) == 2
    assert file_bytes(items, handles[0]) == b"Subject: two\r\n\r\nbody\r\n"
    assert file_bytes(items, handles[1]) == b"Subject: three\r\n\r\nbody 3\r\n"


def test_bdat_chunks_are_exact_and_not_unstuffed():
    part1 = b"Subject: chunked\r\n\r\n.line\r\n"
    part2 = b"\r\n.\r\nstill data\r\n"
    items = go([GREETING, *EHLO, C(b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@y.org>\r\n"),
                S(b"250 ok\r\n250 ok\r\n"),
                C(b"BDAT %d\r\n" % len(part1) + part1 + b"BDAT %d LAST\r\n" % len(part2) + part2),
                S(b"250 2.0.0 chunk ok\r\n250 2.0.0 message ok\r\n"),
                C(b"QUIT\r\n"), S(b"221 bye\r\n")])
    assert file_bytes(items) == part1 + part2
    assert [c.command for c in of_type(items, SmtpCommand)] == ["EHLO", "MAIL", "RCPT", "BDAT", "BDAT",
                                                                  "QUIT"]
    [closed] = of_type(items, FileClose)
    assert closed.complete
    [row] = of_type(items, SmtpTransaction)
    assert row.subject == "chunked" and row.last_reply == "250 2.0.0 message ok"


def test_bdat_zero_last():
    items = go([GREETING, C(b"EHLO x\r\n"), S(b"250 ok\r\n"), C(b"MAIL FROM:<a@x>\r\n"),
                S(b"250 ok\r\n"), C(b"BDAT 5\r\nabc\r\nBDAT 0 LAST\r\n"), S(b"250 ok\r\n250 done\r\n")])
    assert file_bytes(items) == b"abc\r\n"
    assert of_type(items, FileClose)[0].complete


def test_starttls_stops_parsing_and_marks_tls():
    items = go([GREETING, *EHLO, C(b"STARTTLS\r\n"), S(b"220 2.0.0 Ready to start TLS\r\n"),
                C(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(40))),
                S(b"\x16\x03\x03\x00\x5a\x02\x00\x00\x56")])
    stops = of_type(items, StopParsing)
    assert len(stops) == 1 and stops[0].reason == "tls"
    assert isinstance(items[-1], StopParsing)
    [row] = of_type(items, SmtpTransaction)
    assert row.tls is True and row.helo == "client.example.net"
    assert not anomalies(items)


def test_starttls_client_side_only_stops_on_tls_record():
    items = go([C(b"EHLO a.example\r\nSTARTTLS\r\n"), C(b"\x16\x03\x01\x00\x10" + b"\x00" * 16)])
    assert of_type(items, StopParsing) and of_type(items, SmtpTransaction)[0].tls


def test_dot_unstuffing_edge_cases_and_bare_lf_terminator():
    body = b"a\r\n..\r\n...x\r\n.y\n..\r\n.\rz\r\n"
    items = go([GREETING, C(b"HELO h\r\n"), S(b"250 ok\r\n"), C(b"MAIL FROM:<a@x>\r\n"),
                S(b"250 ok\r\n"), C(b"RCPT TO:<b@y>\r\n"), S(b"250 ok\r\n"), C(b"DATA\r\n"),
                S(b"354 go\r\n"), C(body + b"last\n.\n"), S(b"250 ok\r\n"), C(b"QUIT\r\n"),
                S(b"221 bye\r\n")])
    assert file_bytes(items) == b"a\r\n.\r\n..x\r\ny\n.\r\n\rz\r\nlast\n"
    assert [c.command for c in of_type(items, SmtpCommand)][-1] == "QUIT"


def test_empty_message():
    items = go([GREETING, C(b"HELO h\r\nMAIL FROM:<>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
                S(b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"), C(b".\r\n"), S(b"250 ok\r\n")])
    assert file_bytes(items) == b""
    assert len(of_type(items, FileOpen)) == 1 and of_type(items, FileClose)[0].complete


def test_data_refused():
    items = go([GREETING, C(b"HELO h\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
                S(b"250 ok\r\n250 ok\r\n550 no\r\n554 no valid recipients\r\n"),
                C(b"QUIT\r\n"), S(b"221 bye\r\n")])
    assert not of_type(items, FileOpen)
    assert [c.command for c in of_type(items, SmtpCommand)] == ["HELO", "MAIL", "RCPT", "DATA", "QUIT"]
    [row] = of_type(items, SmtpTransaction)
    assert row.rejected_rcptto == ["b@y"] and row.last_reply == "554 no valid recipients"


# ---------------------------------------------------------------- negative cases
def test_over_long_line():
    lim = Limits(max_line=64)
    items = go([GREETING, C(b"EHLO " + b"x" * 200 + b"\r\nNOOP\r\n"), S(b"500 too long\r\n250 ok\r\n")],
               limits=lim)
    assert "smtp_line_too_long" in anomalies(items)
    assert [c.command for c in of_type(items, SmtpCommand)] == ["NOOP"]


def test_message_cut_at_end_of_capture():
    items = go([GREETING, C(b"HELO h\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
                S(b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
                C(b"Subject: cut\r\n\r\nfirst line\r\nsecond li")])
    assert file_bytes(items) == b"Subject: cut\r\n\r\nfirst line\r\nsecond li"
    [closed] = of_type(items, FileClose)
    assert not closed.complete and closed.reason
    assert "smtp_message_incomplete" in anomalies(items)
    [m] = of_type(items, SmtpMessage)
    assert not m.complete
    [row] = of_type(items, SmtpTransaction)
    assert row.complete is False and row.subject == "cut"


def test_gap_inside_data_counts_missing_bytes_and_resyncs():
    items = go([GREETING, C(b"HELO h\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
                S(b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
                C(b"Subject: gap\r\n\r\nbefore\r\n"), Gap(ORIG, 1234), C(b"after\r\n.\r\n"),
                S(b"250 queued\r\n"), C(b"QUIT\r\n"), S(b"221 bye\r\n")])
    [g] = of_type(items, FileGap)
    assert g.length == 1234
    assert file_bytes(items) == b"Subject: gap\r\n\r\nbefore\r\nafter\r\n"
    [closed] = of_type(items, FileClose)
    assert not closed.complete
    [m] = of_type(items, SmtpMessage)
    assert m.missing_bytes == 1234 and not m.complete
    assert [c.command for c in of_type(items, SmtpCommand)][-1] == "QUIT"
    assert [r.command for r in of_type(items, SmtpReply)][-2:] == [".", "QUIT"]
    [row] = of_type(items, SmtpTransaction)
    assert row.complete is False and row.last_reply == "250 queued"


def test_gap_swallowing_the_end_of_data():
    items = go([GREETING, C(b"HELO h\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
                S(b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
                C(b"Subject: lost\r\n\r\nbody\r\n"), Gap(ORIG, 50), S(b"250 queued\r\n"),
                C(b"T\r\nQUIT\r\n"), S(b"221 bye\r\n")])
    [closed] = of_type(items, FileClose)
    assert not closed.complete
    assert file_bytes(items) == b"Subject: lost\r\n\r\nbody\r\n"
    assert [c.command for c in of_type(items, SmtpCommand)][-1] == "QUIT"
    assert [r.code for r in of_type(items, SmtpReply)][-1] == 221


def test_server_side_only():
    items = go([GREETING, S(b"250-mx\r\n250 PIPELINING\r\n"), S(b"250 ok\r\n250 ok\r\n354 go\r\n"),
                S(b"250 queued as X\r\n"), S(b"221 bye\r\n")])
    assert [r.code for r in of_type(items, SmtpReply)] == [220, 250, 250, 250, 354, 250, 221]
    assert not of_type(items, SmtpCommand) and not of_type(items, FileOpen)
    [row] = of_type(items, SmtpTransaction)
    assert row.last_reply == "221 bye"


def test_client_side_only():
    items = go([C(b"EHLO me\r\nAUTH LOGIN\r\n" + b64(b"anna") + b"\r\n" + b64(b"pw") + b"\r\n"
                  b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
                C(b"Subject: one-sided\r\n\r\nhi\r\n.\r\nQUIT\r\n")])
    assert [c.command for c in of_type(items, SmtpCommand)] == ["EHLO", "AUTH", "MAIL", "RCPT", "DATA",
                                                                  "QUIT"]
    [cred] = of_type(items, Credential)
    assert (cred.username, cred.secret, cred.success) == ("anna", "pw", None)
    assert file_bytes(items) == b"Subject: one-sided\r\n\r\nhi\r\n"
    [row] = of_type(items, SmtpTransaction)
    assert row.subject == "one-sided" and row.mailfrom == "a@x" and row.last_reply is None


def test_mid_stream_start_inside_data():
    items = go([C(b"rest of a body line\r\nMAIL is fun but not a command\r\n.\r\n"),
                S(b"250 2.0.0 queued\r\n"),
                C(b"MAIL FROM:<a@x>\r\n"), S(b"250 ok\r\n"), C(b"QUIT\r\n"), S(b"221 bye\r\n")])
    assert [c.command for c in of_type(items, SmtpCommand)] == ["MAIL", "QUIT"]
    assert not of_type(items, Violation)
    assert not [a for a in anomalies(items) if a == "smtp_bad_command"]


def test_message_cap():
    items = go([GREETING, C(b"HELO h\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
                S(b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
                C(b"0123456789abcdefghij\r\n.\r\n"), S(b"250 ok\r\n")],
               limits=Limits(max_message=10))
    assert file_bytes(items) == b"0123456789"
    assert "smtp_message_too_long" in anomalies(items)
    assert not of_type(items, FileClose)[0].complete


def test_header_block_cap():
    head = b"Subject: big\r\n" + b"X-Pad: " + b"p" * 200 + b"\r\n"
    items = go([GREETING, C(b"HELO h\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"),
                S(b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
                C(head + b"\r\nbody\r\n.\r\n"), S(b"250 ok\r\n")],
               limits=Limits(max_header_block=100))
    assert "smtp_header_block_too_long" in anomalies(items)
    assert file_bytes(items) == head + b"\r\nbody\r\n"
    assert of_type(items, SmtpTransaction)[0].subject == "big"


def test_pending_cap():
    lim = Limits(max_pending_requests=3)
    items = go([GREETING, C(b"NOOP\r\n" * 6)], limits=lim)
    assert anomalies(items).count("smtp_pending_too_many") == 1


def test_foreign_server_bytes_violation():
    items = go([S(b"\x00\x01\x02garbage\r\n")])
    assert of_type(items, Violation) and not of_type(items, Confirm)


def test_foreign_server_text_violation_after_three_lines():
    items = go([S(b"+OK POP3 ready\r\n+OK\r\n+OK\r\n")])
    assert of_type(items, Violation)


def test_unknown_command_and_bad_reply_are_data():
    items = go([GREETING, C(b"XYZZY plugh\r\n"), S(b"500 5.5.2 unrecognized\r\nnot a reply\r\n")])
    assert [c.command for c in of_type(items, SmtpCommand)] == ["XYZZY"]
    assert of_type(items, SmtpCommand)[0].meaning() == ""
    assert "smtp_bad_reply" in anomalies(items)


# ---------------------------------------------------------------- probe and spec
@pytest.mark.parametrize("direction,data,verdict", [
    (RESP, b"220 mx.example.org ESMTP Postfix\r\n", Verdict.YES),
    (RESP, b"220-smtp.example.com Microsoft ESMTP MAIL Service\r\n", Verdict.YES),
    (RESP, b"220 ProFTPD Server ready\r\n", Verdict.NO),
    (RESP, b"220 welcome\r\n", Verdict.MAYBE),
    (RESP, b"HTTP/1.1 200 OK\r\n", Verdict.NO),
    (RESP, b"22", Verdict.MAYBE),
    (ORIG, b"EHLO client\r\n", Verdict.YES),
    (ORIG, b"helo client\r\n", Verdict.YES),
    (ORIG, b"MAIL FROM:<a@b>\r\n", Verdict.YES),
    (ORIG, b"EH", Verdict.MAYBE),
    (ORIG, b"GET / HTTP/1.1\r\n", Verdict.NO),
    (ORIG, b"\x16\x03\x01\x00\xa5", Verdict.NO),
])
def test_probe(direction, data, verdict):
    assert probe(direction, data) is verdict


def test_spec():
    [spec] = smtp.SPECS
    assert spec.service_name == "smtp" and 25 in spec.ports and 587 in spec.ports
    assert 465 not in spec.ports


def test_smtp_table_has_zeek_from_column(tmp_path):
    """``from`` is a Python keyword: the record's ``from_`` field is written as Zeek's ``from`` (Zeek 7.0
    smtp.log: the From header's value)."""
    from reports.tables import schema

    cols = schema("smtp")
    assert "from" in cols and "from_" not in cols
    assert smtp.SmtpTransaction.COLUMNS["from_"] == "from"


def test_meanings_cover_rfc5321_codes():
    for code in (211, 214, 220, 221, 250, 251, 252, 354, 421, 450, 451, 452, 455, 500, 501, 502,
                 503, 504, 550, 551, 552, 553, 554, 555):
        assert SmtpReply(0.0, RESP, code).meaning()
    assert SmtpReply(0.0, RESP, 299).meaning() == "success"


@pytest.mark.parametrize("mail,rcpt,mailfrom,rcptto", [
    (b"MAIL FROM:<> SIZE=10", b"RCPT TO:<@relay.example,@b.example:joe@c.example> NOTIFY=NEVER",
     None, ["joe@c.example"]),
    (b"MAIL FROM:bare@x.example", b"RCPT TO:<Postmaster>", "bare@x.example", ["Postmaster"]),
])
def test_mailbox_columns_follow_zeek(mail, rcpt, mailfrom, rcptto):
    """Zeek 7.0 smtp.log: ``mailfrom``/``rcptto`` are mailboxes (no <>, no source route, no
    parameters); the null reverse path <> leaves ``mailfrom`` empty and is kept in ``mailfrom_path``."""
    items = go([GREETING, C(b"HELO h\r\n"), S(b"250 ok\r\n"), C(mail + b"\r\n"), S(b"250 ok\r\n"),
                C(rcpt + b"\r\n"), S(b"250 ok\r\n"), C(b"QUIT\r\n"), S(b"221 bye\r\n")])
    [row] = of_type(items, SmtpTransaction)
    assert (row.mailfrom, row.rcptto) == (mailfrom, rcptto)
    assert row.mailfrom_path == mail.split(b":", 1)[1].split(b" ")[0].decode()
    assert row.rcptto_path == [rcpt.split(b":", 1)[1].split(b" ")[0].decode()]
