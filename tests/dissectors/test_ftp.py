"""FTP control and data dissectors: conversation fixtures and session assembly.

Expected values come from the bytes in each fixture (RFC 959/2428 syntax worked
by hand: e.g. PORT 10,0,0,1,156,64 → port 156*256+64 = 40000)."""
from __future__ import annotations

import pytest

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Credential, Expect, ExpectationMatch, FileClose,
    FileData, FileGap, FileOpen, StopParsing, Verdict, Violation,
)
from dissectors import ftp
from dissectors.ftp import (
    DataChannel, FtpCommand, FtpDataDissector, FtpDataSummary, FtpDissector, FtpListing,
    FtpRecord, FtpReply, assemble, parse_eprt_arg, parse_epsv_reply, parse_listing_line,
    parse_pasv_reply, probe,
)
from tests.conversation import C, Gap, S, ctx, of_type, run, run_all_ways

CLIENT = ("10.0.0.1", 40000)
SERVER = ("10.0.0.2", 21)


def control(uid: str = "Cctl", **kw):
    return lambda: FtpDissector(ctx(orig=kw.get("orig", CLIENT), resp=kw.get("resp", SERVER),
                                    uid=uid, limits=kw.get("limits")))


def rows(items):
    return of_type(items, FtpRecord)


LOGIN = [
    S(b"220 (vsFTPd 3.0.3)\r\n"),
    C(b"USER anna\r\n"), S(b"331 Please specify the password.\r\n"),
    C(b"PASS s3cret\r\n"), S(b"230 Login successful.\r\n"),
]


# ---------------------------------------------------------------- login and credentials
def test_login_success_credential_and_rows():
    items = run_all_ways(control(), LOGIN + [C(b"QUIT\r\n"), S(b"221 Goodbye.\r\n")])
    assert of_type(items, Confirm)
    creds = of_type(items, Credential)
    assert len(creds) == 1
    assert (creds[0].protocol, creds[0].username, creds[0].secret, creds[0].kind,
            creds[0].success) == ("ftp", "anna", "s3cret", "password", True)
    r = rows(items)
    assert [x.command for x in r] == ["USER", "PASS", "QUIT"]
    assert [x.reply_code for x in r] == [331, 230, 221]
    assert r[1].user == "anna" and r[1].password == "********" and r[1].arg == "********"   # the credential has it
    assert r[0].reply_msg == "Please specify the password."
    # events: summary masks the password, meanings come from RFC 959
    cmds = of_type(items, FtpCommand)
    assert cmds[1].summary() == "PASS ********"
    assert "password" in cmds[1].meaning()
    reps = of_type(items, FtpReply)
    assert reps[1].code == 331 and reps[1].meaning() == "user name okay, need password"
    assert reps[0].command == "" and reps[1].command == "USER"


def test_login_failure_and_anonymous():
    items = run_all_ways(control(), [
        S(b"220 FTP server ready\r\n"),
        C(b"USER anonymous\r\n"), S(b"331 Guest login ok\r\n"),
        C(b"PASS guest@example.com\r\n"), S(b"530 Login incorrect.\r\n"),
        C(b"USER ftp\r\n"), S(b"331 ok\r\n"), C(b"PASS x\r\n"),
    ])
    creds = of_type(items, Credential)
    assert [(c.username, c.kind, c.success) for c in creds] == [
        ("anonymous", "anonymous", False), ("ftp", "anonymous", None)]
    # the last PASS never got a reply: row with reply_code None at close
    assert rows(items)[-1].command == "PASS" and rows(items)[-1].reply_code is None


def test_acct_credential():
    items = run_all_ways(control(), LOGIN[:4] + [S(b"332 Need account\r\n"), C(b"ACCT proj7\r\n"),
                                                 S(b"230 ok\r\n")])
    creds = of_type(items, Credential)
    assert [(c.kind, c.secret, c.success) for c in creds] == [
        ("password", "s3cret", None), ("account", "proj7", True)]


# ---------------------------------------------------------------- multi-line replies
def test_multiline_replies_both_forms():
    items = run_all_ways(control(), [
        S(b"220-Welcome\r\n220-second line\r\n220 ready FTP\r\n"),
        C(b"FEAT\r\n"), S(b"211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n211 End\r\n"),
        C(b"HELP\r\n"), S(b"214-The following commands are recognized.\r\n"
                           b" ABOR ACCT ALLO APPE CDUP CWD\r\n214 Help OK.\r\n"),
        C(b"SYST\r\n"), S(b"215 UNIX Type: L8\r\n"),
    ])
    reps = of_type(items, FtpReply)
    assert [r.code for r in reps] == [220, 211, 214, 215]
    assert reps[0].text == "Welcome\n220-second line\n220 ready FTP"
    assert reps[1].text.splitlines()[1:4] == [" EPRT", " EPSV", " MDTM"]
    assert reps[2].summary() == "214 The following commands are recognized. (+2 lines)"
    assert [x.command for x in rows(items)] == ["FEAT", "HELP", "SYST"]
    assert not of_type(items, Anomaly)


def test_reply_ends_at_first_code_space_line_then_stray_lines():
    # RFC 959 4.2: the reply ends at the first line starting with the code and a
    # space; what follows is a stray text line (anomaly) and an unsolicited reply.
    items = run_all_ways(control(), [
        S(b"220 FTP\r\n"), C(b"HELP\r\n"),
        S(b"214-The following\r\n214 is the end\r\n  USER PASS\r\n214-more\r\n214 OK.\r\n"),
    ])
    reps = of_type(items, FtpReply)
    assert [(r.code, r.command) for r in reps] == [(220, ""), (214, "HELP"), (214, "")]
    assert [a.name for a in of_type(items, Anomaly)] == ["ftp_bad_reply"]


def test_multiline_reply_true_rfc959_form():
    items = run_all_ways(control(), [
        S(b"220 FTP ready\r\n"), C(b"STAT\r\n"),
        S(b"211-status of server:\r\n    connected to 10.0.0.1\r\n"
          b"123 this line starts with other digits\r\n211 End of status\r\n"),
    ])
    reps = of_type(items, FtpReply)
    assert reps[-1].code == 211
    assert reps[-1].text.splitlines() == [
        "status of server:", "    connected to 10.0.0.1",
        "123 this line starts with other digits", "211 End of status"]
    assert not of_type(items, Anomaly)


def test_multiline_reply_capped():
    lim = ctx().limits.replace(max_header_block=100)
    body = b"211-x\r\n" + b" feature line\r\n" * 20 + b"211 End\r\n"
    items = run(control(limits=lim), [S(b"220 FTP\r\n"), C(b"FEAT\r\n"), S(body)])
    assert any(a.name == "ftp_reply_too_long" for a in of_type(items, Anomaly))


def test_unterminated_multiline_reply_at_close():
    items = run_all_ways(control(), [S(b"220 FTP\r\n"), C(b"FEAT\r\n"), S(b"211-Features\r\n x\r\n")])
    assert any(a.name == "ftp_reply_unterminated" for a in of_type(items, Anomaly))
    assert rows(items)[-1].reply_code == 211


# ---------------------------------------------------------------- working directory
def test_cwd_tracking_and_full_paths():
    items = run_all_ways(control(), LOGIN + [
        C(b"PWD\r\n"), S(b'257 "/home/anna" is the current directory\r\n'),
        C(b"CWD docs\r\n"), S(b"250 Directory successfully changed.\r\n"),
        C(b"CWD ../pics\r\n"), S(b"250 ok\r\n"),
        C(b"CWD nowhere\r\n"), S(b"550 Failed to change directory.\r\n"),
        C(b"CDUP\r\n"), S(b"250 ok\r\n"),
        C(b"CWD /srv/ftp\r\n"), S(b'250 CWD command successful. "/srv/ftp" is current directory.\r\n'),
        C(b"MKD new\r\n"), S(b'257 "/srv/ftp/new" created\r\n'),
        C(b"PWD\r\n"), S(b'257 "/srv/ftp/with ""quotes""" is cwd\r\n'),
        C(b"DELE a.txt\r\n"), S(b"250 deleted\r\n"),
        C(b"RNFR b.txt\r\n"), S(b"350 ready\r\n"), C(b"RNTO /tmp/c.txt\r\n"), S(b"250 ok\r\n"),
    ])
    r = {(x.command, x.arg): x for x in rows(items)}
    assert r[("CWD", "docs")].path == "/home/anna/docs"
    assert r[("CWD", "../pics")].cwd == "/home/anna/docs"
    assert r[("CWD", "../pics")].path == "/home/anna/pics"
    assert r[("CWD", "nowhere")].cwd == "/home/anna/pics"
    assert r[("CDUP", "")].cwd == "/home/anna/pics"
    assert r[("CWD", "/srv/ftp")].cwd == "/home/anna"
    assert r[("MKD", "new")].cwd == "/srv/ftp"          # MKD's 257 does not move the cwd
    assert r[("MKD", "new")].path == "/srv/ftp/new"
    assert r[("DELE", "a.txt")].cwd == '/srv/ftp/with "quotes"'
    assert r[("DELE", "a.txt")].path == '/srv/ftp/with "quotes"/a.txt'
    assert r[("RNTO", "/tmp/c.txt")].path == "/tmp/c.txt"


# ---------------------------------------------------------------- data channel expectations
def test_port_expectation_after_200_and_retr_linked_by_token():
    items = run_all_ways(control(), LOGIN + [
        C(b"TYPE I\r\n"), S(b"200 Switching to Binary mode.\r\n"),
        C(b"PORT 10,0,0,1,156,64\r\n"), S(b"200 PORT command successful.\r\n"),
        C(b"RETR report.pdf\r\n"),
        S(b"150 Opening BINARY mode data connection for report.pdf (1234 bytes).\r\n"),
        S(b"226 Transfer complete.\r\n"),
    ])
    exps = of_type(items, Expect)
    assert len(exps) == 1
    e = exps[0]
    assert (e.service, e.resp_h, e.resp_p, e.orig_h) == ("ftp-data", "10.0.0.1", 40000, None)
    assert e.ttl == ctx().limits.ftp_expect_ttl and e.token
    # the Expect comes with the PORT command: servers connect before their 200
    kinds = [type(i).__name__ for i in items]
    assert kinds[kinds.index("Expect") - 1] == "FtpCommand"
    retr = [x for x in rows(items) if x.command == "RETR"][0]
    assert retr.data_token == e.token and retr.file_size == 1234
    assert retr.data_channel == DataChannel(False, None, "10.0.0.1", 40000)
    assert retr.path == "report.pdf" and retr.data_status == "complete"


def test_port_refused_channel_not_used():
    items = run_all_ways(control(), LOGIN + [C(b"PORT 10,0,0,1,156,64\r\n"),
                                             S(b"500 Illegal PORT command.\r\n"),
                                             C(b"RETR x\r\n"), S(b"425 Use PORT or PASV first.\r\n")])
    e1, e2 = of_type(items, Expect)
    assert e1.resp_p == 40000 and (e2.resp_h, e2.resp_p) == CLIENT   # RFC 959 default port
    retr = rows(items)[-1]
    assert retr.data_token == e2.token and retr.data_status == "failed"


def test_pasv_epsv_eprt_and_odd_227_forms():
    items = run_all_ways(control(), LOGIN + [
        C(b"PASV\r\n"), S(b"227 Entering Passive Mode (10,0,0,2,117,48).\r\n"),
        C(b"LIST\r\n"), S(b"150 Here comes the directory listing.\r\n226 Directory send OK.\r\n"),
        C(b"PASV\r\n"), S(b"227 =10,0,0,2,4,1\r\n"),               # RFC 1123 odd form
        C(b"NLST\r\n"), S(b"150 ok\r\n226 ok\r\n"),
        C(b"PASV\r\n"), S(b"227 Entering Passive Mode 0,0,0,0,4,2\r\n"),  # unspecified host
        C(b"MLSD\r\n"), S(b"150 ok\r\n226 ok\r\n"),
        C(b"EPSV\r\n"), S(b"229 Entering Extended Passive Mode (|||58612|)\r\n"),
        C(b"RETR x\r\n"), S(b"150 ok\r\n226 ok\r\n"),
        C(b"EPRT |1|10.0.0.1|6275|\r\n"), S(b"200 EPRT command successful.\r\n"),
        C(b"STOR y\r\n"), S(b"150 ok\r\n226 ok\r\n"),
    ])
    exps = of_type(items, Expect)
    assert [(e.orig_h, e.resp_h, e.resp_p) for e in exps] == [
        ("10.0.0.1", "10.0.0.2", 117 * 256 + 48),
        ("10.0.0.1", "10.0.0.2", 1025),
        ("10.0.0.1", "10.0.0.2", 1026),
        ("10.0.0.1", "10.0.0.2", 58612),
        (None, "10.0.0.1", 6275),
    ]
    assert len({e.token for e in exps}) == 5
    transfers = [x for x in rows(items) if x.command in ("LIST", "NLST", "MLSD", "RETR", "STOR")]
    assert [x.data_token for x in transfers] == [e.token for e in exps]
    assert [x.data_channel.passive for x in transfers] == [True] * 4 + [False]


def test_ipv6_epsv_and_eprt():
    c6, s6 = ("fd00:10:16:1::3", 50000), ("fd00:10:16:1::2", 21)
    items = run_all_ways(control(orig=c6, resp=s6), LOGIN + [
        C(b"EPSV\r\n"), S(b"229 Entering extended passive mode (|||21008|).\r\n"),
        C(b"STOR up.txt\r\n"), S(b"125 Data connection already open. Transfer starting.\r\n"),
        S(b"226 Transfer complete.\r\n"),
        C(b"EPRT |2|FD00:10:16:1:0:0:0:3|40467|\r\n"), S(b"200 EPRT ok\r\n"),
        C(b"STOU up.txt\r\n"), S(b"125 FILE: up.txt.q9tg2_t1\r\n"), S(b"226 Transfer complete.\r\n"),
    ])
    exps = of_type(items, Expect)
    assert [(e.orig_h, e.resp_h, e.resp_p) for e in exps] == [
        ("fd00:10:16:1::3", "fd00:10:16:1::2", 21008), (None, "fd00:10:16:1::3", 40467)]
    stou = [x for x in rows(items) if x.command == "STOU"][0]
    assert stou.path == "up.txt.q9tg2_t1"


def test_transfer_without_port_uses_rfc959_default_port():
    items = run_all_ways(control(), LOGIN + [C(b"RETR a\r\n"), S(b"150 ok\r\n226 ok\r\n")])
    (e,) = of_type(items, Expect)
    assert (e.resp_h, e.resp_p) == CLIENT


def test_aborted_and_failed_transfers():
    items = run_all_ways(control(), LOGIN + [
        C(b"PASV\r\n"), S(b"227 Entering Passive Mode (10,0,0,2,117,48).\r\n"),
        C(b"RETR big.iso\r\n"), S(b"150 Opening BINARY mode (9999 bytes).\r\n"),
        S(b"426 Failure writing network stream.\r\n"),
        C(b"PASV\r\n"), S(b"227 Entering Passive Mode (10,0,0,2,117,49).\r\n"),
        C(b"RETR missing\r\n"), S(b"550 Failed to open file.\r\n"),
        C(b"PASV\r\n"), S(b"227 Entering Passive Mode (10,0,0,2,117,50).\r\n"),
        C(b"STOR full\r\n"), S(b"150 ok\r\n451 Local error\r\n"),
    ])
    st = [(x.arg, x.reply_code, x.data_status) for x in rows(items) if x.command in ("RETR", "STOR")]
    assert st == [("big.iso", 426, "aborted"), ("missing", 550, "failed"), ("full", 451, "aborted")]


def test_auth_tls_stops_parsing():
    items = run_all_ways(control(), [S(b"220 FTP\r\n"), C(b"AUTH TLS\r\n"),
                                     S(b"234 Proceed with negotiation.\r\n"),
                                     C(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
                                     S(b"\x16\x03\x03\x00\x5a")])
    assert of_type(items, StopParsing)[0].reason == "tls"
    assert isinstance(items[-1], StopParsing)
    assert rows(items)[-1].command == "AUTH"


def test_auth_refused_keeps_parsing():
    items = run_all_ways(control(), [S(b"220 FTP\r\n"), C(b"AUTH TLS\r\n"),
                                     S(b"530 Please login with USER and PASS.\r\n"),
                                     C(b"USER a\r\n"), S(b"331 ok\r\n")])
    assert not of_type(items, StopParsing)
    assert [x.command for x in rows(items)] == ["AUTH", "USER"]


def test_size_mdtm_rest_type_and_iac_in_commands():
    items = run_all_ways(control(), LOGIN + [
        C(b"SIZE f.bin\r\n"), S(b"213 4980924\r\n"),
        C(b"MDTM f.bin\r\n"), S(b"213 20070815022252\r\n"),
        C(b"REST 1000\r\n"), S(b"350 Restart position accepted (1000).\r\n"),
        C(b"PASV\r\n"), S(b"227 Entering Passive Mode (10,0,0,2,1,1)\r\n"),
        C(b"RETR f.bin\r\n"), S(b"150 Data connection accepted; transfer starting.\r\n"),
        C(b"\xff\xf4\xff\xf2ABOR\r\n"), S(b"426 aborted\r\n226 ABOR ok\r\n"),
        C(b"mkd lower\r\n"), S(b'257 "/lower" created\r\n'),
    ])
    r = rows(items)
    size = [x for x in r if x.command == "SIZE"][0]
    assert size.file_size == 4980924
    retr = [x for x in r if x.command == "RETR"][0]
    assert retr.file_size == 4980924          # from the SIZE reply for the same path
    assert [x.command for x in r][-2:] == ["ABOR", "MKD"]   # IAC IP/DM removed, case folded


# ---------------------------------------------------------------- robustness
def test_gap_in_control_stream_resyncs():
    items = run(control(), LOGIN + [C(b"CWD somewh"), Gap(ORIG, 20), C(b"ere\r\nPWD\r\n"),
                                    S(b"250 ok\r\n"), S(b'257 "/x"\r\n')])
    assert any(a.name == "ftp_content_gap" for a in of_type(items, Anomaly))
    assert "PWD" in [x.command for x in rows(items)]


def test_line_too_long_and_pending_cap():
    lim = ctx().limits.replace(max_line=64, max_pending_requests=3)
    items = run(control(limits=lim), LOGIN + [C(b"CWD " + b"a" * 200 + b"\r\n")]
                + [C(b"NOOP\r\n")] * 5)
    names = {a.name for a in of_type(items, Anomaly)}
    assert {"ftp_line_too_long", "ftp_pending_too_many"} <= names


def test_violation_on_foreign_protocol():
    items = run(control(), [C(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), S(b"HTTP/1.1 200 OK\r\n")])
    assert of_type(items, Violation) and not rows(items)
    items = run(control(), [S(b"+OK POP3 ready\r\n")])
    assert of_type(items, Violation)


def test_probe():
    assert probe(RESP, b"220 (vsFTPd 3.0.3)\r\n") is Verdict.YES
    assert probe(RESP, b"220-FileZilla Server 0.9\r\n") is Verdict.YES
    assert probe(RESP, b"220 mail.example.com ESMTP Postfix\r\n") is Verdict.NO
    assert probe(RESP, b"220 hello\r\n") is Verdict.MAYBE
    assert probe(RESP, b"+OK ready\r\n") is Verdict.NO
    assert probe(ORIG, b"USER anna\r\n") is Verdict.YES
    assert probe(ORIG, b"AUTH TLS\r\n") is Verdict.YES
    assert probe(ORIG, b"GET / HTTP/1.1\r\n") is Verdict.NO
    # Telnet option negotiation on port 21 must go to Telnet
    assert probe(ORIG, b"\xff\xfa\x25\x02\x02\xff\xf0") is Verdict.NO
    assert probe(RESP, b"\xff\xfb\x01") is Verdict.NO


def test_address_parsers():
    assert parse_pasv_reply(b"Entering Passive Mode (192,168,0,193,28,86)") == ("192.168.0.193", 7254)
    assert parse_pasv_reply(b"Entering Passive Mode (300,1,1,1,1,1)") is None
    assert parse_epsv_reply(b"Entering Extended Passive Mode (!!!6446!)") == 6446
    assert parse_epsv_reply(b"Entering Extended Passive Mode (|||0|)") is None
    assert parse_eprt_arg(b"|2|1080::8:800:200C:417A|5282|") == ("1080::8:800:200c:417a", 5282)
    assert parse_eprt_arg(b"|1|1080::8|5282|") is None                      # family mismatch
    assert parse_eprt_arg(b"|1|132.235.1.2|6275|") == ("132.235.1.2", 6275)


def test_bad_pasv_reply_is_an_anomaly():
    items = run_all_ways(control(), LOGIN + [C(b"PASV\r\n"), S(b"227 Entering Passive Mode\r\n"),
                                             C(b"EPSV\r\n"), S(b"229 Entering (|||x|)\r\n")])
    assert {a.name for a in of_type(items, Anomaly)} == {"ftp_bad_pasv", "ftp_bad_epsv"}
    assert not of_type(items, Expect)


# ---------------------------------------------------------------- data connection
def data_ctx(token="Cctl.ftp-data.1", parent="Cctl", uid="Cdata", orig=("10.0.0.2", 20),
             resp=("10.0.0.1", 40000)):
    exp = ExpectationMatch(parent_uid=parent, token=token, service="ftp-data", meta={}) if token else None
    return lambda: FtpDataDissector(ctx(orig=orig, resp=resp, uid=uid, expectation=exp))


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_data_retr_file_passive():
    items = run_all_ways(data_ctx(), [S(PNG[:700]), S(PNG[700:])])
    (fo,) = of_type(items, FileOpen)
    assert fo.source == "FTP_DATA" and fo.direction is RESP and fo.mime_type == "image/png"
    data = b"".join(d.data for d in of_type(items, FileData))
    assert data == PNG
    (fc,) = of_type(items, FileClose)
    assert fc.complete
    (summ,) = of_type(items, FtpDataSummary)
    assert (summ.token, summ.parent_uid, summ.resp_bytes, summ.orig_bytes) == (
        "Cctl.ftp-data.1", "Cctl", len(PNG), 0)
    assert not of_type(items, FtpListing)        # binary: no tentative listing rows


def test_data_stor_flows_client_to_server_in_passive_mode():
    items = run_all_ways(data_ctx(), [C(b"hello upload\n" * 10)])
    (fo,) = of_type(items, FileOpen)
    assert fo.direction is ORIG and fo.mime_type == "text/plain"


def test_data_gap_inside_file_is_partial():
    items = run_all_ways(data_ctx(), [S(PNG[:600]), Gap(RESP, 100), S(PNG[700:])])
    gaps = of_type(items, FileGap)
    assert [g.length for g in gaps] == [100]
    (fc,) = of_type(items, FileClose)
    assert not fc.complete
    (summ,) = of_type(items, FtpDataSummary)
    assert summ.missing_bytes == 100 and summ.gaps == 1
    assert b"".join(d.data for d in of_type(items, FileData)) == PNG[:600] + PNG[700:]


def test_data_without_control_connection():
    items = run_all_ways(data_ctx(token=None), [S(b"some bytes")])
    (summ,) = of_type(items, FtpDataSummary)
    assert summ.token == "" and summ.parent_uid == ""
    assert "no control connection" in summ.summary()
    assert of_type(items, FileClose)


def test_empty_data_connection():
    items = run_all_ways(data_ctx(), [])
    assert of_type(items, FtpDataSummary) and not of_type(items, FileOpen)


UNIX_LISTING = (
    b"total 12\r\n"
    b"-rw-r--r--   1 root     root         3491 Jan 01  2024 notes.txt\r\n"
    b"drwxr-xr-x   2 root     root         4096 Nov 22 07:36 pub\r\n"
    b"lrwxrwxrwx   1 ftp      ftp             7 Nov 22 07:36 latest -> pub/new\r\n"
    b"-rw-r--r--    1 0        0        1073741824000 Feb 19  2016 1000GB.zip\r\n"
)
MLSD_LISTING = (
    b"type=cdir;modify=20261122073600;perm=flcdmpe; .\r\n"
    b"modify=20260610211234;perm=radfwMT;size=109;type=file;unique=3dg8b79cef; welcome.txt\r\n"
    b"type=dir;modify=20260610211234;UNIX.mode=0755;UNIX.owner=ftp; pub\r\n"
)
DOS_LISTING = (
    b"02-19-16  04:41PM       <DIR>          aspnet_client\r\n"
    b"11-22-26  07:36AM                 3491 notes with space.txt\r\n"
)


def test_listing_unix_parsed():
    items = run_all_ways(data_ctx(), [S(UNIX_LISTING)])
    ls = of_type(items, FtpListing)
    assert [(x.name, x.type, x.size, x.perm, x.owner, x.group, x.target) for x in ls] == [
        ("notes.txt", "file", 3491, "-rw-r--r--", "root", "root", None),
        ("pub", "dir", 4096, "drwxr-xr-x", "root", "root", None),
        ("latest", "link", 7, "lrwxrwxrwx", "ftp", "ftp", "pub/new"),
        ("1000GB.zip", "file", 1073741824000, "-rw-r--r--", "0", "0", None),
    ]
    assert ls[0].modify == "Jan 01 2024" and ls[1].modify == "Nov 22 07:36"
    assert all(x.style == "unix" for x in ls)


def test_listing_mlsd_dos_and_names():
    ls = of_type(run_all_ways(data_ctx(), [S(MLSD_LISTING)]), FtpListing)
    assert [(x.name, x.type, x.size, x.modify) for x in ls] == [
        (".", "cdir", None, "2026-11-22T07:36:00"),
        ("welcome.txt", "file", 109, "2026-06-10T21:12:34"),
        ("pub", "dir", None, "2026-06-10T21:12:34")]
    assert ls[2].owner == "ftp" and ls[2].perm == "0755"
    ls = of_type(run_all_ways(data_ctx(), [S(DOS_LISTING)]), FtpListing)
    assert [(x.name, x.type, x.size) for x in ls] == [
        ("aspnet_client", "dir", None), ("notes with space.txt", "file", 3491)]
    ls = of_type(run_all_ways(data_ctx(), [S(b"notes.txt\r\npub\r\nreport.bin\r\n")]), FtpListing)
    assert [(x.name, x.style) for x in ls] == [
        ("notes.txt", "names"), ("pub", "names"), ("report.bin", "names")]


def test_parse_listing_line_rejects_other_text():
    assert parse_listing_line("Hello, world") is None
    assert parse_listing_line("crw-rw-rw-   1 root  root  1,   3 Jan  1 2024 null")[1]["size"] is None


# ---------------------------------------------------------------- assemble
def _tables():
    ftp_rows = [
        dict(ts=1.0, uid="Cctl", command="USER", arg="anna", data_token=None),
        dict(ts=2.0, uid="Cctl", command="RETR", arg="report.pdf", path="/pub/report.pdf",
             file_size=1234, data_token="T1", data_status="complete",
             data_channel=dict(passive=True, orig_h="10.0.0.1", resp_h="10.0.0.2", resp_p=30000,
                               uid=None)),
        dict(ts=3.0, uid="Cctl", command="LIST", arg="", path="/pub", file_size=None,
             data_token="T2", data_status="complete",
             data_channel=DataChannel(True, "10.0.0.1", "10.0.0.2", 30001)),
        dict(ts=4.0, uid="Cctl", command="STOR", arg="up.bin", path="/pub/up.bin",
             file_size=None, data_token="T3", data_status="complete", data_channel=None),
        dict(ts=5.0, uid="Cctl", command="RETR", arg="cut.iso", path="/pub/cut.iso",
             file_size=5000, data_token="T4", data_status="aborted", data_channel=None),
        dict(ts=6.0, uid="Cctl", command="RETR", arg="short.bin", path="/short.bin",
             file_size=100, data_token="T5", data_status="complete", data_channel=None),
    ]
    conn = [
        dict(uid="Cctl", service="ftp", parent_uid=None, expect_token=None),
        dict(uid="Cd1", service="ftp-data", parent_uid="Cctl", expect_token="T1", nat=True),
        dict(uid="Cd2", service="ftp-data", parent_uid="Cctl", expect_token="T2", history="DdaFf"),  # no SYN seen
        # T3: the upload's data connection never arrived
        dict(uid="Cd4", service="ftp-data", parent_uid="Cctl", expect_token="T4"),
        dict(uid="Cd5", service="ftp-data", parent_uid="Cctl", expect_token="T5"),
        dict(uid="Corphan", service="", parent_uid=None, expect_token=None),
    ]
    files = [
        dict(uid="Cd1", fuid="F1", source="FTP_DATA", mime_type="application/pdf", filename=None,
             seen_bytes=1234, missing_bytes=0),
        dict(uid="Cd2", fuid="F2", source="FTP_DATA", mime_type="text/plain", filename=None,
             seen_bytes=200, missing_bytes=0),
        dict(uid="Cd4", fuid="F4", source="FTP_DATA", mime_type=None, filename=None,
             seen_bytes=1000, missing_bytes=0),
        dict(uid="Cd5", fuid="F5", source="FTP_DATA", mime_type=None, filename=None,
             seen_bytes=60, missing_bytes=40),
        dict(uid="Chttp", fuid="F9", source="HTTP", mime_type="text/html", filename="index.html",
             seen_bytes=10, missing_bytes=0),
    ]
    listing = [
        dict(uid="Cd2", ts=3.1, name="a.txt", style="unix", path=None, command=None),
        dict(uid="Cd1", ts=2.1, name="%PDF-1.4", style="names", path=None, command=None),
        dict(uid="Cx", ts=9.0, name="orphan", style="names", path=None, command=None),
    ]
    return dict(conn=conn, ftp=ftp_rows, files=files, ftp_listing=listing)


def test_assemble_joins_and_is_pure():
    import copy
    t = _tables()
    before = copy.deepcopy(t)
    out = {k: list(v) for k, v in assemble(t).items()}   # consumed in order, as the engine does
    assert t == before                        # input untouched
    f = {r["ts"]: r for r in out["ftp"]}
    assert f[2.0]["data_channel"]["uid"] == "Cd1" and f[2.0]["fuid"] == "F1"
    assert f[2.0]["mime_type"] == "application/pdf" and f[2.0]["data_status"] == "complete"
    assert f[3.0]["data_channel"] == dict(passive=True, orig_h="10.0.0.1", resp_h="10.0.0.2",
                                          resp_p=30001, uid="Cd2", nat=False,
                                          handshake_seen=False)
    assert f[2.0]["data_channel"]["nat"] is True          # engine matched it by port only
    assert f[3.0]["file_size"] == 200
    assert f[4.0]["data_status"] == "no_data_connection" and f[4.0].get("fuid") is None
    assert f[5.0]["data_status"] == "aborted"
    assert f[6.0]["data_status"] == "partial"
    assert f[1.0] == t["ftp"][0]
    files = {r["fuid"]: r for r in out["files"]}
    assert files["F1"]["filename"] == "report.pdf"
    assert files["F2"]["filename"] == "list-pub.txt"
    assert files["F5"]["filename"] == "short.bin"
    assert files["F9"]["filename"] == "index.html"       # other protocols untouched
    assert files["F4"]["mime_type"] is None               # no sniffed type, .iso unknown
    # listing rows only for channels linked to LIST/NLST/MLSD
    assert [(r["name"], r["path"], r["command"], r["control_uid"]) for r in out["ftp_listing"]] == [
        ("a.txt", "/pub", "LIST", "Cctl")]


def test_assemble_on_empty_tables():
    out = {k: list(v) for k, v in assemble({}).items()}
    assert out == {"ftp": [], "files": [], "ftp_listing": []}


def test_specs():
    names = {s.name: s for s in ftp.SPECS}
    assert names["ftp"].ports == frozenset({21}) and names["ftp"].assemble.resolve() is assemble
    assert names["ftp-data"].expect_only and names["ftp-data"].service_name == "ftp-data"


@pytest.mark.parametrize("cmd", sorted(ftp.COMMAND_MEANINGS))
def test_every_command_has_a_meaning(cmd):
    assert FtpCommand(0.0, ORIG, cmd, "").meaning()


def test_listing_rows_capped(monkeypatch):
    monkeypatch.setattr(ftp, "MAX_LISTING_ROWS", 3)
    items = run_all_ways(data_ctx(), [S(b"a\r\nb\r\nc\r\nd\r\ne\r\n")])
    assert [x.name for x in of_type(items, FtpListing)] == ["a", "b", "c"]
    assert [a.name for a in of_type(items, Anomaly)] == ["ftp_listing_too_many"]


def test_binary_after_text_drops_tentative_rows():
    items = run_all_ways(data_ctx(), [S(b"looks like\r\nnames\r\n" + b"\x00\x01\x02" * 10)])
    assert not of_type(items, FtpListing)


def test_channel_use_tells_the_data_dissector_which_command_took_it():
    """The control sets the announced channel's ChannelUse when a transfer command takes it; a data
    connection taken by RETR/STOR makes no listing rows (assemble would drop them), one taken by LIST does,
    and one whose command is not known yet parses as before (issue 26)."""
    for cmd, listing in ((b"RETR notes.txt", False), (b"LIST", True)):
        items = run(control(), LOGIN + [C(b"PASV\r\n"), S(b"227 Entering Passive Mode (10,0,0,1,156,64)\r\n"),
                                         C(cmd + b"\r\n")], "whole")
        (exp,) = of_type(items, Expect)
        use = dict(exp.meta)["use"]
        assert use.command == cmd.split()[0].decode() and use.drops_listing() is not listing
        for known in (use, ftp.ChannelUse()):        # known, and not yet known (command still unseen)
            match = ExpectationMatch(parent_uid="Cctl", token=exp.token, service="ftp-data", meta={"use": known})
            data = run_all_ways(lambda: FtpDataDissector(ctx(orig=("10.0.0.2", 20), resp=("10.0.0.1", 40000),
                                                             uid="Cdata", expectation=match)), [S(UNIX_LISTING)])
            made = len(of_type(data, FtpListing))
            (summ,) = of_type(data, FtpDataSummary)
            assert made == summ.listing_rows == (0 if known.drops_listing() else 4)
            assert b"".join(d.data for d in of_type(data, FileData)) == UNIX_LISTING
