"""atheris harness: every registered dissector fed arbitrary bytes, both directions, random splits.

    pip install atheris
    python -m fuzz.fuzz_dissectors -atheris_runs=500000 -max_len=20000 -timeout=10

The first byte picks the dissector (``REGISTRY`` order), the second the split seed; the rest is cut
into chunks that alternate direction as the seed decides, with an occasional ``gap``, then
``close``. The contract says ``feed``/``gap``/``close`` never raise whatever the bytes, so any
exception is a crash.
"""
from __future__ import annotations

import random
import sys

import atheris

with atheris.instrument_imports():
    from decoder.model import ORIG, RESP, FlowContext, Limits, Transport
    from dissectors import REGISTRY

LIMITS = Limits(max_line=512, max_header_block=2048, max_literal=4096, max_message=65536,
                max_decompressed=65536, max_file_size=65536)


def one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    spec = REGISTRY[data[0] % len(REGISTRY)]
    rng = random.Random(data[1])
    body = data[2:]
    ctx = FlowContext(uid="Cfuzz", transport=spec.transport, orig_h="10.0.0.1", orig_p=40000,
                      resp_h="10.0.0.2", resp_p=min(spec.ports) if spec.ports else 9, limits=LIMITS)
    d = spec.factory(ctx)
    pos, ts = 0, 1.0
    while pos < len(body):
        n = rng.randint(1, 64) if spec.transport is Transport.TCP else rng.randint(1, 600)
        direction = ORIG if rng.random() < 0.5 else RESP
        if spec.probe is not None:
            spec.probe(direction, body[pos:pos + n])
        if spec.transport is Transport.TCP and rng.random() < 0.03:
            d.gap(direction, rng.randint(1, 5000), ts)
        d.feed(direction, body[pos:pos + n], ts)
        pos += n
        ts += 0.01
    d.close(ts)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
