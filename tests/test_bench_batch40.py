"""benchmarks/batch40.py: the set it builds, its arguments, and one run on two tiny captures.

No timing is asserted: the script is a benchmark; this only keeps it runnable."""
from __future__ import annotations

import json

import pytest

from benchmarks import batch40


def test_default_set_is_forty_hand_ins_with_ten_samples():
    items = batch40.plan(40, [int(x) for x in batch40.DEFAULT_SIZES.split(",")], 4)
    assert len(items) == 40 and len({name for name, _, _ in items}) == 40
    samples = [src for _, src, _ in items if src != "generate"]
    assert samples == [p.name for p in batch40.SAMPLES][:10] and len(set(samples)) == 10
    sizes = [mb for _, src, mb in items if src == "generate"]
    assert len(sizes) == 30 and set(sizes) == set(range(1, 21)) and 250 <= sum(sizes) <= 350
    assert items[0][0] == "student-01-seed1-1M.pcap" and items[3][0].startswith("student-04-")


def test_build_removes_files_outside_the_set(tmp_path):
    (tmp_path / "stale.pcap").write_bytes(b"x")
    caps = batch40.build(batch40.plan(2, [1], 1), tmp_path)      # two copies of samples
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in caps)
    assert all(p.stat().st_size > 0 for p in caps)


@pytest.mark.parametrize("argv", [["--count", "0"], ["--sizes", "a,b"], ["--sizes", "0"]])
def test_bad_arguments_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as e:
        batch40.main(argv + ["--no-tshark"])
    assert e.value.code == 2


def test_runs_and_checks_two_tiny_captures(tmp_path, capsys):
    dest = tmp_path / "r.json"
    assert batch40.main(["--count", "2", "--sample-every", "1", "--data", str(tmp_path / "set"),
                         "--no-tshark", "--json", str(dest)]) == 0
    md = capsys.readouterr().out
    assert "| run | captures | MB |" in md and md.count("| wiretale batch") == 4
    assert "Checks: 2 captures ok" in md
    res = json.loads(dest.read_text())
    assert len(res["set"]) == 2 and len(res["runs"]) == 4
