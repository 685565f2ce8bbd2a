"""The command-line application object and the options its commands share."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["app", "DataOpt", "FormatOpt", "SkipOpt", "JsonOpt", "ModelOpt", "NoTrackOpt",
           "ExperimentOpt", "FORMATS", "tracking", "entity_of"]

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



def tracking():
    """errpredict.tracking, imported when a command needs it (MLflow is heavy)."""
    from errpredict import tracking as module

    return module


def warm_up_tracking(experiment: str) -> None:
    """Start the tracking worker first thing in a command: forked while the process is
    still small, it costs training no copy-on-write faults on what the command loads."""
    from errpredict.tracking._worker import warm_up

    warm_up(experiment)


def entity_of(events, entity: str | None) -> str:
    """The entity column: the one asked for, else the format's own, else ``service``."""
    return entity or events.attrs.get("default_entity") or "service"
