"""Commands of recovery advice: recommend, evaluate-recovery."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from errpredict._cli_app import (
    DataOpt,
    FormatOpt,
    JsonOpt,
    ModelOpt,
    app,
)
from errpredict._cli_util import (
    emit_json,
    read_cli_events,
)


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
