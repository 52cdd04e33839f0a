#!/usr/bin/env bash
# Install trackline and every plugin of this repository into .venv, then lint and run all tests.
# PostgreSQL (127.0.0.1:5432, database test) and MariaDB (127.0.0.1:3306, database test) must be
# running: the SQL store is tested against both for real. The first run also installs MLflow
# 3.17.2 into benchmarks/.venv-mlflow (a few minutes) to test against a real MLflow server.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
packages=(-e ".[test]")
for plugin in plugins/*/ contrib/example-plugin/; do
    packages+=(-e "${plugin%/}[test]")
done
.venv/bin/python -m pip install -q "${packages[@]}"

# A real MLflow server (mlflow==3.17.2, in its own venv) for the interoperability tests of
# trackline-rest; the benchmarks use the same venv. Created once, reused afterwards.
if ! benchmarks/.venv-mlflow/bin/python -c "import mlflow.server" >/dev/null 2>&1; then
    python3 -m venv benchmarks/.venv-mlflow
    benchmarks/.venv-mlflow/bin/python -m pip install -q mlflow==3.17.2
fi
# The model compatibility tests (tests/models and the flavor plugins) load models in it with
# the same library versions as .venv (torch 2.13.0 is the CPU build on this machine's disk).
if ! benchmarks/.venv-mlflow/bin/python -c "import sklearn, skops, xgboost, lightgbm, statsmodels, torch" >/dev/null 2>&1; then
    benchmarks/.venv-mlflow/bin/python -m pip install -q scikit-learn skops xgboost==3.2.0 \
        lightgbm==4.7.0 statsmodels==0.15.0 torch==2.13.0
fi

# Azurite (npm), the Azure Blob server trackline-fsspec's tests start on loopback; installed
# once into a git-ignored folder. Once there, its tests must run, not skip.
if [ ! -x plugins/fsspec/.azurite/node_modules/.bin/azurite-blob ]; then
    npm install --silent --no-audit --no-fund --prefix plugins/fsspec/.azurite azurite@3.35.0
fi
export TRACKLINE_REQUIRE_STORAGE_SERVERS=1

# The web UI tests drive Debian's Chromium (Playwright must not download browsers).
command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

.venv/bin/ruff check .
.venv/bin/ruff format --check .
TRACKLINE_PLUGINS_STRICT=1 TRACKLINE_REQUIRE_MLFLOW_SERVER=1 .venv/bin/pytest -n 2 "$@"
