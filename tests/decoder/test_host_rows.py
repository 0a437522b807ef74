"""The dissector host's rows (decoder.host): a timeline row per event and a table row per record, made by
makers generated once per class (decoder.results.dict_maker), with the summary and meaning of the event,
what a failing summary says in its place, and a dissector that raises kept raw with a
``dissector_error`` anomaly (issue 26 moved these off generic readers; the rows must not change)."""
from __future__ import annotations

from dataclasses import dataclass

from decoder.artifacts import ArtifactStore
from decoder.flows import Flow
from decoder.host import DissectorHost
from decoder.keylog import Keyring
from decoder.model import ORIG, DissectorSpec, Event, Limits, Record, Transport, Verdict
from decoder.results import Results


@dataclass(frozen=True, slots=True)
class Said(Event):
    text: str = ""
    parts: tuple = ()

    def summary(self) -> str:
        if self.text == "boom":
            raise ValueError("no summary")
        return f"said {self.text}"

    def meaning(self) -> str:
        return 42          # not a str: written as its str()


@dataclass(frozen=True, slots=True)
class Quiet(Event):
    """No meaning() of its own: the row's meaning is empty."""


@dataclass(frozen=True, slots=True)
class Line(Record):
    TABLE = "toy_lines"
    COLUMNS = {"from_": "from"}
    from_: str = ""
    uid: str = "the record's own uid"      # a field named like a lead column: its value, at the lead's place
    words: tuple = ()


class Toy:
    def __init__(self, ctx) -> None:
        self.n = 0

    def feed(self, d, data: bytes, ts: float):
        self.n += 1
        if data.startswith(b"crash"):
            raise RuntimeError("toy bug")
        text = data.decode().strip()
        return [Said(ts, d, text, (text, b"\xff", 1.5)), Quiet(ts, d),
                Line(ts, "me", words=tuple(text.split()))]

    def gap(self, d, n, ts):
        return []

    def close(self, ts):
        return []


def _run(chunks: list[bytes]) -> tuple[Results, list[tuple]]:
    anomalies: list[tuple] = []
    spec = DissectorSpec("toy", Transport.TCP, frozenset({7777}), lambda d, b: Verdict.YES, Toy)
    res = Results()
    host = DissectorHost(Limits(), [spec], res, ArtifactStore(None, Limits()), Keyring(),
                         lambda ts, name, detail, **kw: anomalies.append((name, detail)), lambda f, k: None)
    flow = Flow("tcp", (b"\x0a\x00\x00\x01", 40000), (b"\x0a\x00\x00\x02", 7777), 1.0, 1, False, Limits())
    host.open(flow, 1.0)
    for i, c in enumerate(chunks):
        host.deliver(flow, 0, [(False, c)], 1.0 + i, 1 + i)
    host.finish(flow, 9.0)
    return res, anomalies


def test_event_and_record_rows() -> None:
    res, anomalies = _run([b"hello world", b"boom"])
    assert anomalies == []
    timeline = list(res.tables["timeline"])
    said = [r for r in timeline if r["kind"] == "Said"]
    assert list(said[0]) == ["ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p", "proto", "direction", "kind",
                             "summary", "meaning", "frame", "fields"]
    assert said[0]["summary"] == "said hello world" and said[0]["meaning"] == "42"
    assert said[0]["fields"] == {"text": "hello world", "parts": ["hello world", "\\xff", 1.5]}
    assert (said[0]["frame"], said[1]["frame"]) == (1, 2)
    assert said[1]["summary"] == "<summary failed: ValueError>"
    quiet = [r for r in timeline if r["kind"] == "Quiet"]
    assert quiet[0]["meaning"] == "" and quiet[0]["fields"] == {} and quiet[0]["summary"] == "Quiet"
    lines = list(res.tables["toy_lines"])
    assert list(lines[0]) == ["ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p", "from", "words"]
    assert lines[0]["uid"] == "the record's own uid" and lines[0]["from"] == "me"
    assert lines[0]["words"] == ["hello", "world"] and lines[0]["orig_h"] == "10.0.0.1"


def test_a_dissector_that_raises_leaves_the_flow_raw_with_an_anomaly() -> None:
    res, anomalies = _run([b"one", b"crash now", b"two"])
    assert anomalies == [("dissector_error", "toy: RuntimeError: toy bug")]
    assert [r["summary"] for r in res.tables["timeline"] if r["kind"] == "Said"] == ["said one"]
