"""The server's resolved configuration, and its hand-off to worker processes.

The CLI resolves options once; uvicorn then starts each worker with
``trackline_server.app:create_app`` (``--factory``), which reads the same values back from
``TRACKLINE_SERVER_*`` environment variables. Environment variables are the one channel that
reaches spawned workers on every platform and every uvicorn version.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from trackline.exceptions import TracklineException

ENV_PREFIX = "TRACKLINE_SERVER_"
DEFAULT_BACKEND_STORE_URI = "sqlite:///trackline.db"
DEFAULT_ARTIFACTS_DESTINATION = "mlartifacts"
DEFAULT_X_FRAME_OPTIONS = "SAMEORIGIN"
# The root given to the tracking store when the server proxies artifacts. The SQL store
# builds experiment locations as ``<root without trailing '/'>/<id>``; this spelling makes
# that ``mlflow-artifacts:/<id>``, the exact form MLflow clients expect.
PROXY_ARTIFACT_ROOT = "mlflow-artifacts://"

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ServerConfig:
    backend_store_uri: str = DEFAULT_BACKEND_STORE_URI
    registry_store_uri: str | None = None
    default_artifact_root: str | None = None
    serve_artifacts: bool = True
    artifacts_destination: str = DEFAULT_ARTIFACTS_DESTINATION
    artifacts_only: bool = False
    static_prefix: str = ""
    allowed_hosts: tuple[str, ...] = ()
    cors_allowed_origins: tuple[str, ...] = ()
    disable_security_middleware: bool = False
    x_frame_options: str = DEFAULT_X_FRAME_OPTIONS
    max_request_body: int = 64 * 1024 * 1024
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_static_prefix(self.static_prefix)

    # -- derived values ----------------------------------------------------------------------

    @property
    def store_artifact_root(self) -> str:
        """The artifact root new experiments get (MLflow's server-side rules)."""
        if self.default_artifact_root:
            return self.default_artifact_root
        if self.serve_artifacts:
            return PROXY_ARTIFACT_ROOT
        return os.path.abspath("mlruns")

    @property
    def local_artifact_roots(self) -> tuple[str, ...]:
        """Local folders the server may read artifacts from: its own roots, nothing a client
        names. Resolved (symlinks followed) so containment checks compare real paths."""
        from trackline_server.artifacts import is_local_uri, local_root

        roots = [self.store_artifact_root, self.destination]
        return tuple(
            os.path.realpath(local_root(root)) for root in roots if root and is_local_uri(root)
        )

    @property
    def destination(self) -> str:
        """The proxied artifact root; plain paths are made absolute once, here."""
        dest = self.artifacts_destination
        if "://" in dest or dest.startswith("file:"):
            return dest
        return os.path.abspath(dest)

    # -- environment hand-off ----------------------------------------------------------------

    def to_env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, tuple):
                value = ",".join(value)
            out[ENV_PREFIX + f.name.upper()] = str(value)
        # Workers must agree with the parent even if their working directory differs.
        out[ENV_PREFIX + "ARTIFACTS_DESTINATION"] = self.destination
        return out

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerConfig:
        environ = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is None or f.name == "extra":
                continue
            default = f.default
            if isinstance(default, bool):
                kwargs[f.name] = raw.strip().lower() in _TRUE
            elif isinstance(default, tuple):
                kwargs[f.name] = split_list(raw)
            elif isinstance(default, int):
                kwargs[f.name] = int(raw)
            else:
                kwargs[f.name] = raw
        return cls(**kwargs)  # type: ignore[arg-type]


def split_list(raw: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (raw or "").split(",") if item.strip())


def validate_static_prefix(prefix: str) -> None:
    """MLflow's rule: empty, or ``/x`` without a trailing slash and without braces."""
    if not prefix:
        return
    if not prefix.startswith("/") or prefix.endswith("/") or re.search(r"[{}]", prefix):
        raise TracklineException.invalid_parameter_value(
            f"Invalid static prefix {prefix!r}: it must start with '/', must not end with '/' "
            "and must not contain braces."
        )
