"""The errpredict command line: a thin shell over the library.

User mistakes (a missing file, a bad column, a wrong option) exit with status
2 and one line on stderr; results go to stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from errpredict._cli_util import (
    emit_json,
    json_line,
    progress,
    read_cli_events,
    say,
    to_jsonable,
    write_scores,
)
from errpredict.exceptions import ErrpredictError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Predict software errors before they happen, from error histories.")

FORMATS = "auto|csv|parquet|jsonl|otlp-json|otlp-proto|bgl|backblaze"
DataOpt = Annotated[str, typer.Option("--data", help="Events file (CSV, Parquet, JSONL, OTLP...).")]
FormatOpt = Annotated[str, typer.Option("--format", help=f"Input format: {FORMATS}.")]
SkipOpt = Annotated[bool, typer.Option("--skip-bad-lines",
                                       help="Skip malformed lines and report how many.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object, nothing else.")]
ModelOpt = Annotated[str, typer.Option("--model", help="Bundle directory or models:/NAME@ALIAS.")]
NoTrackOpt = Annotated[bool, typer.Option("--no-tracking", help="Do not log an MLflow run.")]
ExperimentOpt = Annotated[str, typer.Option("--experiment", help="MLflow experiment name.")]


def _entity(events, entity: str | None) -> str:
    return entity or events.attrs.get("default_entity") or "service"


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
    from errpredict.models import train as train_model

    if not no_tracking:  # a worker imports MLflow while the model trains
        _tracking().warm_up(experiment)
    with progress(not as_json, 7) as step_done:
        step_done("read")
        events = read_cli_events(data, fmt, skip_bad_lines, quiet=as_json)
        m = train_model(events, entity=_entity(events, entity), step=step, horizon=horizon,
                        min_errors=min_errors, model=model, target_precision=target_precision,
                        source=str(data), progress=step_done)
        m.save(out)
        run = None
        if not no_tracking:
            step_done("track")
            run = _tracking().log_training_run(m, bundle_dir=out, experiment=experiment,
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


def _tracking():
    from errpredict import tracking

    return tracking


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
    from errpredict.models import load_model

    if not no_tracking:
        _tracking().warm_up(experiment)
    m = load_model(model)
    events = read_cli_events(data, fmt, skip_bad_lines, quiet=as_json)
    res = m.evaluate(events)
    res = {**res, "model_id": m.version}
    if not no_tracking:
        run = _tracking().log_evaluation_run(m, res, events_path=str(data),
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
    events = read_cli_events(data, fmt, skip_bad_lines, quiet=as_json)
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
    options: dict = {"entity": _entity(events, entity), "title": title}
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


def _dependency_risk(items: list[str]) -> dict[str, float]:
    from errpredict.exceptions import ConfigError

    out = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--dependency-risk {item!r}: expected SERVICE=RISK, e.g. "
                              "payments=0.8") from None
    return out


@app.command()
def recommend(
    model: ModelOpt,
    service: Annotated[str, typer.Option(help="The service whose call failed.")],
    error_type: Annotated[str, typer.Option("--error-type", help="Error type, e.g. 'HTTP 503', "
                                            "TimeoutError, UNAVAILABLE.")],
    http_status: Annotated[int | None, typer.Option("--http-status")] = None,
    grpc_code: Annotated[str | None, typer.Option("--grpc-code")] = None,
    message: Annotated[str | None, typer.Option("--message")] = None,
    retry_after: Annotated[float | None, typer.Option(
        "--retry-after", help="Seconds a Retry-After header asked for (it wins).")] = None,
    risk: Annotated[float | None, typer.Option(help="Predicted risk of the service.")] = None,
    dependency_risk: Annotated[list[str] | None, typer.Option(
        "--dependency-risk", help="SERVICE=RISK of a dependency (repeatable).")] = None,
    has_fallback: Annotated[bool, typer.Option("--has-fallback",
                                               help="The caller can fail over.")] = False,
    time_budget: Annotated[float | None, typer.Option(
        "--time-budget", help="Seconds the caller can spend on retries.")] = None,
    recent_errors: Annotated[int | None, typer.Option(
        "--recent-errors", help="Errors of this kind in the last 5 minutes.")] = None,
    data: Annotated[str | None, typer.Option(
        "--data", help="Recent events: the context (recent errors, predicted risk of the "
        "service and its dependencies) is taken from them.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Decision time within --data.")] = None,
    feedback: Annotated[Path | None, typer.Option(
        "--feedback", help="Feedback store (SQLite): the policy resumes from the outcomes "
        "stored there and this recommendation is recorded.")] = None,
    fmt: FormatOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Recommend what to do about a failed call: retry, back off, open the circuit..."""
    from errpredict.models import load_model

    m = load_model(model)
    store = None
    if feedback is not None:
        from errpredict.feedback import FeedbackProcessor

        store = FeedbackProcessor(feedback)
    rec = m.recommender(feedback=store)
    context: dict = {}
    if data is not None:
        from errpredict.recovery import context_from_events

        events = read_cli_events(data, fmt, quiet=as_json)
        context = context_from_events(events, service, at=at, risk=m.predict_risk(events, at=at)
                                      if at else m.predict_risk(events))
    explicit = {"risk": risk, "has_fallback": has_fallback or None,
                "time_budget_s": time_budget, "retry_after_s": retry_after,
                "recent_errors": recent_errors}
    context.update({k: v for k, v in explicit.items() if v is not None})
    if dependency_risk:
        context["dependency_risk"] = {**context.get("dependency_risk", {}),
                                      **_dependency_risk(dependency_risk)}
    error = {"service": service, "error_type": error_type, "http_status": http_status,
             "grpc_code": grpc_code, "message": message}
    r = rec.recommend({k: v for k, v in error.items() if v is not None}, context)
    if store is not None:
        store.close()
    if as_json:
        emit_json(r.to_dict())
        return
    params = ", ".join(f"{k}={v}" for k, v in r.params.items() if k != "schedule_s")
    print(f"{r.action}  ({params})")
    print(r.reason)
    print(f"confidence {r.confidence:.2f}; id {r.recommendation_id}")


@app.command("evaluate-recovery")
def evaluate_recovery_cmd(
    data: DataOpt,
    incidents: Annotated[Path | None, typer.Option(
        "--incidents", help="Ground-truth incidents (default: <data>.incidents.csv).")] = None,
    warmup: Annotated[str, typer.Option(help="Warm-up before scoring: a share (0.15) or a "
                                        "duration (1D).")] = "0.15",
    seed: Annotated[int, typer.Option()] = 0,
    time_budget: Annotated[float, typer.Option("--time-budget")] = 10.0,
    fallback: Annotated[bool, typer.Option("--fallback", help="Callers have a fallback.")
                        ] = False,
    fmt: FormatOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Replay a generated history's failed calls with the learned and the fixed policies."""
    from errpredict.datasets import read_incidents
    from errpredict.datasets._gen_io import incidents_path
    from errpredict.recovery import evaluate_recovery

    events = read_cli_events(data, fmt, quiet=as_json)
    inc = read_incidents(incidents if incidents is not None else incidents_path(data))
    try:
        wu: float | str = float(warmup)
    except ValueError:
        wu = warmup
    res = evaluate_recovery(events, inc, warmup=wu, seed=seed, time_budget_s=time_budget,
                            fallback=fallback)
    if as_json:
        emit_json(res)
        return
    print(f"{'policy':16s} {'MTTR s':>9s} {'wasted calls':>13s} {'failed requests':>16s}")
    for name, r in res.items():
        if isinstance(r, dict) and "mean_time_to_recovery_s" in r:
            print(f"{name:16s} {r['mean_time_to_recovery_s']:9.1f} {r['wasted_calls']:13,d} "
                  f"{r['failed_requests']:16,d}")


@app.command()
def replay(
    model: ModelOpt,
    data: DataOpt,
    out: Annotated[Path | None, typer.Option(
        "--out", help="CSV entity,timestamp,risk: the loop's risk at every step.")] = None,
    feedback: Annotated[Path | None, typer.Option(
        "--feedback", help="Durable feedback store (SQLite): a killed replay restarted on "
        "the same data loses nothing acknowledged.")] = None,
    drift_at: Annotated[str | None, typer.Option(
        "--drift-at", help="Known drift time: figures 'after drift' are measured from it "
        "(else from the first detected drift).")] = None,
    no_online: Annotated[bool, typer.Option("--no-online", help="No online learner.")] = False,
    no_updater: Annotated[bool, typer.Option("--no-updater", help="Never retrain.")] = False,
    tracking: Annotated[bool, typer.Option(
        "--tracking", help="Promote challengers through the MLflow registry.")] = False,
    bundle_root: Annotated[Path | None, typer.Option(
        "--bundle-root", help="Where promoted bundles go (champion/ and versions/).")] = None,
    fmt: FormatOpt = "auto",
    skip_bad_lines: SkipOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Stream a history through the learning loop: features, batch and online predictions,
    delayed labels, feedback, drift, retraining and hot swaps."""
    import sys as _sys

    import pandas as pd

    from errpredict.models import load_model
    from errpredict.online import replay as run_replay

    m = load_model(model)
    events = read_cli_events(data, fmt, skip_bad_lines, quiet=as_json)
    when = None
    if drift_at is not None:
        try:
            when = pd.Timestamp(drift_at)
        except ValueError:
            from errpredict.exceptions import ConfigError

            raise ConfigError(f"--drift-at {drift_at!r}: cannot parse; expected ISO-8601 "
                              "like 2026-01-09T00:00:00Z") from None
    bar = None
    if not as_json and _sys.stdout.isatty():
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                       transient=True)
        bar.start()
        task = bar.add_task("replay", total=len(events))

    def step(p) -> None:
        if bar is not None:
            bar.update(task, completed=p.events_done,
                       description=f"{p.now:%Y-%m-%d %H:%M} drift {p.drift_events} "
                                   f"swaps {p.swaps}" if p.now is not None else "replay")

    try:
        res = run_replay(m, events, online=not no_online, updater=not no_updater,
                         tracking=tracking, feedback_path=feedback, bundle_root=bundle_root,
                         drift_at=when, progress=step)
    finally:
        if bar is not None:
            bar.stop()
    if out is not None:
        write_scores(res.scores, str(out))
    if as_json:
        print(res.to_json(indent=2))
        return
    d = res.daily
    if len(d):
        print(d.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for e in res.drift_events:
        ev = e.to_dict()
        print(f"drift  {ev.get('time')}  {ev.get('detector', '')} {ev.get('stream', '')}")
    for w in res.swaps:
        sw = w.to_dict()
        print(f"swap   {sw.get('time')}  {sw.get('from_version')} -> {sw.get('to_version')}")
    sm = res.summary
    print(f"loop PR-AUC after drift {sm.get('pr_auc_after_drift')}, frozen model "
          f"{sm.get('frozen_pr_auc_after_drift')}")
    if out is not None:
        say(f"wrote the loop's scores to {out}")


models_app = typer.Typer(no_args_is_help=True, help="The model registry (MLflow): list, show, "
                         "promote.")
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(as_json: JsonOpt = False) -> None:
    """Registered models, their latest versions and aliases."""
    rows = _tracking().list_models()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        print(f"no registered models in {_tracking().tracking_uri()}")
    for r in rows:
        print(json_line(r))


@models_app.command("show")
def models_show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@ALIAS or NAME/VERSION.")],
    as_json: JsonOpt = False,
) -> None:
    """One model version: aliases, run, metrics, source and the bundle's metadata."""
    info = _tracking().show_model(ref)
    if as_json:
        emit_json(info)
        return
    import json

    print(json.dumps(to_jsonable(info), indent=2))


@models_app.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str, typer.Argument(help="Version to promote.")],
    alias: Annotated[str, typer.Option("--alias", help="champion, challenger, ...")
                     ] = "champion",
) -> None:
    """Point an alias (champion, challenger) at a version."""
    res = _tracking().promote(name, version, alias) or {}
    before = res.get("previous")
    say(f"{name}@{alias} -> version {version}"
        + (f" (was version {before})" if before not in (None, str(version)) else ""))


def main() -> None:
    """Entry point: run the app, turning errpredict's errors into exit status 2."""
    try:
        app()
    except ErrpredictError as exc:
        msg = " ".join(str(exc).split())
        print(f"errpredict: error: {msg}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("errpredict: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
