#!/usr/bin/env bash
# Make .venv (if needed), install errpredict with its dev extra, run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[dev]"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
export PYTHONHASHSEED=0
# pytest exits 5 when it collected no test: that is a failure here too
.venv/bin/python -m pytest -q "$@"
