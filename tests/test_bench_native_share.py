"""benchmarks/native_share.py: how py-spy frames are classified and counted, and the bound it prints.

No timing is asserted: the script is a benchmark tool; these keep its arithmetic right."""
from __future__ import annotations

import pytest

from benchmarks import native_share as ns

RAW = [
    # innermost frame: Python bytecode
    "0x7f (libc.so.6);<module> (decoder/cli.py:416);Engine._fast (decoder/pipeline.py:425) 50",
    # the standard library and frozen modules are Python too
    "<module> (decoder/cli.py:416);_find_and_load (<frozen importlib._bootstrap>:1165) 4",
    # a dataclass __init__ generated at run time
    "Engine._route (decoder/pipeline.py:826);__init__ (<string>:3) 6",
    # an interpreter C function, then C libraries and extension modules
    "Engine.run (decoder/pipeline.py:284);gc_collect_main (libpython3.11.so.1.0) 10",
    "ArtifactStore._flush (decoder/artifacts.py:205);os_writev (libpython3.11.so.1.0);writev (libc.so.6) 20",
    "Spill.dump (decoder/rows.py:61);save (_pickle.c:3317) 7",
    "Spill.dump (decoder/rows.py:61);save (_pickle.c:3314) 3",
    "",                                   # blank and malformed lines are skipped
    "not a sample line",
]


@pytest.mark.parametrize("frame, cls", [
    ("Engine._fast (decoder/pipeline.py:425)", "python"),
    ("_run_code (<frozen runpy>:88)", "python"),
    ("__init__ (<string>:3)", "generated"),
    ("gc_collect_main (libpython3.11.so.1.0)", "libpython"),
    ("writev (libc.so.6)", "native"),
    ("inflate (libz.so.1.2.13)", "native"),
    ("save (_pickle.c:3317)", "native"),
    ("0x7f8d7504524a (libc.so.6)", "native"),
])
def test_classify(frame, cls):
    assert ns.classify(frame) == cls


def test_shares_count_samples_by_innermost_frame():
    by_class, by_leaf, total = ns.shares(RAW)
    assert total == 100
    assert by_class == {"python": 54, "generated": 6, "libpython": 10, "native": 30}
    # native leaves are grouped by library or C file, libpython ones by function
    assert by_leaf == {"libc.so.6": 20, "_pickle.c": 10, "gc_collect_main": 10}


def test_amdahl_bound():
    assert ns.amdahl(0.6, 1) == pytest.approx(1.0)
    assert ns.amdahl(0.6, 2) == pytest.approx(1 / 0.7)
    assert ns.amdahl(0.6, float("inf")) == pytest.approx(2.5)


def test_report_from_raw_file(tmp_path, capsys):
    raw = tmp_path / "samples.txt"
    raw.write_text("\n".join(RAW) + "\n")
    assert ns.main(["--raw", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "100 samples" in out and "54.0%  python" in out and "30.0%  native" in out
    assert "libc.so.6 20.0%" in out
    assert "k=inf: 2.50x" in out            # 60% interpreted: at most 1 / 0.4


def test_needs_exactly_one_input():
    with pytest.raises(SystemExit):
        ns.main([])
    with pytest.raises(SystemExit):
        ns.main(["x.pcap", "--raw", "y.txt"])
