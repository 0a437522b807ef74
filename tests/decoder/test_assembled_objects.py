"""Objects assembled from HTTP range responses (decoder.session.assemble_objects), through the whole pipeline on
crafted connections: overlapping parts keep the first copy (an anomaly says when they disagree), and a part that
is not stored whole means no assembled object."""
from __future__ import annotations

from tests.builders import Conn, write_pcap


def _exchange(port: int, rng: str, total: int, body: bytes, declared: int | None = None) -> list[bytes]:
    c = Conn(("10.0.0.1", port), ("10.0.0.2", 80))
    lo, hi = (int(x) for x in rng.split("-"))
    head = (f"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {lo}-{hi}/{total}\r\n"
            f"Content-Length: {declared if declared is not None else len(body)}\r\n\r\n").encode()
    return (c.handshake() + [c.client(f"GET /f.bin HTTP/1.1\r\nHost: h\r\nRange: bytes={rng}\r\n\r\n".encode()),
                             c.server(head + body)] + c.close())


def _run(tmp_path, pkts):
    from decoder.api import analyze

    cap = tmp_path / "ranges.pcap"
    write_pcap(cap, pkts)
    a = analyze(cap, out_dir=tmp_path / "out", strict=True)
    whole = [f for f in a.rows["files"] if f.get("range_parts")]
    return a, whole


def test_overlap_first_copy_wins_and_is_reported(tmp_path):
    a, whole = _run(tmp_path, _exchange(40001, "0-5", 10, b"abcdef") + _exchange(40002, "4-9", 10, b"XXghij"))
    [w] = whole
    assert (tmp_path / "out" / w["path"]).read_bytes() == b"abcdefghij"
    assert w["complete"] and w["seen_bytes"] == 10 and len(w["range_parts"]) == 2
    assert [x["name"] for x in a.rows["anomalies"]] == ["range_overlap_differs"]
    a.close()


def test_a_part_not_stored_whole_makes_no_object(tmp_path):
    # the second answer declares 5 bytes and its connection ends after 3
    a, whole = _run(tmp_path, _exchange(40001, "0-4", 10, b"abcde") + _exchange(40002, "5-9", 10, b"fgh", declared=5))
    assert whole == [] and len(a.rows["files"]) == 2
    a.close()
