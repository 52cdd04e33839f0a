#!/usr/bin/env bash
# Artifact transfers to S3 (moto on loopback): trackline's S3 repository and server proxy
# against a plain s3fs copy. Not run in CI.
#
#   benchmarks/run_artifacts.sh                    # 1,000 small files + one 1 GiB file
#   benchmarks/run_artifacts.sh --large-mib 128    # quicker
#   benchmarks/run_artifacts.sh --mlflow           # also the real mlflow client via the proxy
#
# Needs .venv with trackline-fsspec[s3], trackline-server and moto[server] (scripts/test.sh
# installs them). Every argument goes to benchmarks/artifacts_s3.py (see --help there).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
exec "${TRACKLINE_VENV:-$repo/.venv}/bin/python" "$here/artifacts_s3.py" "$@"
