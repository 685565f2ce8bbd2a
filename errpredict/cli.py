"""The errpredict command line: a thin shell over the library.

User mistakes (a missing file, a bad column, a wrong option) exit with status
2 and one line on stderr; results go to stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from errpredict._cli_app import (
    DataOpt,
    ExperimentOpt,
    FormatOpt,
    JsonOpt,
    ModelOpt,
    NoTrackOpt,
    SkipOpt,
    app,
    entity_of,
    tracking,
    warm_up_tracking,
)
from errpredict._cli_util import (
    emit_json,
    model_unused_columns,
    progress,
    read_cli_events,
    say,
    write_scores,
)
from errpredict.exceptions import ErrpredictError


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv, .parquet or .jsonl.")],
    days: Annotated[float, typer.Option(help="Days of history.")] = 7.0,
    services: Annotated[int, typer.Option(help="Number of services.")] = 8,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    drift_at: Annotated[float | None, typer.Option(
        "--drift-at", help="Day when a new incident mechanism starts and an old one stops.")
    ] = None,
    rate: Annotated[float, typer.Option(help="Requests per service per minute at peak.")] = 14.0,
    incident_rate: Annotated[float, typer.Option(
        "--incident-rate", help="Root incidents per service per day.")] = 3.0,
) -> None:
    """Generate a synthetic error history (and its ground-truth incidents beside it)."""
    from errpredict.datasets import generate_history, write_history

    hist = generate_history(days=days, services=services, seed=seed, drift_at=drift_at,
                            rate=rate, incident_rate=incident_rate)
    events_path, incidents_path = write_history(hist, out)
    say(f"wrote {events_path} and {incidents_path}: {hist.summary()}")


@app.command()
def train(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Bundle directory to write.")],
    entity: Annotated[str | None, typer.Option(help="Entity column (default: service, or the "
                                               "format's own, e.g. host for bgl).")] = None,
    step: Annotated[str, typer.Option(help="Decision grid step.")] = "1m",
    horizon: Annotated[str, typer.Option(help="How far ahead to predict.")] = "10m",
    min_errors: Annotated[int, typer.Option("--min-errors", help="Errors in the horizon that "
                                            "make a positive.")] = 5,
    model: Annotated[str, typer.Option(help="hgb or logreg.")] = "hgb",
    target_precision: Annotated[float | None, typer.Option(
        "--target-precision", help="Choose the threshold for this validation precision.")] = None,
    register: Annotated[str | None, typer.Option(
        "--register", help="Register the model under this name in the MLflow registry.")
    ] = None,
    no_tracking: NoTrackOpt = False,
    experiment: ExperimentOpt = "errpredict",
    fmt: FormatOpt = "auto",
    skip_bad_lines: SkipOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Train a risk model and save it as a bundle directory."""
    if not no_tracking:  # a worker imports MLflow while the model trains
        warm_up_tracking(experiment)
    from errpredict.models import train as train_model

    with progress(not as_json, 7) as step_done:
        step_done("read")
        events = read_cli_events(data, fmt, skip_bad_lines, quiet=as_json,
                                 skip_columns=model_unused_columns(data, fmt, entity))
        m = train_model(events, entity=entity_of(events, entity), step=step, horizon=horizon,
                        min_errors=min_errors, model=model, target_precision=target_precision,
                        source=str(data), progress=step_done)
        m.save(out)
        run = None
        if not no_tracking:
            step_done("track")
            run = tracking().log_training_run(m, bundle_dir=out, experiment=experiment,
                                               register=register, events=events,
                                               events_path=str(data))
    result = {"model": str(out), "model_id": m.version, "entity": m.entity,
              "threshold": m.threshold, "data": m.metadata["data"],
              "training": m.metadata["training"], "validation": m.metadata["validation"]}
    if run is not None:
        result["mlflow"] = run.to_dict() if hasattr(run, "to_dict") else vars(run)
    if as_json:
        emit_json(result)
        return
    _print_metrics(f"trained {m.metadata['model']} on {m.metadata['data']['rows']:,} events; "
                   f"saved to {out}", m.metadata["validation"], "validation (last 20% of time)")


def _print_metrics(title: str, res: dict, caption: str) -> None:
    from rich.console import Console
    from rich.table import Table

    print(title)
    table = Table(caption=caption)
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column("persistence", justify="right")

    def fmt(v):
        return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))

    for k in ("pr_auc", "onset_pr_auc", "roc_auc", "precision", "recall", "f1", "recall_at_p90",
              "lead_time_median_s", "alarms_per_entity_day", "episodes_detected", "episodes"):
        table.add_row(k, fmt(res.get(k)), fmt(res.get("baseline", {}).get(k)))
    Console().print(table)


@app.command()
def evaluate(
    model: ModelOpt,
    data: DataOpt,
    no_tracking: NoTrackOpt = False,
    experiment: ExperimentOpt = "errpredict",
    fmt: FormatOpt = "auto",
    skip_bad_lines: SkipOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a model on a history, beside the persistence baseline."""
    if not no_tracking:
        warm_up_tracking(experiment)
    from errpredict.models import load_model

    m = load_model(model)
    events = read_cli_events(data, fmt, skip_bad_lines, quiet=as_json,
                             skip_columns=model_unused_columns(data, fmt, m.entity))
    res = m.evaluate(events)
    res = {**res, "model_id": m.version}
    if not no_tracking:
        run = tracking().log_evaluation_run(m, res, events_path=str(data),
                                             experiment=experiment)
        res["mlflow_run_id"] = getattr(run, "run_id", None)
    if as_json:
        emit_json(res)
        return
    _print_metrics(f"model {m.version} on {data}", res, f"threshold {m.threshold:.3f}")


@app.command()
def predict(
    model: ModelOpt,
    data: DataOpt,
    out: Annotated[Path | None, typer.Option("--out", help="CSV entity,timestamp,risk for "
                                             "every entity at every grid step.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Print the risk per entity at this "
                                           "time (ISO-8601) instead.")] = None,
    fmt: FormatOpt = "auto",
    skip_bad_lines: SkipOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Score every entity at every grid step (or at one time)."""
    import pandas as pd

    from errpredict.exceptions import ConfigError
    from errpredict.models import load_model

    if out is None and at is None:
        raise ConfigError("predict needs --out SCORES.csv or --at TIME")
    m = load_model(model)
    events = read_cli_events(data, fmt, skip_bad_lines, quiet=as_json,
                             skip_columns=model_unused_columns(data, fmt, m.entity))
    if at is not None:
        try:
            when = pd.Timestamp(at)
        except ValueError:
            raise ConfigError(f"--at {at!r}: cannot parse; expected ISO-8601 like "
                              "2026-01-05T12:00:00Z") from None
        scores = m.predict_risk(events, at=when)
        scores["alarm"] = scores["risk"] >= m.threshold
        if as_json:
            emit_json({"timestamp": scores["timestamp"].iloc[0] if len(scores) else None,
                       "threshold": m.threshold,
                       "risk": {r.entity: r.risk for r in scores.itertuples()}})
        else:
            for r in scores.sort_values("risk", ascending=False).itertuples():
                flag = "  ALARM" if r.alarm else ""
                print(f"{r.entity}\t{r.timestamp.isoformat()}\t{r.risk:.4f}{flag}")
        if out is None:
            return
    scores = m.predict_risk(events)
    write_scores(scores, str(out))
    n_alarm = int((scores["risk"] >= m.threshold).sum())
    summary = {"out": str(out), "rows": len(scores), "entities": int(scores["entity"].nunique()),
               "alarms": n_alarm, "threshold": m.threshold, "model_id": m.version}
    if as_json:
        emit_json(summary)
    else:
        say(f"wrote {len(scores):,} scores ({summary['entities']} entities, {n_alarm:,} at or "
            f"above the threshold {m.threshold:.3f}) to {out}")


@app.command()
def ingest(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    fmt: FormatOpt = "auto",
    skip_bad_lines: SkipOpt = False,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", help="Rows per chunk (bounds "
                                            "memory).")] = 1_000_000,
    entity: Annotated[str | None, typer.Option(help="Entity column for the summary.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Convert an error history to canonical Parquet, in chunks, and summarise it."""
    from errpredict.io import ingest as ingest_file

    summary = ingest_file(data, out, format=fmt, skip_bad_lines=skip_bad_lines,
                          chunk_rows=chunk_rows, entity=entity)
    if as_json:
        emit_json(summary.to_dict())
    else:
        print(summary.to_text())


@app.command()
def report(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    model: Annotated[str | None, typer.Option(
        "--model", help="Add this model's risk over time, its alarms and the incidents.")
    ] = None,
    incidents: Annotated[Path | None, typer.Option(
        "--incidents", help="Ground-truth incidents CSV (default: <data>.incidents.csv "
        "when it exists).")] = None,
    entity: Annotated[str | None, typer.Option(help="Entity column of the plots.")] = None,
    title: Annotated[str, typer.Option(help="Page title.")] = "errpredict report",
    fmt: FormatOpt = "auto",
    skip_bad_lines: SkipOpt = False,
) -> None:
    """Write one self-contained HTML page: error rates, hotspots, trends, and risk."""
    from errpredict.analysis import write_report
    from errpredict.datasets import read_incidents
    from errpredict.datasets._gen_io import incidents_path

    events = read_cli_events(data, fmt, skip_bad_lines)
    options: dict = {"entity": entity_of(events, entity), "title": title}
    if model is not None:
        from errpredict.models import load_model

        m = load_model(model)
        options.update(entity=m.entity, risk=m.predict_risk(events), threshold=m.threshold,
                       horizon=m.target.horizon, min_errors=m.target.min_errors)
    guess = incidents_path(data)
    if incidents is None and guess.exists():
        incidents = guess
    if incidents is not None:
        options["incidents"] = read_incidents(incidents)
    path = write_report(events, out, **options)
    say(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, self-contained: open it in a "
        "browser)")


# the commands of these modules register themselves on ``app``
import errpredict._cli_loop  # noqa: E402, F401
import errpredict._cli_recovery  # noqa: E402, F401


def main() -> None:
    """Entry point: run the app, turning errpredict's errors into exit status 2."""
    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exc.code
    except ErrpredictError as exc:
        msg = " ".join(str(exc).split())
        print(f"errpredict: error: {msg}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("errpredict: interrupted", file=sys.stderr)
        code = 130
    _exit(code)


def _exit(code) -> None:
    """Leave without tearing the interpreter down, which takes about half a second once
    pandas, scikit-learn and a model are loaded: output is flushed and the exit handlers
    run (temporary directories, the tracking worker) as on a normal exit. Falls back to
    a normal exit when a non-daemon thread still runs or the code is not a number."""
    import atexit
    import os
    import threading

    if code is None:
        code = 0
    if not isinstance(code, int) or any(
            t.is_alive() and not t.daemon and t is not threading.main_thread()
            for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
