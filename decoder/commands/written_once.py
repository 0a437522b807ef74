"""Rows written once (issue 26): which tables a run only writes out as JSON lines, and their encoders.

A run whose tables are written as JSON lines with no report (``read --no-html``, one process or a split
run's workers) gives the engine :func:`written_once` as its ``row_encoder``: each table that nothing reads
after the run gets the writer's own :class:`reports.export.JsonlEncoder`, so its rows are encoded once, as
they spill, and the table is written as those lines (decoder/rows.py). The tables read again after the run
keep their rows: the session assembly's (decoder.session: conn, files, and every assemble hook's tables,
taken from the registry), the summary's (decoder.results.count_for_summary: conn, anomalies, tls) and the
HAR's (http, files). A reader added elsewhere still works on an encoded table (its rows are read back from
the lines, as JSON values) but should be listed here.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

READ_AFTER_THE_RUN = frozenset({"conn", "files", "http", "anomalies", "tls"})


def written_once(registry: Sequence[Any]) -> Callable[[str], Any]:
    """The engine's ``row_encoder`` for a run whose tables are only written as JSON lines: the writer's
    encoder for each table nothing reads after the run, None for the others."""
    from reports.export import JsonlEncoder
    from reports.tables import schema

    read_back = READ_AFTER_THE_RUN | {t for spec in registry if spec.assemble is not None
                                      for t in spec.assemble_tables}

    def encoder(table: str) -> Any:
        return None if table in read_back else JsonlEncoder(schema(table))

    return encoder
