"""The old path of :mod:`decoder.commands.output` (the module itself: importing either name gives the same
module object, so existing imports, patches and ``python -m decoder.output`` keep working)."""
import sys

from decoder.commands import output as _module

if __name__ == "__main__" and hasattr(_module, "main"):  # pragma: no cover - python -m decoder.output
    raise SystemExit(_module.main())
sys.modules[__name__] = _module
