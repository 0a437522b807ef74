"""How much of a wiretale run is interpreted Python, and how much is already native code.

    python -m benchmarks.native_share FILE                      # samples `wiretale read FILE --no-html`
    python -m benchmarks.native_share --raw SAMPLES.txt          # classify an existing py-spy raw file

The question it answers: how fast could wiretale get if its Python were compiled (mypyc,
Cython) or rewritten? A compiler speeds up only the samples whose innermost frame is
Python bytecode; time in libc (memcpy, write/writev), zlib, OpenSSL's hashes, binascii,
pickle, orjson and the like is already machine code and stays. With a share ``p`` of
interpreted samples and a compiler that makes that part ``k`` times faster, the whole run
gets at most ``1 / ((1 - p) + p / k)`` times faster (Amdahl's law).

It runs ``py-spy record --native -f raw`` (py-spy must be installed: ``pip install py-spy``;
not a dependency of wiretale) and classifies each sample by its innermost frame:

* ``python``: a Python frame (``file.py:line``): the interpreter running our bytecode (or
  the standard library's), including what the interpreter does for it (attribute and dict
  lookups, calls) that py-spy does not show as native frames;
* ``generated``: code generated at run time (``<string>``: dataclass ``__init__`` methods);
  interpreted Python too;
* ``libpython``: a C function of the interpreter named by py-spy (``gc_collect_main``,
  ``unicode_decode_utf8``, the regex engine, ...);
* ``native``: any other native frame: a C library (libc, libz, libcrypto) or a C source
  file of an extension module (``_pickle.c``, ``binascii.c``, orjson).

Prints one line per class and the bound above for a few ``k``. A benchmark tool, never a
timed test; figures from it are in benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CLASSES = ("python", "generated", "libpython", "native")


def _split(frame: str) -> tuple[str, str]:
    """A py-spy raw frame ``name (where)`` as (name, where without its ``:line``)."""
    name, sep, where = frame.rpartition(" (")
    if not (sep and where.endswith(")")):
        return frame, frame
    where = where[:-1]
    return name, where.rsplit(":", 1)[0] if ":" in where else where


def classify(frame: str) -> str:
    """The class of one py-spy frame, as written in its raw output: ``name (where)``,
    where ``where`` is ``file.py:line``, ``<frozen ...>:line``, ``<string>:line``, a shared
    library's name (``libc.so.6``) or a C source file (``_pickle.c:3317``)."""
    path = _split(frame)[1]
    if path == "<string>":
        return "generated"
    if path.endswith(".py") or path.startswith("<frozen"):
        return "python"
    if "libpython" in path:
        return "libpython"
    return "native"


def shares(lines) -> tuple[collections.Counter, collections.Counter, int]:
    """Count the samples of py-spy raw lines (``frame;frame;... COUNT``) by the class of
    their innermost frame; also by the innermost native frame itself. Returns (by class,
    by native leaf, total samples). Lines that are not ``stack COUNT`` are skipped."""
    by_class: collections.Counter = collections.Counter()
    by_leaf: collections.Counter = collections.Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        leaf = stack.rsplit(";", 1)[-1]
        cls = classify(leaf)
        by_class[cls] += n
        if cls in ("native", "libpython"):
            name, path = _split(leaf)
            by_leaf[path if cls == "native" else name] += n
        total += n
    return by_class, by_leaf, total


def amdahl(p: float, k: float) -> float:
    """The whole run's speed-up when a share ``p`` of it gets ``k`` times faster."""
    return 1.0 / ((1.0 - p) + p / k)


def record(capture: str, rate: int) -> list[str]:
    """Run ``wiretale read CAPTURE --no-html`` under py-spy and return its raw lines."""
    with tempfile.TemporaryDirectory(prefix="wt-native-") as tmp:
        raw = os.path.join(tmp, "samples.txt")
        cmd = ["py-spy", "record", "--native", "-r", str(rate), "-f", "raw", "-o", raw, "--",
               sys.executable, "-m", "decoder.cli", "read", capture, "-o",
               os.path.join(tmp, "out"), "--no-html"]
        try:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except FileNotFoundError:
            raise SystemExit("native_share: py-spy is not installed (pip install py-spy)")
        except subprocess.CalledProcessError as e:
            raise SystemExit(f"native_share: py-spy exited with {e.returncode} "
                             "(it needs ptrace: run as root or with CAP_SYS_PTRACE)")
        return Path(raw).read_text().splitlines()


def report(lines, top: int = 12) -> str:
    by_class, by_leaf, total = shares(lines)
    if not total:
        return "no samples"
    out = [f"{total} samples"]
    for cls in CLASSES:
        out.append(f"{100 * by_class[cls] / total:6.1f}%  {cls}")
    p = (by_class["python"] + by_class["generated"]) / total
    out.append("largest native leaves: " + ", ".join(
        f"{name} {100 * n / total:.1f}%" for name, n in by_leaf.most_common(top)))
    out.append("whole-run speed-up if the interpreted share ran k times faster: " + ", ".join(
        f"k={k:g}: {amdahl(p, k):.2f}x" for k in (1.5, 2, 3, float("inf"))))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.native_share", description=__doc__.split("\n")[0])
    ap.add_argument("capture", nargs="?", help="capture to run `wiretale read --no-html` on")
    ap.add_argument("--raw", help="an existing `py-spy record --native -f raw` output to classify")
    ap.add_argument("--rate", type=int, default=200, help="py-spy samples per second (default 200)")
    args = ap.parse_args(argv)
    if bool(args.capture) == bool(args.raw):
        ap.error("give a capture or --raw FILE (one of them)")
    lines = Path(args.raw).read_text().splitlines() if args.raw else record(args.capture, args.rate)
    print(report(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
