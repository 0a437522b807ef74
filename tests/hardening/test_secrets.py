"""Secrets by one rule (issue 31, docs/HARDENING.md "Secrets"): a secret is kept verbatim only in
the credentials table and the raw streams / extracted objects; every other table, the timeline
(summaries and fields), the HAR and the HTML report (without ``--show-secrets``) never show it.
Telnet keys typed at a password prompt are masked by position, edits and short secrets included,
and the replay does not tell the length; URL user-info is a credential."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from decoder.cli import main
from tests.builders import Conn, write_pcap

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
MASK = "********"


def _read(tmp_path: Path, cap: Path, *extra: str) -> Path:
    out = tmp_path / ("out" + "".join(extra).replace("-", "_"))
    assert main(["read", str(cap), "-o", str(out), *extra]) == 0
    return out


def _outputs_but_credentials(out: Path) -> dict[str, str]:
    """Every text output a secret must not reach: tables but credentials, HAR, summary, pages."""
    texts = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file() or p.name == "credentials.jsonl" or p.parent.name in ("streams", "files", "emails"):
            continue
        if p.suffix in (".jsonl", ".json", ".har", ".html", ".csv", ".txt"):
            texts[str(p.relative_to(out))] = p.read_text(encoding="utf-8", errors="replace")
    return texts


def _decoded_b64(html: str) -> bytes:
    """The bytes of the raw-view chunks a page carries (text or base64, reports.html.raw_chunk; both views are
    drawn from them)."""
    from reports.html import raw_chunk
    out = [raw_chunk(r).get("data", b"") for block in re.findall(r'<script type="application/json" class="raw-data">(.*?)</script>',
                                                html, re.S)
           for r in json.loads(block)]
    return b"\n".join(out)


def _telnet_capture(path: Path) -> None:
    """A login whose password is typed one key per packet with an edit: J, X, backspace, q → 'Jq'."""
    c = Conn(c=("10.0.0.1", 40000), s=("10.0.0.2", 23))
    pk = c.handshake()
    pk.append(c.server(b"Debian GNU/Linux 12\r\nhost login: "))
    for ch in (b"b", b"o", b"b", b"\r\n"):
        pk.append(c.client(ch))
    pk.append(c.server(b"Password: "))
    for ch in (b"J", b"X", b"\x7f", b"q", b"\r\n"):      # DEL erases X: the password is "Jq"
        pk.append(c.client(ch))
    pk.append(c.server(b"\r\nLast login: Mon Dec  7 on pts/0\r\nbob@host:~$ "))
    for ch in (b"l", b"s", b"\r\n"):
        pk.append(c.client(ch))
    pk.append(c.server(b"ls\r\nnotes.txt\r\nbob@host:~$ "))
    pk += c.close()
    write_pcap(path, pk)


def test_telnet_password_with_an_edit_and_two_characters_is_masked_everywhere(tmp_path):
    cap = tmp_path / "telnet.pcapng"
    _telnet_capture(cap)
    out = _read(tmp_path, cap)
    creds = [json.loads(l) for l in (out / "tables" / "credentials.jsonl").read_text().splitlines()]
    assert [(c["protocol"], c["username"], c["secret"]) for c in creds] == [("telnet", "bob", "Jq")]
    for name, text in _outputs_but_credentials(out).items():
        assert "Jq" not in text and "JX" not in text, name
    page = next((out / "sessions").glob("*.html")).read_text()
    raw = _decoded_b64(page)
    assert raw, "the session page carries its raw chunks"
    assert b"J" not in raw and b"X" not in raw and b"q" not in raw, raw   # masked by position, whole packets
    assert b"bob" in raw and b"ls" in raw                                 # the rest is shown
    timeline = [json.loads(l) for l in (out / "tables" / "timeline.jsonl").read_text().splitlines()]
    hidden = [e for e in timeline if e["kind"] == "TelnetInput" and e["fields"]["secret"]]
    assert len(hidden) == 5 and {h["summary"] for h in hidden} == {"keystrokes at a password prompt: " + MASK}
    assert all(h["fields"]["data"] == "" for h in hidden)                 # not even the length


def test_show_secrets_shows_them_in_the_report(tmp_path):
    cap = tmp_path / "telnet.pcapng"
    _telnet_capture(cap)
    out = _read(tmp_path, cap, "--show-secrets")
    assert "Jq" in (out / "index.html").read_text()


def test_url_user_info_is_a_credential_and_masked_everywhere_else(tmp_path):
    c = Conn(c=("10.0.0.1", 40001), s=("10.0.0.2", 80))
    body = b"hello"
    pk = c.handshake() + [
        c.client(b"GET http://alice:S3cr3tPw@example.com/x?y=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        c.server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + body)] + c.close()
    cap = tmp_path / "http.pcapng"
    write_pcap(cap, pk)
    out = _read(tmp_path, cap)
    creds = [json.loads(l) for l in (out / "tables" / "credentials.jsonl").read_text().splitlines()]
    assert [(c["protocol"], c["username"], c["secret"], c["kind"]) for c in creds] == [
        ("http", "alice", "S3cr3tPw", "url-userinfo")]
    http = [json.loads(l) for l in (out / "tables" / "http.jsonl").read_text().splitlines()]
    assert http[0]["uri"] == f"http://alice:{MASK}@example.com/x?y=1" and http[0]["username"] == "alice"
    for name, text in _outputs_but_credentials(out).items():
        assert "S3cr3tPw" not in text, name
    page = next((out / "sessions").glob("*.html")).read_text()
    assert b"S3cr3tPw" not in _decoded_b64(page)


def test_user_info_in_referer_and_location_is_a_credential_and_masked(tmp_path):
    c = Conn(c=("10.0.0.1", 40002), s=("10.0.0.2", 80))
    pk = c.handshake() + [
        c.client(b"GET /a HTTP/1.1\r\nHost: example.com\r\nReferer: http://bob:R3ferPw9@intra.example/x\r\n\r\n"),
        c.server(b"HTTP/1.1 302 Found\r\nLocation: ftp://carol:L0catPw8@files.example/y\r\n"
                 b"Content-Length: 0\r\n\r\n")] + c.close()
    cap = tmp_path / "http.pcapng"
    write_pcap(cap, pk)
    out = _read(tmp_path, cap)
    creds = [json.loads(l) for l in (out / "tables" / "credentials.jsonl").read_text().splitlines()]
    assert sorted((c["username"], c["secret"], c["kind"]) for c in creds) == [
        ("bob", "R3ferPw9", "url-userinfo"), ("carol", "L0catPw8", "url-userinfo")]
    http = [json.loads(l) for l in (out / "tables" / "http.jsonl").read_text().splitlines()]
    assert http[0]["referrer"] == f"http://bob:{MASK}@intra.example/x"
    assert http[0]["location"] == f"ftp://carol:{MASK}@files.example/y"
    assert http[0]["username"] is None                    # Zeek's meaning: the request's own credentials
    for name, text in _outputs_but_credentials(out).items():
        assert "R3ferPw9" not in text and "L0catPw8" not in text, name


@pytest.mark.parametrize("sample", ["ftp.pcapng", "ftp-ipv6.pcapng", "pop3.pcapng", "imap.pcapng", "smtp.pcapng",
                                    "telnet.pcapng", "http.pcapng", "snmp.pcapng"])
def test_no_secret_of_the_samples_outside_the_credentials_table(tmp_path, sample):
    out = _read(tmp_path, SAMPLES / sample)
    creds = [json.loads(l) for l in (out / "tables" / "credentials.jsonl").read_text().splitlines()]
    secrets = {c["secret"] for c in creds if c["secret"] and c["kind"] != "anonymous"}
    assert secrets, "each of these samples carries a credential"
    basic = {c["secret"]: base64.b64encode(f'{c["username"]}:{c["secret"]}'.encode()).decode().rstrip("=")
             for c in creds if c["kind"] == "basic"}        # the Authorization token as it was sent
    texts = _outputs_but_credentials(out)
    for s in secrets:
        variants = {s} if len(s) >= 4 else set()           # (short ones: the telnet test checks by position)
        if len(s) >= 4:
            variants.add(base64.b64encode(s.encode()).decode().rstrip("="))
        if s in basic:
            variants.add(basic[s])
        for name, text in texts.items():
            for v in variants:
                assert v not in text, (name, v)
    for page in (out / "sessions").glob("*.html"):
        raw = _decoded_b64(page.read_text())
        for s in secrets:
            if len(s) >= 4:
                assert s.encode() not in raw, (page.name, s)
