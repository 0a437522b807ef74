"""benchmarks/replay_dissectors.py: what it records is what the dissectors were given in a read.

No timing is asserted: the script is a benchmark tool; this checks that replaying a recording makes the events a
read of the same capture put in its timeline, and that recording leaves the classes as they were."""
from __future__ import annotations

import pickle
from collections import Counter

import pytest

from benchmarks import replay_dissectors as rd
from tests.conftest import SAMPLES


@pytest.mark.parametrize("sample, service", [("dns.pcapng", "dns"), ("telnet.pcapng", "telnet")])
def test_a_replay_makes_the_events_of_the_read(tmp_path, sample, service):
    from decoder.api import analyze
    from dissectors.dns import DnsDissector

    init = DnsDissector.__dict__["__init__"]
    rec = tmp_path / "rec.pickle"
    rd.record(SAMPLES / sample, rec)
    assert DnsDissector.__dict__["__init__"] is init          # the wrappers are gone
    with open(rec, "rb") as fh:
        log = pickle.load(fh)
    replayed: Counter = Counter()
    for name, a, k, calls in log:
        d = getattr(__import__(rd.CLASSES[name], fromlist=[name]), name)(*a, **k)
        for meth, args in calls:
            items = getattr(d, meth)(*args)
            if meth != "bulk":
                replayed.update(it.summary() for it in items or () if hasattr(it, "summary"))
    with analyze(SAMPLES / sample) as an:
        read = Counter(r["summary"] for r in an.rows["timeline"] if r["proto"] == service)
    assert read and +replayed == read
    assert set(rd.run(rec, 1, None)) == {name for name, *_ in log}
