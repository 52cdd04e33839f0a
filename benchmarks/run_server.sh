#!/usr/bin/env bash
# Benchmark the trackline tracking server against `mlflow server`: same databases, one run.
#
#   benchmarks/run_server.sh                          # SQLite and PostgreSQL, about 10 minutes
#   benchmarks/run_server.sh --backends sqlite --duration 5
#   benchmarks/run_server.sh --workers default,1 --markdown --json /tmp/server-bench.json
#
# Not run in CI. Needs benchmarks/.venv-mlflow (benchmarks/run.sh creates it) and, for the
# PostgreSQL backend, a server at postgresql://postgres@127.0.0.1:5432 with trust auth (see
# --pg-uri). Installs what is missing: psycopg (3) and psycopg2-binary in the MLflow venv
# (SQLAlchemy 2.1 maps postgresql:// to psycopg 3, older versions to psycopg2); plugins/server,
# plugins/sql and psutil in the trackline venv. Every argument goes to server_compare.py.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
mlflow_venv="$here/.venv-mlflow"
trackline_venv="${TRACKLINE_VENV:-$repo/.venv}"

if [ ! -x "$mlflow_venv/bin/mlflow" ]; then
    echo "No $mlflow_venv: run benchmarks/run.sh once to create it." >&2
    exit 2
fi
"$mlflow_venv/bin/python" -c "import psycopg, psycopg2" 2>/dev/null \
    || "$mlflow_venv/bin/pip" install --quiet "psycopg[binary]" psycopg2-binary

missing=()
"$trackline_venv/bin/python" -c "import trackline_server" 2>/dev/null || missing+=(-e "$repo/plugins/server")
"$trackline_venv/bin/python" -c "import trackline_sql" 2>/dev/null || missing+=(-e "$repo/plugins/sql")
"$trackline_venv/bin/python" -c "import psutil" 2>/dev/null || missing+=(psutil)
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing into $trackline_venv: ${missing[*]}" >&2
    "$trackline_venv/bin/pip" install --quiet "${missing[@]}"
fi

exec "$trackline_venv/bin/python" "$here/server_compare.py" \
    --trackline-venv "$trackline_venv" --mlflow-venv "$mlflow_venv" "$@"
