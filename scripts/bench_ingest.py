#!/usr/bin/env python
"""Benchmark: ingest a large events CSV into Parquet, then featurize it, with bounded memory.

Writes (or takes) a CSV of synthetic canonical events, converts it with
``errpredict.io.ingest`` in a fresh child process, then featurizes the Parquet
file chunk by chunk (``errpredict.features.transform_chunks``) in another,
and prints events/s and each process's peak resident memory (``ru_maxrss``)::

    python scripts/bench_ingest.py                       # 10 million events in /tmp
    python scripts/bench_ingest.py --events 1000000
    python scripts/bench_ingest.py --csv my_events.csv   # an existing file

The synthetic CSV goes to a temporary folder (default under /tmp) and is
deleted afterwards unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

SERVICES = [f"svc-{i:02d}" for i in range(40)]
OPERATIONS = [f"GET /api/v1/resource{i}" for i in range(25)]
HOSTS = [f"node-{i:03d}" for i in range(200)]
ERROR_TYPES = ["TimeoutError", "HTTP 503", "UNAVAILABLE", "ConnectionResetError", "HTTP 500",
               "DEADLINE_EXCEEDED"]


def _dictionary(codes: np.ndarray, values: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype("int32")), pa.array(values))


def write_synthetic_csv(path: Path, events: int, *, seed: int = 0, chunk: int = 1_000_000) -> None:
    """Write ``events`` canonical events (time-ordered) as CSV, vectorised chunk by chunk."""
    rng = np.random.default_rng(seed)
    start_ms = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    t = start_ms
    writer = None
    with open(path, "wb") as fh:
        for first in range(0, events, chunk):
            n = min(chunk, events - first)
            ms = t + np.cumsum(rng.integers(0, 7, size=n))
            t = int(ms[-1])
            is_error = rng.random(n) < 0.02
            error_codes = rng.integers(0, len(ERROR_TYPES), size=n)
            error_type = pa.array(np.where(is_error, np.array(ERROR_TYPES)[error_codes], None))
            trace = np.frombuffer(rng.bytes(16 * n).hex().encode(), dtype="S32")
            table = pa.table({
                "timestamp": pa.array(ms, pa.timestamp("ms", tz="UTC")),
                "service": _dictionary(rng.integers(0, len(SERVICES), n), SERVICES),
                "operation": _dictionary(rng.integers(0, len(OPERATIONS), n), OPERATIONS),
                "host": _dictionary(rng.integers(0, len(HOSTS), n), HOSTS),
                "is_error": pa.array(is_error),
                "error_type": error_type,
                "severity": pa.array(np.where(is_error, 17, 9).astype("int8")),
                "duration_ms": pa.array(np.round(rng.lognormal(3.0, 1.0, n), 3)),
                "trace_id": pa.array(trace).cast(pa.string()),
                "cpu": pa.array(np.round(rng.random(n), 4)),
            })
            if writer is None:
                writer = pacsv.CSVWriter(fh, table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()


def _ingest_child(csv: str, out: str, chunk_rows: int) -> None:
    from errpredict.io import ingest

    t0 = time.perf_counter()
    summary = ingest(csv, out, chunk_rows=chunk_rows)
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": summary.rows, "errors": summary.errors,
                      "entities": summary.entities, "seconds": seconds,
                      "peak_rss_mib": peak_kib / 1024, "time_ordered": summary.time_ordered,
                      "source_format": summary.source_format}))


def _featurize_child(parquet: str, chunk_rows: int) -> None:
    from errpredict.features import ErrorHistoryFeaturizer, transform_chunks
    from errpredict.io import iter_events

    t0 = time.perf_counter()
    first = next(iter(iter_events(parquet, chunk_rows=chunk_rows)))
    fz = ErrorHistoryFeaturizer().fit(first)
    del first
    times, entities, X = transform_chunks(fz, lambda: iter_events(parquet, chunk_rows=chunk_rows))
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rows_out": int(X.shape[0]),
                      "features": int(X.shape[1]), "entities": len(entities),
                      "peak_rss_mib": peak_kib / 1024}))


def _child(*args: str) -> dict | None:
    """Run this script in a fresh process (so its peak RSS is its own); its JSON result."""
    child = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                           env={**os.environ, "OMP_NUM_THREADS": "2"})
    if child.returncode != 0:
        print(child.stderr, file=sys.stderr)
        return None
    return json.loads(child.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000,
                        help="synthetic events to write (default 10,000,000)")
    parser.add_argument("--csv", type=Path, help="ingest this CSV instead of a synthetic one")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the CSV and the Parquet output (default: a new /tmp dir)")
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the files written")
    parser.add_argument("--ingest-child", nargs=2, metavar=("CSV", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--featurize-child", metavar="PARQUET", help=argparse.SUPPRESS)
    parser.add_argument("--no-featurize", action="store_true", help="only ingest")
    args = parser.parse_args(argv)
    if args.ingest_child:
        _ingest_child(*args.ingest_child, args.chunk_rows)
        return 0
    if args.featurize_child:
        _featurize_child(args.featurize_child, args.chunk_rows)
        return 0
    work = args.workdir or Path(tempfile.mkdtemp(prefix="errpredict-bench-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        csv = args.csv
        if csv is None:
            csv = work / "events.csv"
            t0 = time.perf_counter()
            write_synthetic_csv(csv, args.events)
            print(f"wrote {args.events:,} events to {csv} "
                  f"({csv.stat().st_size / 2**20:,.0f} MiB) in {time.perf_counter() - t0:.1f} s")
        out = work / "events.parquet"
        result = _child("--ingest-child", str(csv), str(out), "--chunk-rows", str(args.chunk_rows))
        if result is None:
            return 1
        rate = result["rows"] / result["seconds"]
        print(f"ingested {result['rows']:,} events ({result['errors']:,} errors, "
              f"{result['entities']} entities) in {result['seconds']:.1f} s: "
              f"{rate:,.0f} events/s, peak RSS {result['peak_rss_mib']:,.0f} MiB, "
              f"Parquet {out.stat().st_size / 2**20:,.0f} MiB")
        print(json.dumps({**result, "events_per_s": rate}))
        if not args.no_featurize:
            feat = _child("--featurize-child", str(out), "--chunk-rows", str(args.chunk_rows))
            if feat is None:
                return 1
            print(f"featurized {result['rows']:,} events from Parquet in chunks in "
                  f"{feat['seconds']:.1f} s: {result['rows'] / feat['seconds']:,.0f} events/s "
                  f"-> {feat['rows_out']:,} x {feat['features']} features, peak RSS "
                  f"{feat['peak_rss_mib']:,.0f} MiB")
            print(json.dumps({"featurize": feat}))
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
