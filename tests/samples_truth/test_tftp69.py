"""TFTP from a server that answers from port 69 itself (samples/tftp69.pcap, issue 24), against the recorder's
facts and tshark.

The server (samples/tftp69_server.py) sends every DATA and ACK from port 69, not from a new TID. The first
client sends an RRQ and then an 87-byte WRQ from one socket, so both transfers are on one UDP flow: each must
have its own row, its own file with its own name and bytes, the RRQ's blocks under the RRQ and the WRQ's
under the WRQ. tshark --export-objects tftp exports the same three objects.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.samples_truth import by_fuid, file_bytes, load, sha256


def test_each_request_keeps_its_own_transfer():
    a, facts = load("tftp69.pcap")
    rows = sorted(a.rows["tftp"], key=lambda r: r["ts"])
    assert [(r["fname"], r["wrq"]) for r in rows] == [(t["filename"], t["opcode"] == "WRQ") for t in facts["transfers"]]
    assert rows[0]["uid"] == rows[1]["uid"]            # one flow for the RRQ and the WRQ
    files = by_fuid(a)
    for r, t in zip(rows, facts["transfers"]):
        assert r["resp_p"] == 69
        if t["result"] == "error":
            assert (r["error_code"], r["error_msg"], r["fuid"]) == (t["error_code"], t["error_message"], None)
            continue
        f = files[r["fuid"]]
        data = file_bytes(a, f)
        assert (r["size"], r["complete"], r["uid_data"]) == (t["size"], True, r["uid"])
        assert (f["filename"], len(data), sha256(data), f["complete"]) == (t["filename"], t["size"], t["sha256"], True)
        assert r["block_sent"] == t["blocks"]
    ends = [e for e in a.rows["timeline"] if e["kind"] == "TftpTransferEnd"]
    assert sorted(e["summary"].split(":")[0] for e in ends) == sorted(
        f'{t["opcode"]} "{t["filename"]}"' for t in facts["transfers"] if t["result"] == "ok")


def test_tshark_exports_the_same_objects(tmp_path):
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    a, facts = load("tftp69.pcap")
    subprocess.run(["tshark", "-n", "-r", str(a.captures[0]["path"]), "-q", "--export-objects", f"tftp,{tmp_path}"],
                   capture_output=True, check=True)
    theirs = {p.name: sha256(p.read_bytes()) for p in tmp_path.iterdir()}
    ours = {f["filename"]: sha256(file_bytes(a, f)) for f in a.rows["files"]}
    assert theirs == ours == {t["filename"]: t["sha256"] for t in facts["transfers"] if t["result"] == "ok"}
