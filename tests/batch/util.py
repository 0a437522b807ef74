"""Helpers for the batch tests: tables as sorted rows, differences in words."""
from __future__ import annotations

import json
from pathlib import Path


def jsonl_tables(out: Path) -> dict[str, list[str]]:
    """OUT/tables/*.jsonl as {table: sorted canonical JSON rows} (order-free comparison)."""
    tables = {}
    for p in sorted((Path(out) / "tables").glob("*.jsonl")):
        rows = [json.dumps(json.loads(line), sort_keys=True) for line in p.read_text(encoding="utf-8").split("\n")
                if line]
        tables[p.stem] = sorted(rows)
    return tables


def differences(a: dict[str, list[str]], b: dict[str, list[str]], limit: int = 3) -> list[str]:
    out = []
    for name in sorted(set(a) | set(b)):
        ra, rb = a.get(name, []), b.get(name, [])
        if ra != rb:
            sa, sb = set(ra), set(rb)
            out.append(f"{name}: {len(ra)} vs {len(rb)} rows")
            out += [f"  only first:  {r[:400]}" for r in sorted(sa - sb)[:limit]]
            out += [f"  only second: {r[:400]}" for r in sorted(sb - sa)[:limit]]
    return out


def equal_ignoring(a: dict[str, list[str]], b: dict[str, list[str]], ignore: dict[str, tuple[str, ...]]) -> bool:
    """True when the tables are equal once the ``ignore`` columns ({table: columns}) are left out."""
    def strip(rows: list[str], cols: tuple[str, ...]) -> list[str]:
        out = []
        for r in rows:
            d = json.loads(r)
            for c in cols:
                d.pop(c, None)
            out.append(json.dumps(d, sort_keys=True))
        return sorted(out)

    return all(strip(a.get(k, []), ignore.get(k, ())) == strip(b.get(k, []), ignore.get(k, ()))
               for k in set(a) | set(b))


def parquet_rows(path: Path) -> list[str]:
    """A Parquet file's rows as sorted canonical JSON."""
    import pyarrow.parquet as pq

    return sorted(json.dumps(r, sort_keys=True, default=str) for r in pq.read_table(path).to_pylist())
