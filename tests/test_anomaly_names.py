"""Every anomaly name the code can emit has a plain-word explanation (issue 23).

The names are found by reading decoder/ and dissectors/ with ``ast``, not from a list kept by
hand, so a new anomaly without an explanation fails here:

* every string constant shaped like a name that starts with a protocol or layer prefix
  (``http_``, ``tftp_``, ``ip_``…), minus the few such constants that are not anomaly names
  (tables, limits, fields: ``NOT_ANOMALIES`` below);
* every constant name given to ``Anomaly(...)``, ``engine.anomaly(...)`` or an anomaly row
  (``{"name": ...}`` added to the ``anomalies`` table), whatever its prefix;
* names composed with an f-string (``f"snmp_ber_{e.name}"``, ``f"{svc}_violation"``), expanded
  over what can fill them (the ``BerError`` names, the registered services). An f-string of an
  unknown shape fails the test, so it cannot slip through.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from dissectors import PROTOCOLS, REGISTRY
from reports import _meanings

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
PREFIXES = ("ip_", "tcp_", "udp_", "dns_", "ftp_", "http_", "imap_", "pop3_", "smtp_", "snmp_",
            "telnet_", "tftp_", "mime_", "tls_", "rpc_", "nfs_")
#: Prefixed constants that are not anomaly names, and what they are.
NOT_ANOMALIES = {
    "ftp_listing": "table", "snmp_pdus": "table", "tcp_flows": "summary count",
    "udp_flows": "summary count", "udp_datagrams": "summary count",
    "tcp_close_delay": "limit", "tcp_idle_timeout": "limit", "udp_idle_timeout": "limit",
    "dns_idle_timeout": "limit", "dns_counts_exceed_message": "limit",
    "ip_address": "SNMP value type", "mime_part": "files column", "mime_type": "files column",
    "dns_names": "batch activity column", "tcp_control": "table", "rpc_status": "rpc table column (live ROW_FIELDS)",
}
#: f-string shapes (literal parts, "{}" for a field) that build anomaly names → the exception class whose
#: first argument fills the field (None: the registered services)
COMPOSED = {"snmp_ber_{}": "BerError", "rpc_xdr_{}": "XdrLimit", "{}_violation": None}
#: f-string shapes that look like names but are not anomaly names.
NOT_COMPOSED = {"unknown_0x{}": "an SNMP value type shown for an unknown tag",
                "sessions_{}": "a batch summary.csv column",
                "probe_{}_{}": "an NFS probe function's name", "handshake_type_{}": "an unknown TLS handshake's name",
                "{}_{}": "NFS status names (NFS3ERR_…)",
                "_s{}": "decoder.model.quick_init: a generated __init__'s slot setters",
                "_d{}": "decoder.model.quick_init: a generated __init__'s defaults",
                "_f{}": "decoder.model.quick_init: a generated __init__'s default factories"}


def _sources() -> list[Path]:
    return sorted(p for d in ("decoder", "dissectors") for p in (ROOT / d).rglob("*.py"))


def _shape(node: ast.JoinedStr) -> str:
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


def _is_anomaly_call(node: ast.Call) -> bool:
    f = node.func
    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
    return name in ("Anomaly", "anomaly", "_anom")


def _walk() -> tuple[set[str], set[str], dict[str, set[str]]]:
    """(plain names, composed shapes, the names each exception class of COMPOSED is raised with)."""
    names: set[str] = set()
    shapes: set[str] = set()
    raised: dict[str, set[str]] = {cls: set() for cls in COMPOSED.values() if cls}
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.match(node.value) \
                    and node.value.startswith(PREFIXES) and node.value not in NOT_ANOMALIES:
                names.add(node.value)
            elif isinstance(node, ast.JoinedStr):
                shape = _shape(node)
                if re.fullmatch(r"[a-z0-9_{}]*_[a-z0-9_{}]*", shape) and "{}" in shape \
                        and shape not in NOT_COMPOSED:
                    shapes.add(shape)
            elif isinstance(node, ast.Call):
                if _is_anomaly_call(node):
                    for arg in node.args[:2]:
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and NAME.match(arg.value):
                            names.add(arg.value)
                f = node.func
                if isinstance(f, ast.Name) and f.id in raised and node.args \
                        and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    raised[f.id].add(node.args[0].value)
                if node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "anomalies":
                    for d in ast.walk(node):
                        if isinstance(d, ast.Dict):
                            for k, v in zip(d.keys, d.values):
                                if isinstance(k, ast.Constant) and k.value == "name" \
                                        and isinstance(v, ast.Constant):
                                    names.add(v.value)
    return names, shapes, raised


def all_anomaly_names() -> set[str]:
    names, shapes, raised = _walk()
    assert shapes <= set(COMPOSED), f"anomaly names built by an f-string of unknown shape: {shapes - set(COMPOSED)}"
    out = set(names)
    services = {spec.name for spec in REGISTRY} | set(PROTOCOLS)
    for shape, cls in COMPOSED.items():
        fill = raised[cls] if cls else services
        assert fill, f"nothing found to fill {shape}"
        out |= {shape.replace("{}", f) for f in fill}
    return out


def test_the_walk_finds_the_anomalies_of_every_layer():
    names = all_anomaly_names()
    for expected in ("capture_truncated", "tcp_overlap_differs", "ip_fragments_incomplete", "dissector_error",
                     "tftp_transfer_aborted", "dns_trailing_bytes", "snmp_ber_indefinite_length",
                     "smtp_violation", "mime_too_deep", "tcp_hole_buffer_limit"):
        assert expected in names
    assert len(names) > 150


def test_every_anomaly_name_has_an_explanation():
    missing = sorted(n for n in all_anomaly_names() if not _meanings.explain_anomaly(n))
    where = "PRESENTATION.anomalies in dissectors/probes/<proto>.py, reports/_meanings.py for the engine's"
    assert not missing, f"anomaly names without an explanation ({where}): {missing}"


def test_every_anomaly_of_the_golden_tables_is_found_by_the_walk():
    found = all_anomaly_names()
    seen = set()
    for p in (ROOT / "tests" / "golden").glob("*/anomalies.jsonl"):
        seen |= {json.loads(line)["name"] for line in p.read_text().splitlines() if line.strip()}
    assert seen <= found, f"anomalies the source walk missed: {seen - found}"


def test_explanations_are_sentences():
    for name, text in _meanings.ANOMALIES.items():
        assert text[0].isupper() and text.rstrip().endswith((".", ")")), name
