"""The registry loads probes only: detection never imports a dissector module; decoding imports those its flows
need; the reports' table list imports all (their record classes define the tables)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import json, sys
from decoder.pipeline import Engine, run_engine
import dissectors
mode = sys.argv[1]
loaded = lambda: sorted(m for m in dissectors.MODULES if m in sys.modules)
out = {"import": loaded()}
if mode != "none":
    run_engine(Engine(detect_only=mode == "detect"), [sys.argv[2]])
    out["run"] = loaded()
if mode == "tables":
    from reports.tables import names_for
    out["names"] = names_for({})
    out["tables"] = loaded()
print(json.dumps(out))
"""


def _loaded(mode: str, capture: str = "") -> dict:
    p = subprocess.run([sys.executable, "-c", CODE, mode, capture], cwd=ROOT, capture_output=True, text=True,
                       check=True)
    return json.loads(p.stdout)


def test_importing_the_registry_loads_no_dissector() -> None:
    import dissectors

    assert _loaded("none")["import"] == []
    assert {s.name for s in dissectors.REGISTRY} >= set(dissectors.PROTOCOLS)


@pytest.mark.parametrize("sample, module", [("samples/smtp.pcapng", "dissectors.smtp"),
                                            ("samples/ftp.pcapng", "dissectors.ftp")])
def test_detection_loads_none_and_decoding_loads_what_the_flows_need(sample: str, module: str) -> None:
    assert _loaded("detect", sample)["run"] == []
    got = _loaded("full", sample)["run"]
    assert module in got and len(got) < 9


def test_the_table_list_loads_every_dissector_and_names_their_tables() -> None:
    import dissectors

    out = _loaded("tables", "samples/smtp.pcapng")
    assert out["tables"] == sorted(dissectors.MODULES)
    assert {"smtp", "pop3", "imap", "ftp", "http", "dns", "snmp", "tftp"} <= set(out["names"])
