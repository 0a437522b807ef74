"""pcapng comments (section, interface and packet ``opt_comment``) are read and kept in the
``comments`` table (issue 23); tshark is the oracle for the packet comments."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from decoder.capture import MAX_COMMENT, PcapFileSource
from tests.builders import Conn, write_pcapng

CAPTURE_NOTE = "Lab 3, question 2: what is the user's password? — É"


def commented_smtp(path):
    """A short SMTP session (frames 1-3 handshake, 4 banner, 5 EHLO, 6 reply, 7 QUIT, 8 reply, 9-11 close)
    with a capture comment, an interface comment and comments on frames 5 and 7."""
    c = Conn(s=("10.0.0.2", 25))
    pkts = c.handshake() + [c.server(b"220 mail.example.org ESMTP\r\n"), c.client(b"EHLO pc1.example.org\r\n"),
                            c.server(b"250 mail.example.org\r\n"), c.client(b"QUIT\r\n"), c.server(b"221 bye\r\n")]
    pkts += c.close()
    write_pcapng(path, pkts, step=0.5, capture_comments=[CAPTURE_NOTE, "second note"],
                 interface_comments=["the lab's switch mirror port"],
                 packet_comments={5: ["Q: which host name does the client give?"], 7: ["the end", "x" * 5000]})
    return path


def test_reader_keeps_every_comment_with_its_frame(tmp_path):
    src = PcapFileSource(commented_smtp(tmp_path / "c.pcapng"))
    frames = list(src)
    got = [(c.frame, c.scope, c.text[:40]) for c in src.info.comments]
    assert got == [(None, "capture", CAPTURE_NOTE[:40]), (None, "capture", "second note"),
                   (None, "interface 0", "the lab's switch mirror port"),
                   (5, "packet", "Q: which host name does the client give?"), (7, "packet", "the end"),
                   (7, "packet", "x" * 40)]
    by_frame = {f.index: f.ts for f in frames}
    assert [c.ts for c in src.info.comments if c.frame] == [by_frame[5], by_frame[7], by_frame[7]]
    long = src.info.comments[-1].text
    assert long.startswith("x" * MAX_COMMENT) and long.endswith(f"[… {5000 - MAX_COMMENT} more bytes not kept]")
    assert len(frames) == 11 and frames[4].data.endswith(b"EHLO pc1.example.org\r\n")   # options do not leak into data


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_packet_comments_agree_with_tshark(tmp_path):
    cap = commented_smtp(tmp_path / "c.pcapng")
    out = subprocess.run(["tshark", "-r", str(cap), "-T", "fields", "-e", "frame.number", "-e", "frame.comment",
                          "-E", "occurrence=f", "-Y", "frame.comment"], capture_output=True, text=True, check=True)
    theirs = {int(line.split("\t")[0]): line.split("\t")[1] for line in out.stdout.splitlines()}
    src = PcapFileSource(cap)
    list(src)
    ours = {}
    for c in src.info.comments:
        if c.scope == "packet":
            ours.setdefault(c.frame, c.text)
    assert ours == theirs


def test_comments_table_of_a_read(tmp_path):
    from decoder import cli

    cap = commented_smtp(tmp_path / "c.pcapng")
    assert cli.main(["read", str(cap), "-o", str(tmp_path / "out"), "--no-html"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out" / "tables" / "comments.jsonl").read_text().splitlines()]
    assert [(r["frame"], r["scope"]) for r in rows] == [(None, "capture"), (None, "capture"), (None, "interface 0"),
                                                        (5, "packet"), (7, "packet"), (7, "packet")]
    assert rows[0]["text"] == CAPTURE_NOTE and rows[0]["ts"] is None
    assert rows[3]["ts"] == pytest.approx(1_700_000_002.0)
    conn = json.loads((tmp_path / "out" / "tables" / "conn.jsonl").read_text().splitlines()[0])
    assert [r["uid"] for r in rows] == [None, None, None, conn["uid"], conn["uid"], conn["uid"]]


def test_comments_and_tcp_control_rows_have_their_records_columns(tmp_path):
    """Both tables are declared by Records (decoder.model, docs/TABLES.md): every row has exactly their
    columns, in order; a capture without comments writes no comments table."""
    from decoder import cli
    from reports.tables import schema

    cap = commented_smtp(tmp_path / "c.pcapng")
    assert cli.main(["read", str(cap), "-o", str(tmp_path / "out"), "--no-html"]) == 0
    rows = {}
    for table in ("comments", "tcp_control"):
        rows[table] = [json.loads(ln) for ln in (tmp_path / "out" / "tables" / f"{table}.jsonl").read_text().splitlines()]
        assert all(list(r) == list(schema(table)) for r in rows[table]), table
    assert len(rows["comments"]) == 6
    assert [(r["flags"], r["direction"], r["frame"]) for r in rows["tcp_control"]] == [
        ("SYN", "orig", 1), ("SYN-ACK", "resp", 2), ("ACK", "orig", 3), ("FIN", "orig", 9), ("FIN", "resp", 10)]
    plain = tmp_path / "plain.pcapng"
    c = Conn(s=("10.0.0.2", 25))
    write_pcapng(plain, c.handshake() + [c.server(b"220 hi\r\n")] + c.close())
    assert cli.main(["read", str(plain), "-o", str(tmp_path / "out2"), "--no-html"]) == 0
    assert not (tmp_path / "out2" / "tables" / "comments.jsonl").exists()
    assert (tmp_path / "out2" / "tables" / "tcp_control.jsonl").exists()


def test_a_split_read_keeps_each_comment_once(tmp_path):
    from decoder.commands.split import read_parallel

    cap = commented_smtp(tmp_path / "c.pcapng")
    read_parallel(cap, tmp_path / "out", workers=2, html=False)
    rows = [json.loads(line) for line in (tmp_path / "out" / "tables" / "comments.jsonl").read_text().splitlines()]
    assert len(rows) == 6
    conn = json.loads((tmp_path / "out" / "tables" / "conn.jsonl").read_text().splitlines()[0])
    assert {r["uid"] for r in rows if r["scope"] == "packet"} == {conn["uid"]}
