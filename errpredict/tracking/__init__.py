"""MLflow tracking and the model registry for errpredict models.

:func:`log_training_run` records a trained model as an MLflow run: settings,
every validation figure beside the persistence baseline's, a dataset record,
tags, plots, a model card, and the model itself as a pyfunc model that wraps
the bundle (servable with ``mlflow models serve``), optionally registered as
a new version. :func:`log_evaluation_run` records an evaluation.
:func:`list_models`, :func:`show_model` and :func:`promote` read the registry
and move aliases (``champion``, ``challenger``); :func:`load_registered_model`
turns ``models:/NAME@ALIAS``, ``models:/NAME/VERSION`` or ``runs:/ID/model``
back into a :class:`~errpredict.models.RiskModel`. Runs go to
``MLFLOW_TRACKING_URI``, else to ``mlflow.db`` in the working directory
(:func:`tracking_uri`); MLflow is imported only when used, with telemetry off.
:func:`warm_up`, called before training, starts a worker process that imports
MLflow while the model trains and then writes the run, so that tracking adds
little to a training command.
"""

from __future__ import annotations

from errpredict._lazy import lazy_attributes

# loaded on first use: the tracking worker imports this package without the models
_LAZY = {"git_commit": "_env", "tracking_uri": "_env", "list_models": "_registry",
         "load_registered_model": "_registry", "parse_model_ref": "_registry",
         "promote": "_registry", "show_model": "_registry", "RunInfo": "_runs",
         "log_evaluation_run": "_runs", "log_training_run": "_runs", "warm_up": "_worker"}

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "RunInfo",
    "git_commit",
    "list_models",
    "load_registered_model",
    "log_evaluation_run",
    "log_training_run",
    "parse_model_ref",
    "promote",
    "show_model",
    "tracking_uri",
    "warm_up",
]
