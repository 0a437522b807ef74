"""The fuzz campaign harness (fuzz/campaign.py): its re-segmentation keeps every stream, and a short
campaign over the samples runs every family through ``wiretale read`` with no finding."""
from __future__ import annotations

import random

import pytest

from decoder.api import analyze
from fuzz.campaign import FAMILIES, m_resegment, main
from fuzz.mutate import SAMPLES


def _streams(path) -> dict:
    with analyze(path, keep_streams=True, decode=False, strict=True) as a:
        by_key = {}
        for r in a.rows["conn"]:
            chunks = a.streams.get(r["uid"], [])
            by_key[(r["orig_h"], r["orig_p"], r["resp_h"], r["resp_p"])] = tuple(
                b"".join(c.data for c in chunks if c.direction == d and c.data is not None) for d in (0, 1))
        return by_key


@pytest.mark.parametrize("sample", ["http.pcapng", "ftp.pcapng", "telnet.pcapng"])
def test_resegmented_captures_carry_the_same_streams(tmp_path, sample):
    data = (SAMPLES / sample).read_bytes()
    cut = m_resegment(data, random.Random(3))
    assert cut != data and len(cut) > len(data)            # more, smaller packets
    (tmp_path / "a.pcap").write_bytes(data)
    (tmp_path / "b.pcap").write_bytes(cut)
    assert _streams(tmp_path / "b.pcap") == _streams(tmp_path / "a.pcap")


def test_a_short_campaign_over_every_family_finds_nothing(tmp_path, capsys):
    report = tmp_path / "r.json"
    rc = main(["--count", str(2 * len(FAMILIES)), "--jobs", "1", "--no-shared", "--html-every", "4",
               "--json", str(report)])
    import json

    r = json.loads(report.read_text())
    assert rc == 0 and r["findings"] == [], r["findings"]
    assert set(r["families"]) == set(FAMILIES) and r["cases"] == 2 * len(FAMILIES)
