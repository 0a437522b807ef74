"""Telnet password changes on samples/telnet-passwd.pcapng against the recorder's facts (issue 24).

A real passwd(1) under GNU inetutils telnetd and PAM, three times: a wrong current password, a retyped
new password that differs, a change that succeeds. What the script typed and what passwd answered (its
``password_changes`` facts, read from the terminal by pexpect) are the truth:

* one ``TelnetPasswordChange`` per attempt, ``accepted`` as passwd's reply says (never assumed), the
  reply's last line in ``reply``; the same list in the ``telnet`` row's ``password_changes``;
* the credentials: the login once, then per attempt the current password (valid when passwd went on to
  ask for the new one or accepted the change), the new one (valid only when accepted), the retyped one only
  when it differs (never valid); no longer a row per password prompt with ``success`` assumed;
* the typed lines say which secret each is, and never show it.
"""
from __future__ import annotations

from tests.samples_truth import load, rows_of, sessions

PORT = 23


def _setup():
    a, facts = load("telnet-passwd.pcapng")
    [uid] = sessions(a, "telnet", PORT)
    return a, facts, uid


def test_each_change_and_its_verdict_from_the_reply():
    a, facts, uid = _setup()
    want = facts["password_changes"]
    events = [r for r in a.rows["timeline"] if r["uid"] == uid and r["kind"] == "TelnetPasswordChange"]
    assert len(events) == len(want) == 3
    [row] = rows_of(a, "telnet", uid)
    assert [(c["user"], c["accepted"]) for c in row["password_changes"]] == \
        [(w["user"], w["accepted"]) for w in want]
    for got, w in zip(row["password_changes"], want):
        assert got["reply"].endswith(w["reply"])
    for e, w in zip(events, want):
        assert ("accepted" if w["accepted"] else "refused") in e["summary"]


def test_credentials_of_the_changes():
    a, facts, uid = _setup()
    got = [(c["kind"], c["username"], c["secret"], c["success"])
           for c in sorted(a.rows["credentials"], key=lambda c: c["ts"]) if c["uid"] == uid]
    want = [("password", c["username"], c["password"], c["success"]) for c in facts["credentials"]]
    for ch in facts["password_changes"]:
        # passwd asks for the new password only after the current one was right
        want.append(("passwd-current", ch["user"], ch["current"], ch["new"] is not None))
        if ch["new"] is not None:
            want.append(("passwd-new", ch["user"], ch["new"], ch["accepted"]))
        if ch["retyped"] not in (None, ch["new"]):
            want.append(("passwd-retyped", ch["user"], ch["retyped"], False))
    assert got == want


def test_typed_secrets_named_and_masked():
    a, facts, uid = _setup()
    lines = [r["summary"] for r in a.rows["timeline"] if r["uid"] == uid and r["kind"] == "TelnetLine"]
    secrets = {s for ch in facts["password_changes"] for s in (ch["current"], ch["new"], ch["retyped"]) if s}
    assert not any(s in line for s in secrets for line in lines)
    n_new = sum(ch["new"] is not None for ch in facts["password_changes"])
    assert lines.count("user typed the current password: ********") == 3
    assert lines.count("user typed the new password: ********") == n_new
    assert lines.count("user typed the retyped password: ********") == n_new
