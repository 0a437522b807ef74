"""The old path of :mod:`decoder.commands.live` (the module itself: importing either name gives the same
module object, so existing imports, patches and ``python -m decoder.live`` keep working)."""
import sys

from decoder.commands import live as _module

if __name__ == "__main__" and hasattr(_module, "main"):  # pragma: no cover - python -m decoder.live
    raise SystemExit(_module.main())
sys.modules[__name__] = _module
