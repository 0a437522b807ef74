"""The report's masker (reports.html.Masker) against the regular expression it replaced.

The masker searches every secret variant at once with an Aho–Corasick automaton. What it hides must be
exactly what one regular expression would: every base64 variant and long secret anywhere (longest first
at one place), then the short secrets (under SHORT_SECRET characters) only between word boundaries,
scanning left to right without overlap. The reference here is that expression, built as the report
built it before; hypothesis draws secrets and texts from a small alphabet so that overlaps, repeats,
prefixes and boundaries are common, in str (with surrogate escapes) and in bytes."""
from __future__ import annotations

import base64
import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.html import MASK, SECRET_COLUMNS, SHORT_SECRET, Masker


def reference(creds: list[dict]) -> tuple[re.Pattern | None, re.Pattern | None]:
    variants: set[bytes] = set()
    short: set[bytes] = set()
    for c in creds:
        sec = c["secret"]
        raw = sec.encode("utf-8", "surrogateescape")
        u = c["username"].encode("utf-8", "surrogateescape")
        (short if len(sec) < SHORT_SECRET else variants).add(raw)
        for wrapped in (raw, u + b":" + raw, b"\0" + u + b"\0" + raw, u + b"\0" + u + b"\0" + raw):
            variants.add(base64.b64encode(wrapped).rstrip(b"="))
    alts = [re.escape(v) for v in sorted(variants, key=len, reverse=True)] + \
        [rb"(?<![A-Za-z0-9])" + re.escape(v) + rb"(?![A-Za-z0-9])" for v in sorted(short, key=len, reverse=True)]
    if not alts:
        return None, None
    rb_ = re.compile(b"|".join(alts))
    return rb_, re.compile(rb_.pattern.decode("utf-8", "surrogateescape"))


ALPHABET = "ab1 :=YWJ\udcff\x00"
secrets = st.text(alphabet=ALPHABET, min_size=1, max_size=6)
cred_lists = st.lists(st.fixed_dictionaries({"username": st.text(alphabet="ab", max_size=2), "secret": secrets}),
                      min_size=1, max_size=6)
texts = st.text(alphabet=ALPHABET, max_size=60)


@settings(max_examples=400, deadline=None)
@given(cred_lists, texts)
def test_masker_masks_what_the_alternation_masked(creds, text):
    m = Masker(creds, show=False)
    ref_b, ref_s = reference(creds)
    # secrets (and base64 of them) planted in the text too
    planted = text + " " + creds[0]["secret"] + "x" + creds[-1]["secret"] + " " + \
        base64.b64encode(creds[0]["secret"].encode("utf-8", "surrogateescape")).decode() + text
    for s in (text, planted):
        assert m.text(s) == ref_s.sub(MASK, s)
        data = s.encode("utf-8", "surrogateescape")
        assert m.ranges(data) == [x.span() for x in ref_b.finditer(data)]


def test_masker_cost_follows_the_text_not_the_number_of_secrets():
    """Thousands of secrets: one pass over the text (the alternation took time in proportion to both)."""
    few = Masker([{"username": "u", "secret": "pw-0000"}], show=False)
    many = Masker([{"username": f"user{i}", "secret": f"pw-{i:04d}"} for i in range(5000)], show=False)
    text = "GET /index.html HTTP/1.1 Host: example.org pw-4999 " * 200
    assert many.text(text).count(MASK) == 200 and "pw-4999" not in many.text(text)

    def cost(m: Masker) -> float:
        t = time.process_time()
        for _ in range(20):
            m.text(text)
        return time.process_time() - t

    assert cost(many) < 5 * cost(few) + 0.05


def test_a_field_cell_is_the_masked_value_written_as_a_cell():
    """_Report._cell (the decoded-fields tables' fast path) equals _value(Masker.value(column, v))."""
    from types import SimpleNamespace

    from reports.html import SECRET_COLUMNS, _Report, _value

    values = [None, "", "x", "s3cret!", "ab", " ab ", "xaby", 0, 1, -5, 10 ** 400, True, False, 1.5, float("nan"),
              ["s3cret!", 1], {"password": "z", "a": "s3cret!"}, ("ab",), [], {}, "a\x00b\u202e", 2 ** 70]
    creds = [{"username": "bob", "secret": "s3cret!"}, {"username": "x", "secret": "ab"}]
    for show in (False, True):
        r = SimpleNamespace(show=show, masker=Masker(creds, show))
        for column in ("password", "Pass", "uri", "", "secret"):
            for v in values:
                assert _Report._cell(r, column.lower() in SECRET_COLUMNS, v) == _value(r.masker.value(column, v)), \
                    (show, column, v)


ROW_ALPHABET = ALPHABET + "\n\x01\"\\é"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.fixed_dictionaries({"username": st.text(alphabet="ab", max_size=2),
                                       "secret": st.text(alphabet=ROW_ALPHABET, min_size=1, max_size=6)}),
                min_size=1, max_size=6),
       st.dictionaries(st.sampled_from(["a", "b", "password", "q"]),
                       st.one_of(st.text(alphabet=ROW_ALPHABET, max_size=30), st.integers(),
                                 st.lists(st.text(alphabet=ROW_ALPHABET, max_size=8), max_size=3),
                                 st.dictionaries(st.sampled_from(["x", "pass"]), st.text(alphabet=ROW_ALPHABET,
                                                                                          max_size=8), max_size=2)),
                       max_size=4))
def test_one_search_of_a_row_never_misses_what_masking_would_hide(creds, row):
    """Masker.row_hits (one search of the row's JSON) says yes whenever searching the row's texts would hide
    something (escaped characters beside or inside a secret, short secrets, surrogates included); secret
    columns and keys are masked whatever it says."""
    m = Masker(creds, show=False)
    if any(m.value(k, v) != m.value(k, v, search=False) for k, v in row.items()):
        assert m.row_hits(row)


def test_a_row_without_secrets_gives_the_cells_of_the_masked_values():
    """A decoded-fields row skips masking cell by cell only when its one search finds nothing; the cells
    are then what _value(Masker.value(column, v)) writes, secret columns and dict keys included."""
    from types import SimpleNamespace

    from reports.html import _Report, _value

    creds = [{"username": "bob", "secret": "s3cret!"}, {"username": "x", "secret": "ab"}]
    r = SimpleNamespace(show=False, masker=Masker(creds, False))
    rows = [{"user": "bob", "password": "hunter", "n": 3, "d": {"pass": "q", "x": [1, "y"]}, "e": None, "f": "",
             "pass": ["z"], "secret": {"a": 1}, "Passwd": 7, "x": [{"password": ["w"]}], "y": ("c", None)},
            {"user": "bob", "uri": "/login?p=s3cret!", "t": ("ab", "cab")}]
    for row in rows:
        cols = list(row)
        secret = [k.lower() in SECRET_COLUMNS for k in cols]
        masked = r.masker.row_hits(row)
        assert masked == ("uri" in row)
        got = [_Report._cell(r, sk, row[k], masked) for k, sk in zip(cols, secret)]
        assert got == [_value(r.masker.value(k, row[k])) for k in cols], row
