"""wiretale's engine: capture reading, flows, TCP reassembly, detection, session assembly.

The Python entry point is :func:`analyze`, which returns pandas DataFrames::

    from decoder import analyze
    a = analyze("capture.pcapng")
    a.tables["conn"], a.tables["http"], a.summary
"""
from __future__ import annotations

from decoder.version import __version__


def __getattr__(name: str):
    """``analyze`` is :func:`decoder.api.analyze` itself (its signature and docstring in ``help``),
    imported when first asked for so that ``import decoder`` stays light."""
    if name == "analyze":
        from decoder.api import analyze

        return analyze
    raise AttributeError(f"module 'decoder' has no attribute {name!r}")


__all__ = ["analyze", "__version__"]
