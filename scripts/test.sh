#!/usr/bin/env bash
# Install trackline and every plugin of this repository into .venv, then lint and run all tests.
# PostgreSQL (127.0.0.1:5432, database test) and MariaDB (127.0.0.1:3306, database test) must be
# running: the SQL store is tested against both for real.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
packages=(-e ".[test]")
for plugin in plugins/*/ contrib/example-plugin/; do
    packages+=(-e "${plugin%/}[test]")
done
.venv/bin/python -m pip install -q "${packages[@]}"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
TRACKLINE_PLUGINS_STRICT=1 .venv/bin/pytest -n 2 "$@"
