"""`errpredict train` against a plain window-count reference, whole process against whole
process, side by side.

The reference is what one writes first: pandas reads the CSV, counts events and errors
per service and minute, sums them over 1, 5, 15 and 60 minutes, and fits scikit-learn's
HistGradientBoostingClassifier with its defaults on the label ">= 5 errors in the next
10 minutes". Each round runs the reference, then `errpredict train` with tracking (an
existing mlflow.db), without tracking, and with a new mlflow.db; medians and ratios are
printed at the end.

    .venv/bin/python scripts/bench_train.py                  # 30 days, 8 services
    .venv/bin/python scripts/bench_train.py --data h30.csv --rounds 8
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN = r'''
import sys
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

df = pd.read_csv(sys.argv[1])
df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")
df["minute"] = df["timestamp"].dt.ceil("1min")
g = df.groupby(["service", "minute"]).agg(events=("is_error", "size"),
                                          errors=("is_error", "sum"))
grid = pd.MultiIndex.from_product(
    [df["service"].unique(),
     pd.date_range(df["minute"].min(), df["minute"].max(), freq="1min")],
    names=["service", "minute"])
g = g.reindex(grid, fill_value=0)
feats = {}
for w in (1, 5, 15, 60):
    r = g.groupby(level=0).rolling(w, min_periods=1).sum().droplevel(0)
    feats[f"events_{w}"] = r["events"]
    feats[f"errors_{w}"] = r["errors"]
X = pd.DataFrame(feats)
ahead = g["errors"].groupby(level=0).transform(
    lambda s: s[::-1].rolling(10, min_periods=1).sum()[::-1].shift(-1))
keep = ahead.notna().to_numpy()
HistGradientBoostingClassifier().fit(X[keep], (ahead[keep] >= 5).astype(int))
'''


def _run(cmd: list[str], cwd: Path) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - t
    if r.returncode:
        sys.exit(f"{cmd[:3]} failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="events CSV (default: generate 30 days)")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    bin_dir = Path(sys.executable).parent
    errpredict = str(bin_dir / "errpredict")
    work = Path(tempfile.mkdtemp(prefix="errpredict-bench-train-"))
    try:
        data = args.data.resolve() if args.data else work / "history.csv"
        if not args.data:
            print(f"generating {args.days} days ...", flush=True)
            _run([errpredict, "generate", "--out", str(data), "--days", str(args.days),
                  "--seed", str(args.seed)], work)
        plain_py = work / "plain.py"
        plain_py.write_text(PLAIN)
        train = [errpredict, "train", "--data", str(data), "--out", "model", "--json"]
        runs = {"plain": [sys.executable, str(plain_py), str(data)],
                "tracking": train,
                "no tracking": [*train, "--no-tracking"],
                "tracking, new db": train}
        times: dict[str, list[float]] = {k: [] for k in runs}
        _run(train, work)  # creates mlflow.db, warms the page cache
        for i in range(args.rounds):
            for name, cmd in runs.items():
                shutil.rmtree(work / "model", ignore_errors=True)
                if name == "tracking, new db":
                    shutil.rmtree(work / "mlruns", ignore_errors=True)
                    (work / "mlflow.db").unlink(missing_ok=True)
                times[name].append(_run(cmd, work))
            print(f"round {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s"
                                                 for k, v in times.items()), flush=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"median of {args.rounds} rounds: " + ", ".join(
            f"{k} {v:.2f} s" + ("" if k == "plain" else f" ({v / med['plain']:.2f}x)")
            for k, v in med.items()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
