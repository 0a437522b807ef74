"""SNMP on samples/snmp.pcapng against the recorder's facts.

Each of the twelve operations ran as its own net-snmp command (own client port, so one
flow each, in order): the OIDs asked for, the values read (parsed from the client's
``-On`` output the JSON keeps) and the values set equal the facts; the v1 noSuchName
error; the GetBulk parameters; the v3 users, engine ID and flags, with the authPriv PDUs
reported as encrypted; the v1 trap's header fields, the v2c trap's and the inform's
varbinds, and the inform's response; the communities as credentials.

Documented differences with the JSON's ``credentials`` list:

* ``wrong-community``: the facts say ``success: false`` because the client timed out; on
  the wire there is only a request without an answer, and wiretale reports
  ``success=None`` (unknown) for unanswered communities, as its module docstring says
  (a silent agent and a lost datagram look the same). The test requires "not True".
* USM: the JSON lists the v3 users with their passwords; the passwords never travel
  (only an HMAC keyed with the localized key does), and wiretale emits no credential
  for USM users. The users are checked in ``snmp_pdus`` instead.
* The value set by the v3 authPriv ``snmpset`` (sysName.0) and the value read by the
  authPriv get travel encrypted; wiretale does not decrypt (no keys), so they are checked
  only as encrypted PDUs.
"""
from __future__ import annotations

import re

from tests.samples_truth import load, rows_of, sessions

AGENT, TRAPD = 161, 162
_TYPES = {"OCTET STRING": "octet_string", "TimeTicks": "timeticks", "OID": "oid",
          "INTEGER": "integer"}


MASKED = "********"    # a community is a secret: rows mask it, the credentials table (checked below) keeps it

def _setup():
    a, facts = load("snmp.pcapng")
    uids = sessions(a, "snmp", {AGENT, TRAPD})
    ops = facts["operations"]
    assert len(uids) == len(ops) == 12
    return a, facts, dict(zip((o["n"] for o in ops), uids))


def _client_values(lines: list[str]) -> list[tuple[str, str, str]]:
    """(oid, type, value) from net-snmp's ``-On`` output lines."""
    out = []
    for ln in lines:
        m = re.match(r"\.([\d.]+) = (\w+): (.*)$", ln)
        if not m:
            continue
        oid, typ, val = m.groups()
        if typ == "STRING":
            out.append((oid, "octet_string", val[1:-1] if val.startswith('"') else val))
        elif typ == "OID":
            out.append((oid, "oid", val.lstrip(".")))
        elif typ == "Timeticks":
            out.append((oid, "timeticks", re.match(r"\((\d+)\)", val).group(1)))
        elif typ == "INTEGER":
            out.append((oid, "integer", val))
        else:
            raise AssertionError(f"unexpected type in the facts: {ln}")
    return out


def _vb(pdu: dict) -> list[tuple[str, str, str]]:
    return [(v["oid"], v["type"], v["value"]) for v in pdu["varbinds"]]


def _pdus(a, uid: str) -> list[dict]:
    return rows_of(a, "snmp_pdus", uid)


def _in_subtree(oid: str, root: str) -> bool:
    return oid.startswith(root + ".")


def test_v1_v2c_gets_walks_and_errors():
    a, facts, uid = _setup()
    for op in facts["operations"]:
        if op["version"] == "3" or op["tool"] not in ("snmpget", "snmpwalk", "snmpbulkwalk"):
            continue
        pdus = _pdus(a, uid[op["n"]])
        reqs = [p for p in pdus if p["is_orig"]]
        resps = [p for p in pdus if not p["is_orig"]]
        assert all(p["version"] == op["version"] and p["community"] == MASKED for p in pdus)
        want_oids = [v["oid"] for v in op["varbinds"]]
        assert [v["oid"] for v in reqs[0]["varbinds"]] == want_oids
        for v in op["varbinds"]:
            if "name" in v:
                assert v["name"] in [x["name"] for x in reqs[0]["varbinds"]]
        if op["tool"] == "snmpget":
            assert reqs[0]["pdu_type"] == "get_request"
            if "Timeout" in " ".join(op["client_output"]):
                assert resps == []                          # wrong community: no answer
                continue
            [resp] = resps
            assert resp["request_id"] == reqs[0]["request_id"] and resp["rtt"] is not None
            if "noSuchName" in " ".join(op["client_output"]):
                assert (resp["error_status"], resp["error_index"]) == ("noSuchName", 1)
            else:
                assert resp["error_status"] == "noError"
                assert _vb(resp) == _client_values(op["client_output"])
            continue
        root = want_oids[0]
        seen = [x for p in resps for x in _vb(p) if _in_subtree(x[0], root)]
        assert seen == _client_values(op["client_output"])
        if op["tool"] == "snmpwalk":
            assert {p["pdu_type"] for p in reqs} == {"get_next_request"}
            assert len(reqs) == len(resps) == len(seen) + 1    # the last answer leaves the subtree
        else:
            reps = int(re.search(r"max-repetitions (\d+)", op["pdu"]).group(1))
            assert {(p["pdu_type"], p["non_repeaters"], p["max_repetitions"]) for p in reqs} == \
                {("get_bulk_request", 0, reps)}
            # the walk ends with the first answer that leaves the subtree
            assert any(not _in_subtree(x[0], root) for x in _vb(resps[-1]))


def test_v2c_set_values():
    a, facts, uid = _setup()
    [op] = [o for o in facts["operations"] if o["tool"] == "snmpset" and o["version"] == "2c"]
    req, resp = _pdus(a, uid[op["n"]])
    want = [(v["oid"], _TYPES[v["type"]], v["value"]) for v in op["varbinds"]]
    assert req["pdu_type"] == "set_request" and req["community"] == MASKED
    assert _vb(req) == want
    assert [v["name"] for v in req["varbinds"]] == [v["name"] for v in op["varbinds"]]
    assert resp["pdu_type"] == "response" and resp["error_status"] == "noError" and _vb(resp) == want
    set_v2 = [(v["oid"], v["value"]) for v in facts["values_set"] if v["version"] == "2c"]
    assert [(o, v) for o, _, v in want] == set_v2
    [row] = rows_of(a, "snmp", uid[op["n"]])
    assert row["set_requests"] == len(want) and row["community"] == MASKED


def test_v3_users_engine_and_encrypted_pdus():
    a, facts, uid = _setup()
    levels = {u["user"]: u["level"] for u in facts["usm_users"]}
    for op in facts["operations"]:
        if op["version"] != "3":
            continue
        pdus = _pdus(a, uid[op["n"]])
        # engine discovery: empty user, no engine id, answered by a report with the engine ID
        disc, report, *rest = pdus
        assert disc["is_orig"] and disc["user"] == "" and disc["engine_id"] == ""
        assert report["pdu_type"] == "report" and report["engine_id"] == facts["engine_id"]
        assert report["varbinds"][0]["name"].startswith("usmStatsUnknownEngineIDs")
        req, resp = rest
        assert req["user"] == resp["user"] == op["user"]
        assert req["engine_id"] == resp["engine_id"] == facts["engine_id"]
        assert levels[op["user"]] == op["security_level"]
        flags = set(req["msg_flags"].split(","))
        if op["security_level"] == "authPriv":
            assert {"auth", "priv"} <= flags
            for p in (req, resp):
                assert p["encrypted"] is True and p["pdu_type"] == "encrypted" and p["varbinds"] == []
            assert resp["rtt"] is not None                   # paired by msgID
        else:
            assert "auth" in flags and "priv" not in flags
            assert not req["encrypted"] and req["pdu_type"] == "get_request"
            assert [v["oid"] for v in req["varbinds"]] == [v["oid"] for v in op["varbinds"]]
            assert [(v["oid"], v["value"]) for v in resp["varbinds"]] == \
                [(v["oid"], v["value"]) for v in op["varbinds"]]
            assert _vb(resp) == _client_values(op["client_output"])


def test_traps_and_inform():
    a, facts, uid = _setup()
    for op in facts["operations"]:
        if op["tool"] not in ("snmptrap", "snmpinform"):
            continue
        pdus = _pdus(a, uid[op["n"]])
        assert pdus[0]["resp_p"] == TRAPD and pdus[0]["community"] == MASKED
        want = [(v["oid"], _TYPES[v["type"]], v["value"]) for v in op["varbinds"]]
        if op["version"] == "1":
            [trap] = pdus
            m = re.match(r"enterprise ([\d.]+), agent-addr ([\d.]+), generic (\d+) \((\w+)\), "
                         r"specific (\d+), time-stamp (\d+)", op["note"])
            ent, agent, _, generic, specific, stamp = m.groups()
            assert (trap["pdu_type"], trap["enterprise"], trap["agent_addr"], trap["generic_trap"],
                    trap["specific_trap"], trap["time_stamp"]) == \
                ("trap", ent, agent, generic, int(specific), int(stamp))
            assert _vb(trap) == want
        elif op["tool"] == "snmptrap":
            [trap] = pdus
            assert trap["pdu_type"] == "trapv2" and trap["version"] == "2c" and _vb(trap) == want
        else:
            inform, resp = pdus
            assert inform["pdu_type"] == "inform" and _vb(inform) == want
            assert resp["pdu_type"] == "response" and resp["request_id"] == inform["request_id"]
            assert resp["rtt"] is not None and _vb(resp) == want


def test_communities_as_credentials():
    a, facts, uid = _setup()
    creds = [c for c in a.rows["credentials"] if c["protocol"] == "snmp"]
    assert {c["kind"] for c in creds} == {"community"}          # no USM credential (see above)
    assert all(c["username"] == "" for c in creds)
    for f in facts["credentials"]:
        if f["kind"] != "community":
            continue
        mine = [c for c in creds if c["secret"] == f["password"]]
        assert mine, f["password"]
        if f["success"]:
            assert any(c["success"] is True for c in mine)
        else:
            assert all(c["success"] is not True for c in mine)   # unanswered: None
    assert {c["secret"] for c in creds} == {f["password"] for f in facts["credentials"]
                                           if f["kind"] == "community"}
    # one per flow that used a community, in the flow of the operation that used it
    for op in facts["operations"]:
        if "community" in op:
            assert [c["secret"] for c in creds if c["uid"] == uid[op["n"]]] == [op["community"]]
    users = {p["user"] for p in a.rows["snmp_pdus"] if p["user"]}
    assert users == {u["user"] for u in facts["usm_users"]}
