# Sourced by demo.sh and test.sh: make .venv if needed and install errpredict into it,
# with the extras named in $EXTRAS (e.g. "[dev]").
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".${EXTRAS:-}"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
