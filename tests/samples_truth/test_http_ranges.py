"""HTTP range responses assembled into the whole object (samples/http-ranges.pcap, issue 24), against the
recorder's facts.

nginx answered curl's three Range requests for lab-files.zip with 206 over three connections (the third
overlapping the second; together they cover the file) and one for the first 1000 bytes of video.bin. Like
Zeek, wiretale assembles the zip: one more ``files`` row, complete, whose bytes are the served file's and
whose ``range_parts`` lists the three parts; the parts stay as they were (each its response body, partial).
video.bin is not covered and stays a part only. tshark --export-objects http exports the parts only.
"""
from __future__ import annotations

from tests.samples_truth import file_bytes, load, sha256


def test_ranges_make_the_object_and_keep_the_parts():
    a, facts = load("http-ranges.pcap")
    files = a.rows["files"]
    parts = [f for f in files if not f.get("range_parts")]
    whole = [f for f in files if f.get("range_parts")]
    http = sorted(a.rows["http"], key=lambda r: r["ts"])
    assert [(r["uri"], r["status_code"], r["content_range"]) for r in http] == [
        (q["url"].split("18082", 1)[1], q["status"], q["content_range"]) for q in facts["requests"]]
    for r, q in zip(http, facts["requests"]):
        [f] = [p for p in parts if p["fuid"] in r["resp_fuids"]]
        data = file_bytes(a, f)
        assert (len(data), sha256(data), f["complete"]) == (q["response_body_size"], q["response_body_sha256"], False)
    assert len(whole) == sum(facts["covered"].values()) == 1
    [w] = whole
    served = facts["server_files"]["lab-files.zip"]
    data = file_bytes(a, w)
    assert (w["filename"], len(data), sha256(data), w["complete"], w["missing_bytes"]) == (
        "lab-files.zip", served["size"], served["sha256"], True, 0)
    assert w["range_parts"] == [fu for r in http if r["uri"] == "/lab-files.zip" for fu in r["resp_fuids"]]
    assert w["sniffed_mime_type"] == "application/zip"
