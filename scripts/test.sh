#!/usr/bin/env bash
# Make .venv (if needed), install errpredict with its dev extra, run the whole test suite.
set -euo pipefail
EXTRAS="[dev]" source "$(dirname "$0")/_venv.sh"
export PYTHONHASHSEED=0
# pytest exits 5 when it collected no test: that is a failure here too
.venv/bin/python -m pytest -q "$@"
