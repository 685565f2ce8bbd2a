"""How many seconds MLflow tracking adds to a training run.

Generates a history once (Parquet), then runs the same training in fresh
processes, alternately without and with tracking, the way ``errpredict train``
does it: read the file, train, save the bundle, and (with tracking) warm
MLflow up in a worker process before training and log the run (with
``--register``) after it. The first tracked run creates the SQLite database;
later ones reuse it.

    .venv/bin/python scripts/bench_tracking.py [--days 3] [--services 6] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
data, out, track = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
nice = None if sys.argv[4] == "auto" else int(sys.argv[4])
if track:
    from errpredict.tracking import warm_up
    warm_up(nice=nice)
from errpredict.io import read_events
from errpredict.models import train
events = read_events(data)
model = train(events, source=data)
model.save(out)
t_trained = time.perf_counter()
log_s = None
if track:
    from errpredict.tracking import log_training_run
    info = log_training_run(model, bundle_dir=out, events=events, events_path=data,
                            register="bench-model")
    log_s = time.perf_counter() - t_trained
    timings = info.timings
import resource
cpu = sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF,
          resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))
print(json.dumps({"total_s": time.perf_counter() - t0, "log_s": log_s, "cpu_s": cpu,
                  "train_s": model.metadata["training"]["seconds"],
                  "timings": timings if track else {}}))
"""


def run(python: str, data: Path, out: Path, track: bool, env: dict, nice) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([python, "-c", CHILD, str(data), str(out), "1" if track else "0",
                           str(nice)],
                          capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"child failed:\n{proc.stderr}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["wall_s"] = wall
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=3.0)
    ap.add_argument("--services", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--nice", type=int, default=None,
                    help="CPU niceness of the tracking worker (default: warm_up's choice)")
    args = ap.parse_args()
    from errpredict.datasets import generate_history
    from errpredict.io import write_events

    nice = "auto" if args.nice is None else args.nice

    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        tmp = Path(tmp)
        data = tmp / "history.parquet"
        hist = generate_history(days=args.days, services=args.services, seed=0)
        write_events(hist.events, data)
        env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{tmp / 'mlflow.db'}",
                   MLFLOW_DISABLE_TELEMETRY="true")
        print(f"history: {len(hist.events):,} events, {args.services} services, "
              f"{args.days:g} days; {os.cpu_count()} CPUs; load average "
              f"{os.getloadavg()[0]:.2f}")
        rows = {False: [], True: []}
        for i in range(args.repeat):
            for track in (False, True):
                r = run(sys.executable, data, tmp / f"bundle-{i}-{int(track)}", track, env, nice)
                rows[track].append(r)
                what = "tracking   " if track else "no tracking"
                t = r["timings"]
                extra = (f"  (log_training_run {r['log_s']:.2f} s, of which waiting for the "
                         f"worker to be ready {t.get('worker_wait_s', 0):.2f} s)") if track else ""
                first = "  first run: creates mlflow.db" if track and i == 0 else ""
                print(f"run {i + 1} {what}: {r['wall_s']:6.2f} s wall, {r['cpu_s']:6.2f} s CPU, "
                      f"train() {r['train_s']:.2f} s{extra}{first}")
        plain = statistics.median(r["wall_s"] for r in rows[False])
        later = rows[True][1:] or rows[True]
        tracked = statistics.median(r["wall_s"] for r in later)
        print(f"median wall without tracking: {plain:.2f} s")
        print(f"median wall with tracking (existing database): {tracked:.2f} s")
        print(f"overhead: {tracked - plain:+.2f} s (first run, new database: "
              f"{rows[True][0]['wall_s'] - plain:+.2f} s)")
        cpu_plain = statistics.median(r["cpu_s"] for r in rows[False])
        cpu_tracked = statistics.median(r["cpu_s"] for r in later)
        print(f"CPU time: {cpu_plain:.2f} s without, {cpu_tracked:.2f} s with tracking "
              f"({cpu_tracked - cpu_plain:+.2f} s, worker included)")
        print(f"median log_training_run after train: "
              f"{statistics.median(r['log_s'] for r in later):.2f} s")


if __name__ == "__main__":
    main()
