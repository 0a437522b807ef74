"""atheris harness: the whole pipeline over mutated captures (coverage-guided, for long runs).

    pip install atheris
    python -m fuzz.fuzz_pipeline -atheris_runs=200000 -max_len=400000 -timeout=20 -rss_limit_mb=2048 \
        /tmp/wiretale-corpus                # a corpus directory (seeded with samples/ on first run)

Each input is either a whole capture (libFuzzer's own mutations) or, when it starts with the byte
``0x00``, a seed for :func:`fuzz.mutate.mutate` applied to a sample (structure-aware mutations).
The run uses ``Engine(strict=True)`` and :func:`fuzz.runner.check`; any exception is a crash that
libFuzzer saves as ``crash-*`` (replay: ``python -m fuzz.fuzz_pipeline crash-…``).
"""
from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import decoder.pipeline  # noqa: F401
    import dissectors  # noqa: F401

from fuzz.mutate import mutate, sample_corpus  # noqa: E402
from fuzz.runner import run_bytes, scratch  # noqa: E402

SAMPLES = [p.read_bytes() for p in sample_corpus()]
WORK = scratch()


def one_input(data: bytes) -> None:
    if data[:1] == b"\x00" and len(data) >= 9:
        rng = random.Random(int.from_bytes(data[1:9], "little"))
        data, _ = mutate(SAMPLES[rng.randrange(len(SAMPLES))], rng, SAMPLES[rng.randrange(len(SAMPLES))])
    run_bytes(data, WORK)


def main() -> None:
    dirs = [a for a in sys.argv[1:] if not a.startswith("-")]
    if dirs and Path(dirs[0]).is_dir() and not any(Path(dirs[0]).iterdir()):
        for p in sample_corpus():
            shutil.copy(p, Path(dirs[0]) / p.name)
    atheris.Setup(sys.argv, one_input)
    try:
        atheris.Fuzz()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
