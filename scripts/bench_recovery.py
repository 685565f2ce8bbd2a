"""Replay generated histories with the learned recovery policy and today's fixed policies.

Prints a Markdown table per history (and the same figures as JSON with --json):
mean time to recovery, wasted calls (retries that failed), failed requests and
recovered calls after the warm-up, for ``learned``, ``rules`` (the learned
policy's starting point, never updated), ``fixed_backoff``, ``never_retry``
and ``always_circuit``, without and with a fallback for the callers.

    .venv/bin/python scripts/bench_recovery.py --days 7 --services 8 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import time

from errpredict.datasets._generator import generate_history
from errpredict.recovery import evaluate_recovery

KEYS = ("mean_time_to_recovery_s", "wasted_calls", "failed_requests", "recovered", "n")


def run(days: float, services: int, seed: int, warmup: float | str, fallback: bool) -> dict:
    h = generate_history(days=days, services=services, seed=seed)
    t0 = time.perf_counter()
    result = evaluate_recovery(h.events, h.incidents, warmup=warmup, seed=seed, fallback=fallback)
    seconds = time.perf_counter() - t0
    rules = evaluate_recovery(h.events, h.incidents, warmup=warmup, seed=seed, fallback=fallback,
                              learn=False)["learned"]
    table = {"learned": result["learned"], "rules": rules}
    table.update({k: v for k, v in result.items() if k != "learned"})
    return {"seed": seed, "fallback": fallback, "seconds": round(seconds, 2),
            "policies": {k: {key: v[key] for key in KEYS} for k, v in table.items()},
            "by_situation": {k: table[k]["by_situation"] for k in ("learned", "fixed_backoff")}}


def markdown(run_: dict) -> str:
    lines = [f"seed {run_['seed']}, fallback {'yes' if run_['fallback'] else 'no'} "
             f"(replay {run_['seconds']} s)", "",
             "| policy | mean time to recovery (s) | wasted calls | failed requests | recovered |",
             "|---|---:|---:|---:|---:|"]
    for name, v in run_["policies"].items():
        lines.append(f"| {name} | {v['mean_time_to_recovery_s']:.1f} | {v['wasted_calls']:,} | "
                     f"{v['failed_requests']:,} | {v['recovered']:,} of {v['n']:,} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--services", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--warmup", default="0.15", help="a share of the history or a duration")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    try:
        warmup: float | str = float(args.warmup)
    except ValueError:
        warmup = args.warmup
    runs = [run(args.days, args.services, seed, warmup, fallback)
            for seed in args.seeds for fallback in (False, True)]
    if args.json:
        print(json.dumps(runs, indent=1))
    else:
        print("\n\n".join(markdown(r) for r in runs))


if __name__ == "__main__":
    main()
