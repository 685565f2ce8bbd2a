"""Commands of the learning loop and the registry: replay, models list/show/promote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from errpredict._cli_app import (
    DataOpt,
    FormatOpt,
    JsonOpt,
    ModelOpt,
    SkipOpt,
    app,
    tracking,
)
from errpredict._cli_util import (
    emit_json,
    json_line,
    read_cli_events,
    say,
    to_jsonable,
    write_scores,
)


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
    rows = tracking().list_models()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        print(f"no registered models in {tracking().tracking_uri()}")
    for r in rows:
        print(json_line(r))


@models_app.command("show")
def models_show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@ALIAS or NAME/VERSION.")],
    as_json: JsonOpt = False,
) -> None:
    """One model version: aliases, run, metrics, source and the bundle's metadata."""
    info = tracking().show_model(ref)
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
    res = tracking().promote(name, version, alias) or {}
    before = res.get("previous")
    say(f"{name}@{alias} -> version {version}"
        + (f" (was version {before})" if before not in (None, str(version)) else ""))
