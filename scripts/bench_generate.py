"""Benchmark the synthetic history generator: events per second to generate and to write.

Usage::

    .venv/bin/python scripts/bench_generate.py            # about 1 million events, CSV
    .venv/bin/python scripts/bench_generate.py --formats csv parquet jsonl --rate 5

The default rate (20.3 requests per service per minute at peak) gives about
one million events for 8 services over 7 days.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from errpredict.datasets._generator import generate_history, write_history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--services", type=int, default=8)
    parser.add_argument("--rate", type=float, default=20.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formats", nargs="+", default=["csv"],
                        choices=["csv", "parquet", "jsonl"])
    args = parser.parse_args()

    t0 = time.perf_counter()
    history = generate_history(days=args.days, services=args.services, seed=args.seed,
                               rate=args.rate)
    gen_s = time.perf_counter() - t0
    n = len(history.events)
    print(f"generate   {n:>10,} events in {gen_s:6.2f} s  {n / gen_s:>12,.0f} events/s")
    total = gen_s
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats:
            path = Path(tmp) / f"hist.{fmt}"
            t0 = time.perf_counter()
            write_history(history, path)
            write_s = time.perf_counter() - t0
            size = path.stat().st_size / 1e6
            print(f"write {fmt:<7}{n:>8,} events in {write_s:6.2f} s  {n / write_s:>12,.0f} "
                  f"events/s  ({size:,.0f} MB)")
            if fmt == "csv":
                total += write_s
    if "csv" in args.formats:
        print(f"generate + write csv: {total:.2f} s")
    print(history.summary())


if __name__ == "__main__":
    main()
