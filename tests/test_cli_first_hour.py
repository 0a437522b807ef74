"""The first hour of a new user (issue 23): read says where to look and counts in good English, a bad
input is one line and writes nothing, follow says who spoke and escapes binary, interfaces lists
capture interfaces only."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from decoder import cli
from tests.conftest import SAMPLES
from tests.decoder.test_comments import commented_smtp

ROOT = Path(__file__).resolve().parents[1]


def wiretale(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "decoder.cli", *args], capture_output=True, env=env, cwd=cwd,
                          timeout=300)


def uid_of(capture: Path) -> str:
    return json.loads(wiretale("sessions", str(capture), "--json").stdout.splitlines()[0])["uid"]


def test_plural():
    assert [cli.plural(n, "flow") for n in (0, 1, 2, 1234)] == ["0 flows", "1 flow", "2 flows", "1,234 flows"]
    assert cli.plural(1, "e-mail") == "1 e-mail" and cli.plural(3, "kind", "kinds") == "3 kinds"


def test_read_ends_with_the_report_to_open(tmp_path, capsys):
    cap = commented_smtp(tmp_path / "c.pcapng")
    assert cli.main(["read", str(cap), "-o", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == "11 packets, 1 flow (smtp 1), 0 files, 0 e-mails, no anomalies"
    assert lines[-1] == f"open {tmp_path / 'out' / 'index.html'}"
    assert (tmp_path / "out" / "index.html").is_file()


def test_read_without_html_says_where_the_tables_are(tmp_path, capsys):
    assert cli.main(["read", str(SAMPLES / "http.pcapng"), "-o", str(tmp_path / "out"), "--no-html"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"tables in {tmp_path / 'out' / 'tables'}, summary in {tmp_path / 'out' / 'summary.json'}"
    assert "kind of anomaly" in out[-2] or "kinds of anomaly" in out[-2] or "no anomalies" in out[-2]


@pytest.mark.parametrize("make", ["missing", "text", "directory", "empty"])
def test_a_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, make):
    bad = tmp_path / "in.pcap"
    if make == "text":
        bad.write_text("hello, not a capture\n")
    elif make == "directory":
        bad.mkdir()
    elif make == "empty":
        bad.write_bytes(b"")
    out = tmp_path / "out"
    assert cli.main(["read", str(bad), "-o", str(out)]) == 1
    io = capsys.readouterr()
    assert io.out == ""                                  # no summary line that looks normal
    assert len(io.err.splitlines()) == 1 and io.err.startswith(f"wiretale: {bad}: ")
    assert not out.exists()


def test_follow_piped_marks_the_sides_and_escapes_telnet_commands():
    cap = SAMPLES / "telnet.pcapng"
    r = wiretale("follow", str(cap), uid_of(cap))
    assert r.returncode == 0
    lines = r.stdout.decode("utf-8").splitlines()
    assert lines[0].startswith("# ")
    assert all(line.startswith(("C: ", "S: ")) for line in lines[1:])
    assert lines[1].startswith("S: \\xff\\xfb")          # the server's first IAC WILL, escaped
    assert b"\xff" not in r.stdout and not any(b < 32 and b not in b"\n\t" for b in r.stdout)
    assert any(line.startswith("S: ") and "login:" in line for line in lines)
    plain = wiretale("follow", str(cap), uid_of(cap), "--no-prefix").stdout.decode().splitlines()
    assert not any(line.startswith(("C: ", "S: ")) for line in plain[1:])
    raw = wiretale("follow", str(cap), uid_of(cap), "--raw", "--side", "server").stdout
    assert raw.startswith(b"\xff\xfb")                 # --raw: the bytes as sent


def test_follow_shows_dns_messages_escaped_one_per_line():
    cap = SAMPLES / "dns.pcapng"
    r = wiretale("follow", str(cap), uid_of(cap))
    lines = r.stdout.decode("ascii").splitlines()       # pure ASCII: every other byte is \xNN
    assert [line[:3] for line in lines[1:3]] == ["C: ", "S: "]
    assert "\\x03www\\x07example" in lines[1]


def test_escaped_keeps_text_and_escapes_the_rest():
    assert cli.escaped("HELO é\r\n".encode()) == "HELO é\n"
    assert cli.escaped(b"\xff\xfd\x18ok\n") == "\\xff\\xfd\\x18ok\\x0a\n"


@pytest.mark.skipif(shutil.which("dumpcap") is None or shutil.which("tshark") is None,
                    reason="dumpcap/tshark are not installed")
def test_interfaces_lists_capture_interfaces_only_unless_all():
    extcaps = ("ciscodump", "randpkt", "sshdump", "udpdump")
    some = wiretale("interfaces")
    assert some.returncode == 0 and some.stdout.strip()
    assert not any(x in some.stdout.decode() for x in extcaps)
    every = wiretale("interfaces", "--all").stdout.decode()
    if not any(x in every for x in extcaps):
        pytest.skip("tshark lists no extcap interface here")
    assert len(every.splitlines()) > len(some.stdout.splitlines())


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_a_pipe_is_read_once_by_the_run_not_by_the_check(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(["bash", "-c", f'"{sys.executable}" -m decoder.cli read <(cat "{SAMPLES / "dns.pcapng"}") '
                                      f'-o "{tmp_path / "out"}" --no-html'],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("46 packets, 15 flows (dns 15)")
