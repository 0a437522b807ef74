"""Telnet dissector: negotiation, subnegotiation, NVT text, echo removal, logins.

Bytes are written from RFC 854/855 and the option RFCs by hand (IAC=FF, SB=FA,
SE=F0, WILL=FB, WONT=FC, DO=FD, DONT=FE; ECHO=01, SGA=03, TTYPE=18, NAWS=1F,
LINEMODE=22, NEW-ENVIRON=27)."""
from __future__ import annotations

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Credential, Verdict, Violation,
)
from dissectors import telnet
from dissectors.telnet import (
    TelnetCommand, TelnetDissector, TelnetInput, TelnetLine, TelnetNegotiation, TelnetOutput,
    TelnetPasswordChange, TelnetRecord, TelnetSubnegotiation, probe,
)
from tests.conversation import C, Gap, S, ctx, of_type, run, run_all_ways


def tn(**kw):
    return lambda: TelnetDissector(ctx(resp=("10.0.0.2", 23), limits=kw.get("limits")))


def record(items) -> TelnetRecord:
    (r,) = of_type(items, TelnetRecord)
    return r


def output(items) -> bytes:
    return b"".join(o.data for o in of_type(items, TelnetOutput))


NEGOTIATION = [
    S(b"\xff\xfd\x18\xff\xfd\x1f\xff\xfd\x27"),            # DO TTYPE, DO NAWS, DO NEW-ENVIRON
    C(b"\xff\xfb\x18\xff\xfb\x1f\xff\xfb\x27"),            # WILL ...
    C(b"\xff\xfa\x1f\x00\x50\x00\x18\xff\xf0"),            # NAWS 80x24
    S(b"\xff\xfa\x18\x01\xff\xf0"),                        # TTYPE SEND
    C(b"\xff\xfa\x18\x00XTERM-256COLOR\xff\xf0"),          # TTYPE IS
    S(b"\xff\xfa\x27\x01\x00USER\xff\xf0"),                # NEW-ENVIRON SEND VAR USER
    C(b"\xff\xfa\x27\x00\x00USER\x01alice\x03LANG\x01C\xff\xf0"),
    S(b"\xff\xfb\x01\xff\xfb\x03"),                        # WILL ECHO, WILL SGA
    C(b"\xff\xfd\x01\xff\xfd\x03"),                        # DO ECHO, DO SGA
]


def test_negotiation_and_subnegotiation():
    items = run_all_ways(tn(), NEGOTIATION)
    assert of_type(items, Confirm)
    negs = [(n.direction, n.verb, n.name) for n in of_type(items, TelnetNegotiation)]
    assert negs[:3] == [(RESP, "DO", "TERMINAL-TYPE"), (RESP, "DO", "NAWS"),
                        (RESP, "DO", "NEW-ENVIRON")]
    sbs = [(s.name, s.detail) for s in of_type(items, TelnetSubnegotiation)]
    assert sbs == [("NAWS", "80x24"), ("TERMINAL-TYPE", "SEND"),
                   ("TERMINAL-TYPE", "IS XTERM-256COLOR"), ("NEW-ENVIRON", "SEND USER"),
                   ("NEW-ENVIRON", "IS USER=alice LANG=C")]
    r = record(items)
    assert r.terminal_type == "XTERM-256COLOR" and r.window_size == "80x24"
    assert r.user == "alice" and r.environment == ["USER=alice", "LANG=C"]
    assert r.options_agreed == ["client TERMINAL-TYPE", "client NAWS", "client NEW-ENVIRON",
                                "server ECHO", "server SUPPRESS-GO-AHEAD"]
    n = of_type(items, TelnetNegotiation)[-4]
    assert n.summary() == "server WILL ECHO"
    assert n.meaning() == "the server offers to echo the characters the user types back to the screen"


def test_refused_option_is_not_agreed():
    items = run_all_ways(tn(), [S(b"\xff\xfd\x18"), C(b"\xff\xfc\x18"),
                                S(b"\xff\xfb\x01"), C(b"\xff\xfd\x01"), C(b"\xff\xfe\x01")])
    assert record(items).options_agreed == []


def test_iac_iac_cr_nul_and_crlf():
    items = run_all_ways(tn(), [S(b"a\xff\xffb\r\nline2\r\x00col0\r\n")])
    assert output(items) == b"a\xffb\nline2\rcol0\n"
    r = record(items)
    assert r.resp_bytes == len(b"a\xffb\r\nline2\r\x00col0\r\n")


def test_commands_and_linemode():
    items = run_all_ways(tn(), [
        C(b"\xff\xfb\x22"), S(b"\xff\xfd\x22"),
        S(b"\xff\xfa\x22\x01\x03\xff\xf0"),                # LINEMODE MODE EDIT|TRAPSIG
        C(b"\xff\xfa\x22\x03\x01\x02\x00\x02\x02\x7f\xff\xf0"),   # SLC 2 triplets
        C(b"\xff\xf6"), S(b"[yes]\r\n"), C(b"\xff\xf4"),   # AYT, IP
    ])
    assert [s.detail for s in of_type(items, TelnetSubnegotiation)] == [
        "MODE EDIT|TRAPSIG", "SLC (2 triplets)"]
    cmds = of_type(items, TelnetCommand)
    assert [c.command for c in cmds] == ["AYT", "IP"]
    assert cmds[1].meaning().startswith("interrupt process")
    assert record(items).options_agreed == ["client LINEMODE"]


# ---------------------------------------------------------------- transcript, echo, login
CHAR_MODE_LOGIN = [
    S(b"\xff\xfb\x01\xff\xfb\x03"), C(b"\xff\xfd\x01\xff\xfd\x03"),
    S(b"\r\nDebian GNU/Linux 12\r\nhost login: "),
    C(b"r", 1.0), S(b"r"), C(b"o", 1.2), S(b"o"), C(b"o", 1.4), S(b"o"), C(b"t", 1.6), S(b"t"),
    C(b"\r\x00", 1.8), S(b"\r\n"),
    S(b"Password: "),
    C(b"h", 2.0), C(b"u", 2.1), C(b"n", 2.2), C(b"t", 2.3), C(b"x", 2.35), C(b"\x7f", 2.38),
    C(b"e", 2.4), C(b"r", 2.5), C(b"2", 2.6), C(b"\r\x00", 2.7),
    S(b"\r\n"), S(b"Last login: Mon Nov 20 on pts/0\r\nroot@host:~# "),
    C(b"l", 3.0), S(b"l"), C(b"s", 3.1), S(b"s"), C(b"\r\x00", 3.2), S(b"\r\n"),
    S(b"file1  file2\r\nroot@host:~# "),
    C(b"e", 4.0), S(b"e"), C(b"x", 4.1), S(b"x"), C(b"i", 4.2), S(b"i"), C(b"t", 4.3), S(b"t"),
    C(b"\r\x00", 4.4), S(b"\r\nlogout\r\n"),
]


def test_character_mode_login_echo_removed_and_credential():
    items = run_all_ways(tn(), CHAR_MODE_LOGIN)
    out = output(items)
    # the remote echo is gone: the user name appears once, in nothing the server "said"
    assert out == (b"\nDebian GNU/Linux 12\nhost login: Password: \n"
                   b"Last login: Mon Nov 20 on pts/0\nroot@host:~# "
                   b"file1  file2\nroot@host:~# logout\n")
    (cred,) = of_type(items, Credential)
    assert (cred.protocol, cred.username, cred.secret, cred.success) == (
        "telnet", "root", "hunter2", True)
    lines = [(ln.kind, ln.text) for ln in of_type(items, TelnetLine)]
    assert lines == [("username", "root"), ("password", "********"), ("command", "ls"),
                     ("command", "exit")]                    # the secret is in the credential only
    keys = of_type(items, TelnetInput)
    assert any(k.secret for k in keys) and all(k.data == b"" for k in keys if k.secret)
    assert b"hunter2" not in b"".join(k.data for k in keys)
    assert of_type(items, TelnetLine)[1].summary() == "user typed a password: ********"
    r = record(items)
    assert r.user == "root" and r.login_success is True
    assert r.commands == ["ls", "exit"]
    assert r.echo_bytes == len(b"root\nls\nexit\n")     # counted after CR LF -> LF


def test_keystroke_timestamps_kept_for_replay():
    items = run(tn(), CHAR_MODE_LOGIN)
    ks = [(k.ts, k.data) for k in of_type(items, TelnetInput)]
    assert ks[:5] == [(1.0, b"r"), (1.2, b"o"), (1.4, b"o"), (1.6, b"t"), (1.8, b"\r")]


def test_line_mode_login_failure_then_success():
    items = run_all_ways(tn(), [
        S(b"Username: "), C(b"admin\r\n"), S(b"Password: "), C(b"wrong\r\n"),
        S(b"\r\n% Login invalid\r\n\r\nUsername: "), C(b"admin\r\n"), S(b"Password: "),
        C(b"right\r\n"), S(b"\r\nrouter>"), C(b"show version\r\n"),
        S(b"Cisco IOS Software\r\nrouter>"),
    ])
    creds = [(c.username, c.secret, c.success) for c in of_type(items, Credential)]
    assert creds == [("admin", "wrong", False), ("admin", "right", True)]
    r = record(items)
    assert r.commands == ["show version"] and r.login_success is True
    # no remote echo in line mode: the server output is untouched
    assert output(items).startswith(b"Username: Password: \n% Login invalid")


LOGGED_IN = [S(b"login: "), C(b"anna\r\n"), S(b"Password: "), C(b"pw0\r\n"), S(b"\r\nanna@h:~$ ")]


def _changes(items):
    return [(e.user, e.accepted) for e in of_type(items, TelnetPasswordChange)]


def _creds(items):
    return [(c.kind, c.username, c.secret, c.success) for c in of_type(items, Credential)]


def test_password_change_old_pam_prompts_accepted():
    """Debian's older passwd: "(current) UNIX password", "Enter/Retype new UNIX password"."""
    items = run_all_ways(tn(), LOGGED_IN + [
        C(b"passwd\r\n"), S(b"Changing password for anna.\r\n(current) UNIX password: "), C(b"pw0\r\n"),
        S(b"\r\nEnter new UNIX password: "), C(b"pw1\r\n"), S(b"\r\nRetype new UNIX password: "),
        C(b"pw1\r\n"), S(b"\r\npasswd: password updated successfully\r\nanna@h:~$ "), C(b"exit\r\n")])
    assert _changes(items) == [("anna", True)]
    assert _creds(items) == [("password", "anna", "pw0", True), ("passwd-current", "anna", "pw0", True),
                             ("passwd-new", "anna", "pw1", True)]
    assert [ln.kind for ln in of_type(items, TelnetLine)] == [
        "username", "password", "command", "current_password", "new_password", "retyped_password", "command"]
    assert record(items).password_changes == [
        {"user": "anna", "accepted": True, "reply": "passwd: password updated successfully"}]


def test_password_change_weak_new_password_asked_again_then_verdict_at_close():
    """pam_pwquality refuses a new password and asks again: the refused one is a credential that did
    not work; the change's verdict comes from the last reply, here cut by the end of the capture."""
    items = run_all_ways(tn(), LOGGED_IN + [
        C(b"passwd\r\n"), S(b"Current password: "), C(b"pw0\r\n"), S(b"\r\nNew password: "),
        C(b"abc\r\n"), S(b"\r\nBAD PASSWORD: The password is shorter than 8 characters\r\nNew password: "),
        C(b"Long-enough-1\r\n"), S(b"\r\nRetype new password: "), C(b"Long-enough-1\r\n")])
    assert _changes(items) == [("anna", None)]
    assert _creds(items)[1:] == [("passwd-current", "anna", "pw0", True), ("passwd-new", "anna", "abc", False),
                                 ("passwd-new", "anna", "Long-enough-1", None)]


def test_root_changes_another_users_password_without_current():
    items = run_all_ways(tn(), [
        S(b"root@h:~# "), C(b"passwd bob\r\n"), S(b"New password: "), C(b"b1\r\n"),
        S(b"\r\nRetype new password: "), C(b"b2\r\n"),
        S(b"\r\nSorry, passwords do not match.\r\npasswd: Authentication token manipulation error\r\n"
          b"passwd: password unchanged\r\nroot@h:~# "), C(b"ls\r\n")])
    assert _changes(items) == [("", False)]
    assert _creds(items) == [("passwd-new", "", "b1", False), ("passwd-retyped", "", "b2", False)]
    [e] = of_type(items, TelnetPasswordChange)
    assert e.reply.startswith("Sorry, passwords do not match. / ") and "b1" not in e.summary()


def test_login_failure_at_end_and_unknown_verdict():
    items = run_all_ways(tn(), [S(b"login: "), C(b"bob\r\n"), S(b"Password:"), C(b"pw\r\n"),
                                S(b"\r\nLogin incorrect\r\n")])
    assert [(c.username, c.success) for c in of_type(items, Credential)] == [("bob", False)]
    items = run_all_ways(tn(), [S(b"login: "), C(b"bob\r\n"), S(b"Password:"), C(b"pw\r\n")])
    assert [(c.username, c.success) for c in of_type(items, Credential)] == [("bob", None)]


def test_backspace_echo_and_editing():
    items = run_all_ways(tn(), [
        S(b"\xff\xfb\x01"), C(b"\xff\xfd\x01"), S(b"$ "),
        C(b"l"), S(b"l"), C(b"x"), S(b"x"), C(b"\x7f"), S(b"\x08 \x08"), C(b"s"), S(b"s"),
        C(b"\r\n"), S(b"\r\nfile\r\n$ "),
    ])
    assert output(items) == b"$ file\n$ "      # the echoed line end is echo too
    assert record(items).commands == ["ls"]


# ---------------------------------------------------------------- negative cases
def test_unterminated_sb_at_close():
    items = run_all_ways(tn(), [C(b"\xff\xfb\x18"), C(b"\xff\xfa\x18\x00vt100")])
    names = [a.name for a in of_type(items, Anomaly)]
    assert names == ["telnet_sb_unterminated"]
    assert not of_type(items, TelnetSubnegotiation)


def test_unterminated_sb_bounded_then_data_resumes():
    lim = ctx().limits.replace(max_line=64)
    items = run_all_ways(tn(limits=lim), [C(b"\xff\xfa\x18\x00" + b"A" * 100), C(b"ls\r\n")])
    assert [a.name for a in of_type(items, Anomaly)] == ["telnet_subnegotiation_too_long"]
    assert record(items).commands  # data after the cap is decoded again


def test_malformed_subnegotiations():
    items = run_all_ways(tn(), [
        C(b"\xff\xfa\x1f\x00\x50\xff\xf0"),              # NAWS too short
        C(b"\xff\xfa\xff\xf0"),                          # SB with option IAC IAC? -> option 255
        C(b"\xff\xfa\x18\x00ab\xff\xfb\x01"),            # IAC WILL inside SB
        C(b"\xff\xfa\xff\xf0"[:2] + b"\xff\xf0"),        # empty SB
    ])
    names = [a.name for a in of_type(items, Anomaly)]
    assert "telnet_sb_malformed" in names and "telnet_sb_empty" in names
    # the WILL ECHO after the broken SB is still decoded
    assert any(n.verb == "WILL" and n.name == "ECHO" for n in of_type(items, TelnetNegotiation))


def test_auth_reply_missing_name_like_zeek_trace():
    # telnet-option-on-ftp-port.pcap: IAC SB AUTHENTICATION REPLY 02 IAC SE
    items = run_all_ways(tn(), [C(b"\xff\xfa\x25\x02\x02\xff\xf0")])
    assert [a.name for a in of_type(items, Anomaly)] == ["telnet_auth_malformed"]
    assert of_type(items, TelnetSubnegotiation)[0].name == "AUTHENTICATION"


def test_encrypt_keyid_overflow_flagged():
    items = run_all_ways(tn(), [C(b"\xff\xfa\x26\x07" + b"A" * 200 + b"\xff\xf0")])
    assert [a.name for a in of_type(items, Anomaly)] == ["telnet_encrypt_keyid_oversized"]


def test_gap_resets_state():
    items = run(tn(), [S(b"\xff\xfb\x01"), C(b"\xff\xfd\x01"), C(b"ab"), Gap(RESP, 10),
                       S(b"hello")])
    assert [a.name for a in of_type(items, Anomaly)] == ["telnet_content_gap"]
    assert output(items) == b"hello"      # pending echo dropped at the gap


def test_typed_line_cap_and_violation():
    lim = ctx().limits.replace(max_line=16)
    items = run_all_ways(tn(limits=lim), [C(b"x" * 40 + b"\r\n")])
    assert [a.name for a in of_type(items, Anomaly)] == ["telnet_line_too_long"]
    assert record(items).commands == ["x" * 16]
    items = run(tn(), [C(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")])
    assert of_type(items, Violation)


def test_probe():
    assert probe(ORIG, b"\xff\xfb\x18") is Verdict.YES
    assert probe(RESP, b"\xff\xfd\x01") is Verdict.YES
    assert probe(ORIG, b"\xff\xfa\x25\x02\x02\xff\xf0") is Verdict.YES
    assert probe(RESP, b"login: ") is Verdict.MAYBE
    assert probe(ORIG, b"SSH-2.0-OpenSSH_9.0\r\n") is Verdict.NO
    assert probe(ORIG, bytes(range(1, 40))) is Verdict.NO


def test_specs():
    (spec,) = telnet.SPECS
    assert spec.name == "telnet" and 23 in spec.ports and spec.probe is probe


def _typed_slowly(text: bytes, echo: bool, t: float) -> list:
    """One keystroke per segment, as inetutils telnet in character mode sends them;
    Enter is a bare CR (the client is in BINARY mode), echoed by the server as CR LF."""
    convo = []
    for i, c in enumerate(text):
        convo.append(C(bytes([c]), t + i * 0.01))
        if echo:
            convo.append(S(bytes([c])))
    convo.append(C(b"\r", t + len(text) * 0.01))
    convo.append(S(b"\r\n"))
    return convo


def test_binary_mode_bare_cr_ends_the_line_at_once():
    """Regression (samples/telnet.pcapng): with client BINARY agreed (RFC 856) Enter is a
    bare CR. It used to wait for a partner byte until the next keystroke, after the
    server's "Login incorrect": the failed login was judged a success, the second
    login name was listed as a command and the first echo of each line was shown."""
    convo = [
        S(b"\xff\xfd\x00\xff\xfb\x01"),              # DO BINARY, WILL ECHO
        C(b"\xff\xfb\x00\xff\xfd\x01"),              # WILL BINARY, DO ECHO
        S(b"vm login: "), *_typed_slowly(b"student", True, 1.0),
        S(b"Password: "), *_typed_slowly(b"wrong", False, 2.0),
        S(b"\r\nLogin incorrect\r\nvm login: "), *_typed_slowly(b"student", True, 3.0),
        S(b"Password: "), *_typed_slowly(b"right", False, 4.0),
        S(b"student@vm:~$ "), *_typed_slowly(b"id -un", True, 5.0),
        S(b"student\r\nstudent@vm:~$ "),
    ]
    items = run_all_ways(tn(), convo)
    creds = [(c.username, c.secret, c.success) for c in of_type(items, Credential)]
    assert creds == [("student", "wrong", False), ("student", "right", True)]
    assert record(items).commands == ["id -un"]
    assert output(items) == (b"vm login: Password: \n\nLogin incorrect\nvm login: "
                             b"Password: \nstudent@vm:~$ student\nstudent@vm:~$ ")
