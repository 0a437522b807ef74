"""samples/websocket.pcap (Python websockets server and client): every message the script sent and
received is in the websocket table (direction, kind, bytes, text; binary messages as files with their
sha256), close codes as sent, and each message ends at the frame where tshark sees its last fragment."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import SAMPLES

CAP = SAMPLES / "websocket.pcap"
DOC = json.loads((SAMPLES / "expected" / "websocket.json").read_text())


@pytest.fixture(scope="module")
def rows():
    from decoder.api import analyze

    with analyze(CAP, strict=True) as a:
        yield a.rows


def test_messages_are_those_sent(rows):
    conns = sorted({r["uid"]: r["ts"] for r in rows["websocket"]}.items(), key=lambda kv: kv[1])
    number = {uid: i + 1 for i, (uid, _) in enumerate(conns)}
    files = {f["fuid"]: f for f in rows["files"]}
    got = []
    for r in rows["websocket"]:
        sha = files[r["fuid"]]["sha256"] if r["fuid"] else __import__("hashlib").sha256(r["text"].encode()).hexdigest()
        got.append((number[r["uid"]], "client" if r["direction"] == "orig" else "server", r["opcode"], r["length"], sha))
        assert r["complete"]
    want = [(m["connection"], m["direction"], m["opcode"], m["length"], m["sha256"]) for m in DOC["messages"]]
    assert got == want
    assert [r["compressed"] for r in rows["websocket"]] == [m["connection"] == 1 for m in DOC["messages"]]
    closes = [(r["fields"]["code"], r["fields"]["reason"]) for r in rows["timeline"] if r["kind"] == "WsControl"
              and r["fields"]["opcode"] == "close"]
    assert closes == [(c["code"], c["reason"]) for c in DOC["closes"] for _ in (0, 1)]   # sent and echoed


def test_message_frames_and_close_codes_equal_tshark(rows, tshark):
    out = subprocess.run([tshark, "-n", "-r", str(CAP), "-d", "tcp.port==10080,http", "-Y", "websocket", "-T",
                          "fields", "-e", "frame.number", "-e", "websocket.opcode", "-e", "websocket.fin",
                          "-e", "websocket.payload.close.status_code"], capture_output=True, text=True,
                         check=True).stdout
    ends, closes = [], []
    for line in out.splitlines():
        frame, opcode, fin, code = line.split("\t")
        if fin == "1" and int(opcode) in (0, 1, 2):
            ends.append(int(frame))
        if opcode == "8":
            closes.append((int(frame), int(code)))
    ours = [r["frame"] for r in rows["timeline"] if r["kind"] == "WsMessage"]
    assert ours == ends
    assert [(r["frame"], r["fields"]["code"]) for r in rows["timeline"]
            if r["kind"] == "WsControl" and r["fields"]["opcode"] == "close"] == closes
    # tshark 4.0 inflates only the last fragment of a compressed fragmented message (its text is garbage
    # there); ours is the whole message, which the script sent (test_messages_are_those_sent)
