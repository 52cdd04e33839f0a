#!/usr/bin/env bash
# Asynchronous logging benchmark against MLflow (issue 10); on demand, not in CI.
#
#   benchmarks/run_async_logging.sh                     # 100,000 async calls per case
#   benchmarks/run_async_logging.sh --async-count 20000 --targets sqlite
#
# Needs .venv (trackline with trackline-sql, trackline-rest, trackline-server) and
# benchmarks/.venv-mlflow (mlflow==3.17.2; benchmarks/run.sh creates it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
if [ ! -x "$here/.venv-mlflow/bin/mlflow" ]; then
    echo "benchmarks/.venv-mlflow is missing: run benchmarks/run.sh once to create it" >&2
    exit 2
fi
exec "$repo/.venv/bin/python" "$here/async_logging.py" "$@"
