#!/usr/bin/env bash
# Benchmark trackline against MLflow: same workloads, one invocation, one table.
#
#   benchmarks/run.sh                      # everything, full sizes (several minutes)
#   benchmarks/run.sh --scale 0.1          # a quick look at a tenth of the sizes
#   benchmarks/run.sh --workloads import,search_runs --markdown --json /tmp/bench.json
#
# Not run in CI. Sets up what is missing:
#   - benchmarks/.venv-mlflow: a venv with mlflow==3.17.2 (git-ignored);
#   - .venv: the repository's venv; if it does not exist, a new one with editable installs of
#     the core, plugins/sql and plugins/fsspec, and pandas (for the DataFrame workload).
# Every other argument goes to benchmarks/compare.py (see --help there).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
python="${PYTHON:-python3}"
mlflow_version="3.17.2"
mlflow_venv="$here/.venv-mlflow"
trackline_venv="${TRACKLINE_VENV:-$repo/.venv}"

if ! "$mlflow_venv/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '$mlflow_version')" 2>/dev/null; then
    echo "Setting up $mlflow_venv with mlflow==$mlflow_version ..." >&2
    "$python" -m venv "$mlflow_venv"
    "$mlflow_venv/bin/pip" install --quiet --upgrade pip
    "$mlflow_venv/bin/pip" install --quiet "mlflow==$mlflow_version"
fi

if [ ! -x "$trackline_venv/bin/python" ]; then
    echo "Setting up $trackline_venv with trackline, trackline-sql and trackline-fsspec ..." >&2
    "$python" -m venv "$trackline_venv"
    "$trackline_venv/bin/pip" install --quiet --upgrade pip
fi
# An existing venv may predate the plugins: install whatever of them is missing, editable.
missing=()
"$trackline_venv/bin/python" -c "import trackline" 2>/dev/null || missing+=(-e "$repo")
"$trackline_venv/bin/python" -c "import trackline_sql" 2>/dev/null || missing+=(-e "$repo/plugins/sql")
"$trackline_venv/bin/python" -c "import trackline_fsspec" 2>/dev/null || missing+=(-e "$repo/plugins/fsspec")
"$trackline_venv/bin/python" -c "import pandas" 2>/dev/null || missing+=(pandas)
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing into $trackline_venv: ${missing[*]}" >&2
    "$trackline_venv/bin/pip" install --quiet "${missing[@]}"
fi

exec "$trackline_venv/bin/python" "$here/compare.py" \
    --trackline-python "$trackline_venv/bin/python" \
    --mlflow-python "$mlflow_venv/bin/python" \
    "$@"
