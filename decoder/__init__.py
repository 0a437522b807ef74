"""wiretale's engine: capture reading, flows, TCP reassembly, detection, session assembly.

The Python entry point is :func:`analyze`, which returns pandas DataFrames::

    from decoder import analyze
    a = analyze("capture.pcapng")
    a.tables["conn"], a.tables["http"], a.summary
"""
from __future__ import annotations

__version__ = "0.1.0"


def analyze(*args, **kwargs):  # noqa: D103 - documented in decoder.pipeline.analyze
    from decoder.pipeline import analyze as _analyze

    return _analyze(*args, **kwargs)


analyze.__doc__ = "Decode captures into DataFrames; see decoder.pipeline.analyze."
__all__ = ["analyze", "__version__"]
