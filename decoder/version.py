"""wiretale's version, in a module of its own so that any part (engine, commands, the package's
``__init__``) can name it without importing the ``decoder`` package and what it re-exports."""
from __future__ import annotations

__version__ = "0.1.0"
