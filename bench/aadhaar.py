"""What masking Aadhaar numbers costs a KYC delivery before it is stored, per body, on one thread.

    .venv/bin/python -m bench.aadhaar [--bodies 20000]

Times bridge/sources/redaction.py's aadhaar_masked (the receiver's step for
the KYC kinds) on Digio's sample as shipped (no 12-digit run: the common
case, one regular-expression search), with a whole Aadhaar number added
(the payload walked, the number masked, the body written again), and with
the sample's ids lengthened into 12-digit runs that are no Aadhaar number
(walked, nothing masked, the body kept). Other kinds never call it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

from bridge.sources.payload import parse_json_object
from bridge.sources.redaction import aadhaar_masked

SAMPLES = Path(__file__).resolve().parents[1] / "transforms" / "samples"
SAMPLE = SAMPLES / "digio" / "KYC_REQUEST_APPROVED.json"


def bodies() -> list[tuple[str, bytes]]:
    """Return the three bodies measured, each with what it shows."""
    sample = SAMPLE.read_bytes()
    document = json.loads(sample)
    with_number = {**document, "aadhaar_number": "2341 2341 2346"}
    look_alike = {**document, "rrn": "234123412347", "ref": "612345678901"}
    return [
        ("as shipped: no 12-digit run", sample),
        ("a whole Aadhaar number: masked, body rewritten", json.dumps(with_number).encode()),
        ("12-digit runs that are none: walked, body kept", json.dumps(look_alike).encode()),
    ]


def per_body_microseconds(body: bytes, count: int) -> float:
    """Return the best of five runs of count calls, in microseconds per body."""
    payload = parse_json_object(body)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(count):
            aadhaar_masked(body, payload)
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    """Print each body's cost."""
    parser = argparse.ArgumentParser(prog="python -m bench.aadhaar", description=__doc__.split("\n")[0])
    parser.add_argument("--bodies", type=int, default=20000, help="calls per run (default 20000)")
    options = parser.parse_args(argv)
    print("| body | bytes | µs per body |\n|---|--:|--:|")
    for name, body in bodies():
        print(f"| {name} | {len(body)} | {per_body_microseconds(body, options.bodies):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
