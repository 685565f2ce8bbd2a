#!/usr/bin/env bash
# The main job end to end on the embedded defaults (local files, SQLite MLflow):
# make .venv, install, generate a history, train, evaluate, predict, report.
set -euo pipefail
source "$(dirname "$0")/_venv.sh"
EP=.venv/bin/errpredict
OUT=${OUT:-demo_out}
mkdir -p "$OUT"

echo "== 1. generate: a week of history to learn from, and a different week to test on"
$EP generate --out "$OUT/train.csv" --days 7 --services 8 --seed 1
$EP generate --out "$OUT/test.csv" --days 3 --services 8 --seed 2

echo "== 2. train (logged to MLflow in ./mlflow.db, registered as errpredict-demo)"
$EP train --data "$OUT/train.csv" --out "$OUT/model" --step 1m --horizon 10m --min-errors 5 \
  --register errpredict-demo

echo "== 3. evaluate on the unseen week, beside the persistence baseline"
$EP evaluate --model "$OUT/model" --data "$OUT/test.csv"

echo "== 4. predict: risk for every service at every minute, and the riskiest right now"
$EP predict --model "$OUT/model" --data "$OUT/test.csv" --out "$OUT/scores.csv"
LAST=$(tail -n 1 "$OUT/scores.csv" | cut -d, -f2 | tr -d '"')
$EP predict --model "$OUT/model" --data "$OUT/test.csv" --at "$LAST"

echo "== 5. report: one static HTML page with the error history, hotspots and risk"
$EP report --data "$OUT/test.csv" --model "$OUT/model" --out "$OUT/report.html"

echo "== 6. recover: what to do about a 503 from payments right now"
$EP recommend --model "$OUT/model" --service payments --error-type "HTTP 503" --http-status 503

echo
echo "done: scores in $OUT/scores.csv, report in $OUT/report.html"
echo "review the runs with: .venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db"
