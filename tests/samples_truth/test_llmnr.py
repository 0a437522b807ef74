"""LLMNR on samples/llmnr.pcap (a real llmnrd and llmnr-query, in a network namespace) against the recorder's facts
and tshark's LLMNR decode (issue 24).

* every query the script asked is a ``dns`` row with ``variant`` llmnr, its name and type as asked, in the
  multicast flow to 224.0.0.252:5355;
* every answer llmnr-query printed is in a row of the unicast flow from the responder's 5355, whose
  originator is the querier (the flow starts with a response: roles from content);
* LLMNR's C and T bits are read as tshark reads them (``dns.flags.conflict``/``tentative``), and the
  DNS-only AA/RD columns stay false.
"""
from __future__ import annotations

import subprocess

from tests.samples_truth import load

QTYPE_NAMES = {"A": "A", "AAAA": "AAAA", "ANY": "*"}


def test_queries_and_answers_as_asked():
    a, facts = load("llmnr.pcap")
    responder = facts["servers"][0]["addr"]
    rows = sorted(a.rows["dns"], key=lambda r: r["ts"])
    assert rows and all(r["variant"] == "llmnr" and r["query_from"] == "question" for r in rows)
    asked = [r for r in rows if r["resp_h"] == "224.0.0.252"]
    assert [(r["query"], r["qtype_name"]) for r in asked] == \
        [(q["qname"], QTYPE_NAMES[q["qtype"]]) for q in facts["queries"]]
    answered = [r for r in rows if r["resp_h"] == responder]
    assert [(r["query"], r["answers"]) for r in answered] == \
        [(q["qname"], q["answers"]) for q in facts["queries"] if q["answers"]]
    conn = {r["uid"]: r for r in a.rows["conn"]}
    asked_from = {conn[r["uid"]]["orig_p"] for r in asked}
    for r in answered:
        c = conn[r["uid"]]
        # the answer goes back to the port the query came from: that peer asked, it originates
        assert c["resp_p"] == 5355 and c["orig_p"] in asked_from and c["history"].startswith("^")


def test_llmnr_flags_as_tshark_reads_them(tshark):
    a, _ = load("llmnr.pcap")
    from tests.conftest import SAMPLES

    out = subprocess.run([tshark, "-r", str(SAMPLES / "llmnr.pcap"), "-Y", "llmnr && dns.flags.response == 1",
                          "-T", "fields", "-e", "dns.flags.conflict", "-e", "dns.flags.tentative"],
                         capture_output=True, text=True, check=True).stdout.split()
    theirs = [v in ("1", "True") for v in out]
    ours = [v for r in sorted(a.rows["dns"], key=lambda r: r["ts"]) if r["saw_reply"]
            for v in (r["llmnr_conflict"], r["llmnr_tentative"])]
    assert ours == theirs and len(theirs) == 4
    assert not any(r["AA"] or r["RD"] for r in a.rows["dns"])
