#!/usr/bin/env bash
# Install trackline with its default plugins into .venv and run the quick-start example on the
# embedded default (trackline.db and mlruns/ in the current directory).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

python3 -m venv "$repo/.venv"
"$repo/.venv/bin/python" -m pip install -q --upgrade pip
"$repo/.venv/bin/python" -m pip install -q -e "$repo[pandas]" -e "$repo/plugins/sql" -e "$repo/plugins/fsspec"
"$repo/.venv/bin/python" "$repo/examples/quickstart.py"
