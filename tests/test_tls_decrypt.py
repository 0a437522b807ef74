"""Decryption with the samples' key logs: the commands inside each STARTTLS session equal what tshark
shows with ``-o tls.keylog_file:…`` (frame, command, argument), the message sent inside TLS is the one the
recording script sent (sha256 in samples/expected), and without the key log nothing inside is invented."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import SAMPLES

# per sample (the labs, on the standard ports: no decode-as): tshark's display filter and fields for a
# client command, our event kind
CASES = {
    "smtp": ("smtp.req", ("smtp.req.command", "smtp.req.parameter"), "SmtpCommand"),
    "pop3": ("pop.request", ("pop.request.command", "pop.request.parameter"), "Pop3Command"),
    "imap": ("imap.request", ("imap.command", "imap.request"), "ImapCommand"),
}


def _analyze(stem: str, keys: bool):
    from decoder.api import analyze

    keylog = [SAMPLES / "keys" / f"{stem}.keylog"] if keys else []
    return analyze(SAMPLES / f"{stem}.pcapng", strict=True, keylogs=keylog)


def _tshark_commands(tshark: str, stem: str) -> list[tuple[int, str, str]]:
    flt, fields, _ = CASES[stem]
    args = [tshark, "-n", "-r", str(SAMPLES / f"{stem}.pcapng"),
            "-o", f"tls.keylog_file:{SAMPLES / 'keys' / f'{stem}.keylog'}", "-Y", f"{flt} && tls",
            "-T", "fields", "-E", "separator=\t", "-e", "frame.number"]
    for f in fields:
        args += ["-e", f]
    out = []
    for line in subprocess.run(args, capture_output=True, text=True, check=True).stdout.splitlines():
        frame, command, arg = (line.split("\t") + ["", ""])[:3]
        if stem == "imap":          # imap.request is the whole line: the argument is what follows tag and command
            arg = arg.split(" ", 2)[2] if arg.count(" ") >= 2 else ""
        out.append((int(frame), command.upper(), arg))
    return out


@pytest.mark.parametrize("stem", sorted(CASES))
def test_commands_inside_tls_equal_tshark(stem, tshark):
    with _analyze(stem, keys=True) as a:
        tls = a.rows["tls"]
        assert len(tls) == 1 and tls[0]["decrypted"] and tls[0]["inner"] == stem
        assert tls[0]["records_undecrypted"] == 0
        hello = min(r["frame"] for r in a.rows["timeline"] if r["kind"] == "TlsMessage")
        ours = [(r["frame"], r["fields"]["command"].upper(), r["fields"]["arg"]) for r in a.rows["timeline"]
                if r["uid"] == tls[0]["uid"] and r["kind"] == CASES[stem][2] and r["frame"] > hello]
    theirs = _tshark_commands(tshark, stem)
    # the tables mask passwords in command arguments (they are in the credentials table): compare the rest
    theirs = [(f, c, "alice ********" if (c == "LOGIN" and stem == "imap") else "********" if c == "PASS" else a)
              for f, c, a in theirs]
    if stem == "smtp":
        # tshark 4.0 reads the client's CRAM-MD5 response line (after 334) as a command "YWxp…"; it is SASL data
        auth = next(f for f, c, _ in ours if c == "AUTH")
        theirs = [t for t in theirs if not (t[0] > auth and t[1].startswith("YWXP"))]
    assert ours and ours == theirs


def test_message_inside_starttls_is_the_one_sent():
    doc = json.loads((SAMPLES / "expected" / "smtp.json").read_text())
    sent = [m["sha256"] for m in doc["messages"] if m["tls"]]
    with _analyze("smtp", keys=True) as a:
        uid = a.rows["tls"][0]["uid"]
        got = [e["sha256"] for e in a.rows["files"] if e["uid"] == uid and e["kind"] == "email"]
        creds = [c for c in a.rows["credentials"] if c["uid"] == uid]
        smtp = [r for r in a.rows["smtp"] if r["uid"] == uid and r["mailfrom"]]
    assert sent and got == sent
    assert [c["username"] for c in creds] == ["alice"] and creds[0]["kind"] == "cram-md5"
    assert smtp and all(r["tls"] for r in smtp)


@pytest.mark.parametrize("stem", sorted(CASES))
def test_without_keys_nothing_inside_is_invented(stem):
    with _analyze(stem, keys=False) as a:
        tls = a.rows["tls"]
        uid = tls[0]["uid"]
        hello = min(r["frame"] for r in a.rows["timeline"] if r["kind"] == "TlsMessage")
        after = [r for r in a.rows["timeline"] if r["uid"] == uid and r["frame"] > hello
                 and not r["kind"].startswith("Tls")]
    assert not tls[0]["decrypted"] and tls[0]["inner"] is None and tls[0]["subject"] is None
    assert tls[0]["records_undecrypted"] > 0
    assert set(tls[0]["undecrypted_reasons"]) == {"no key for this session"}
    assert after == []


def test_wrong_key_is_counted_with_its_reason(tmp_path):
    """A key log whose secrets belong to the session but are wrong: every record fails its tag."""
    from decoder.api import analyze

    text = (SAMPLES / "keys" / "pop3.keylog").read_text()
    bad = "\n".join(" ".join(p[:2] + ["00" * (len(p[2]) // 2)]) if len(p := line.split()) == 3 else line
                    for line in text.splitlines())
    (tmp_path / "bad.keylog").write_text(bad)
    with analyze(SAMPLES / "pop3.pcapng", strict=True, keylogs=[tmp_path / "bad.keylog"]) as a:
        row = a.rows["tls"][0]
    assert not row["decrypted"] and row["inner"] is None
    assert row["records_undecrypted"] > 0
    assert any("tag mismatch" in r for r in row["undecrypted_reasons"])


def test_pcapng_decryption_secrets_block(tmp_path, tshark):
    """editcap --inject-secrets puts the key log into the capture: decrypted without --keylog."""
    import shutil

    editcap = shutil.which("editcap")
    if editcap is None:
        pytest.skip("editcap is not installed")
    out = tmp_path / "pop3-dsb.pcapng"
    subprocess.run([editcap, "--inject-secrets", f"tls,{SAMPLES / 'keys' / 'pop3.keylog'}",
                    str(SAMPLES / "pop3.pcapng"), str(out)], check=True, capture_output=True)
    from decoder.api import analyze

    with analyze(out, strict=True) as a:
        row = a.rows["tls"][0]
        creds = [c["secret"] for c in a.rows["credentials"] if c["uid"] == row["uid"]]
    assert row["decrypted"] and row["decrypted_with"] == "pcapng Decryption Secrets Block"
    assert creds == ["bob-Pop3pass"]


def test_keyring_reads_what_a_live_client_appends(tmp_path):
    """A client writing SSLKEYLOGFILE during a live capture: secrets logged after the key log was first read
    are found when a session asks for them; a half-written last line waits for its end."""
    from decoder.keylog import Keyring

    f = tmp_path / "live.keylog"
    f.write_text("# start\n")
    ring = Keyring()
    ring.add_file(f)
    cr = "11" * 32
    assert ring.lookup("CLIENT_RANDOM", bytes.fromhex(cr)) is None
    with f.open("a") as fh:
        fh.write(f"CLIENT_RANDOM {cr} {'ab' * 48}\nCLIENT_RANDOM {'22' * 32} {'cd' * 24}")   # no newline yet
    assert ring.lookup("CLIENT_RANDOM", bytes.fromhex(cr)) == (bytes.fromhex("ab" * 48), "key log live.keylog")
    assert ring.lookup("CLIENT_RANDOM", bytes.fromhex("22" * 32)) is None
    with f.open("a") as fh:
        fh.write("cd" * 24 + "\n")
    assert ring.lookup("CLIENT_RANDOM", bytes.fromhex("22" * 32))[0] == bytes.fromhex("cd" * 48)


def test_cli_refuses_an_unreadable_key_log(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    for verb in (["read", str(SAMPLES / "pop3.pcapng"), "-o", str(tmp_path / "o")], ["live", "-i", "lo", "-c", "1"]):
        r = subprocess.run([sys.executable, "-m", "decoder.cli", *verb, "--keylog", str(tmp_path / "missing.log")],
                           capture_output=True, text=True, cwd=ROOT, timeout=60,
                           env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        assert r.returncode == 2 and "missing.log: cannot read the key log" in r.stderr
        assert "Traceback" not in r.stderr


def test_summary_counts_tls_sessions_and_the_cli_warns_of_skipped_key_log_lines(tmp_path):
    """summary.json says how many TLS sessions there were, how many were decrypted and how many records were
    not; a key log line we cannot use (an RSA pre-master secret) is said on stderr, not dropped silently."""
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    keylog = tmp_path / "k.log"
    keylog.write_text((SAMPLES / "keys" / "pop3.keylog").read_text() + "RSA 0011 2233\n")
    for keys, decrypted in (([], 0), (["--keylog", str(keylog)], 1)):
        out = tmp_path / f"o{decrypted}"
        r = subprocess.run([sys.executable, "-m", "decoder.cli", "read", str(SAMPLES / "pop3.pcapng"), "-o", str(out),
                            "--no-html", *keys], capture_output=True, text=True, cwd=ROOT, timeout=120,
                           env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        assert r.returncode == 0, r.stderr
        tls = json.loads((out / "summary.json").read_text())["tls"]
        assert tls["sessions"] == 1 and tls["decrypted"] == decrypted
        assert (tls["records_undecrypted"] > 0) == (not decrypted)
        assert ("skipped: 1 unsupported label RSA" in r.stderr) == bool(keys)


def test_message_fetched_inside_imap_starttls_is_the_one_in_the_mailbox():
    doc = json.loads((SAMPLES / "expected" / "imap.json").read_text())
    (session,) = [s for s in doc["sessions"] if s.get("tls")]
    with _analyze("imap", keys=True) as a:
        uid = a.rows["tls"][0]["uid"]
        got = [f["sha256"] for f in a.rows["files"] if f["uid"] == uid and f["kind"] == "email"]
    assert got == [f["sha256"] for f in session["fetched"]]
