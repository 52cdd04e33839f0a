"""The HTTP transport shared by the REST tracking store and the artifact repositories.

One ``HttpClient`` owns one ``requests.Session`` (connection pooling and keep-alive) whose
adapter retries with urllib3's ``Retry``. Which requests may be retried on server errors is
decided per request (``retry_safe``): a POST that creates something (CreateRun,
CreateExperiment) must not be sent twice because a response got lost, so such requests are
retried only when the server said it did not process them (408, 429) or when the connection
could not even be opened.

Settings come from ``TRACKLINE_*``/``MLFLOW_*`` environment variables (see ``HttpConfig``);
credentials never appear in logs or error messages.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from trackline.exceptions import TracklineException
from trackline.tracking.uri import env
from urllib3.util.retry import Retry

_log = logging.getLogger(__name__)

RETRY_STATUSES: tuple[int, ...] = (408, 429, 500, 502, 503, 504)
# Statuses meaning "the request was not processed": safe to resend even a create request.
NOT_PROCESSED_STATUSES: tuple[int, ...] = (408, 429)

# The code a non-JSON error response gets, from its HTTP status (spec: client reverse map).
_CODE_FOR_STATUS: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    409: "RESOURCE_CONFLICT",
    429: "REQUEST_LIMIT_EXCEEDED",
    499: "CANCELLED",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _env_bool(name: str, default: bool = False) -> bool:
    raw = env(name)
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _env_number(name: str, default: float) -> float:
    raw = env(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise TracklineException.invalid_parameter_value(
            f"MLFLOW_{name} / TRACKLINE_{name} must be a number, got {raw!r}."
        ) from exc


@dataclass(frozen=True)
class HttpConfig:
    """Transport settings; ``from_env()`` reads them as MLflow's client does.

    ``verify`` is ``True``, ``False`` (``TRACKING_INSECURE_TLS``) or a CA bundle path
    (``TRACKING_SERVER_CERT_PATH``); ``client_cert`` is ``TRACKING_CLIENT_CERT_PATH``.
    """

    timeout: float = 120.0
    max_retries: int = 7
    backoff_factor: float = 2.0
    backoff_jitter: float = 1.0
    respect_retry_after: bool = True
    username: str | None = None
    password: str | None = None
    token: str | None = None
    verify: bool | str = True
    client_cert: str | None = None
    pool_connections: int = 10
    pool_maxsize: int = 10

    @classmethod
    def from_env(cls) -> HttpConfig:
        insecure = _env_bool("TRACKING_INSECURE_TLS")
        ca_bundle = env("TRACKING_SERVER_CERT_PATH")
        if insecure and ca_bundle:
            raise TracklineException.invalid_parameter_value(
                "MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH cannot both "
                "be set: one turns certificate checks off, the other configures them."
            )
        return cls(
            timeout=_env_number("HTTP_REQUEST_TIMEOUT", 120.0),
            max_retries=int(_env_number("HTTP_REQUEST_MAX_RETRIES", 7)),
            backoff_factor=_env_number("HTTP_REQUEST_BACKOFF_FACTOR", 2.0),
            backoff_jitter=_env_number("HTTP_REQUEST_BACKOFF_JITTER", 1.0),
            respect_retry_after=_env_bool("HTTP_RESPECT_RETRY_AFTER_HEADER", True),
            username=env("TRACKING_USERNAME"),
            password=env("TRACKING_PASSWORD"),
            token=env("TRACKING_TOKEN"),
            verify=False if insecure else (ca_bundle or True),
            client_cert=env("TRACKING_CLIENT_CERT_PATH"),
            pool_connections=int(_env_number("HTTP_POOL_CONNECTIONS", 10)),
            pool_maxsize=int(_env_number("HTTP_POOL_MAXSIZE", 10)),
        )

    def __repr__(self) -> str:  # the dataclass repr would print the password and token
        return (
            f"HttpConfig(timeout={self.timeout}, max_retries={self.max_retries}, "
            f"verify={self.verify!r}, auth={'basic' if self.username else 'bearer' if self.token else None})"
        )

    def retries(self, retry_safe: bool) -> Retry:
        """The urllib3 policy for a request that may (or may not) be processed twice."""
        n = self.max_retries
        return Retry(
            total=n,
            connect=n,  # the request never reached the server: always safe to resend
            read=n if retry_safe else 0,
            status=n,
            other=0,
            allowed_methods=None,  # every method: retry_safe already decided
            status_forcelist=RETRY_STATUSES if retry_safe else NOT_PROCESSED_STATUSES,
            backoff_factor=self.backoff_factor,
            backoff_jitter=self.backoff_jitter,
            respect_retry_after_header=self.respect_retry_after,
            raise_on_status=False,  # hand back the last response: its JSON says what failed
        )


class _PerRequestRetryAdapter(HTTPAdapter):
    """An adapter whose retry policy depends on the request being sent.

    ``HTTPAdapter.send`` reads ``self.max_retries``; making that a property backed by a
    thread-local flag set around ``send`` lets one connection pool serve both kinds of
    request, from any number of threads.
    """

    def __init__(self, config: HttpConfig) -> None:
        self._local = threading.local()
        self._safe = config.retries(retry_safe=True)
        self._unsafe = config.retries(retry_safe=False)
        super().__init__(
            pool_connections=config.pool_connections,
            pool_maxsize=config.pool_maxsize,
            max_retries=self._safe,
        )

    @property  # type: ignore[override]
    def max_retries(self) -> Retry:
        return self._safe if getattr(self._local, "retry_safe", True) else self._unsafe

    @max_retries.setter
    def max_retries(self, value: Retry) -> None:
        self._safe = value

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self._local.retry_safe = getattr(request, "trackline_retry_safe", True)
        try:
            return super().send(request, *args, **kwargs)
        finally:
            self._local.retry_safe = True


def redact(url: str) -> str:
    """``url`` without a ``user:password@`` part, for messages and logs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def user_agent() -> str:
    from trackline import __version__

    return f"trackline-python-client/{__version__}"


def hook_headers(url: str) -> dict[str, str]:
    """Headers from ``request_headers`` hooks; later-registered plugins win on conflicts."""
    from trackline.plugins.manager import get_plugin_manager

    merged: dict[str, str] = {}
    # pluggy calls the most recently registered implementation first.
    for result in reversed(get_plugin_manager().hook.request_headers(url=url)):
        if result:
            merged.update({str(k): str(v) for k, v in result.items()})
    return merged


class HttpClient:
    """Requests to one server (``base_url`` = scheme, host and optional path prefix)."""

    def __init__(self, base_url: str, config: HttpConfig | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.config = config or HttpConfig.from_env()
        self.session = self._make_session()

    def _make_session(self) -> requests.Session:
        session = requests.Session()
        adapter = _PerRequestRetryAdapter(self.config)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.verify = self.config.verify
        if self.config.client_cert:
            session.cert = self.config.client_cert
        if self.config.username is not None and self.config.password is not None:
            session.auth = (self.config.username, self.config.password)
        return session

    def url(self, path: str) -> str:
        """``path`` (starting with ``/``) under the base URL; full URLs pass through."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + path

    def _headers(self, url: str, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"User-Agent": user_agent()}
        if self.config.token and not (self.config.username and self.config.password):
            headers["Authorization"] = f"Bearer {self.config.token}"
        headers.update(hook_headers(url))
        if extra:
            headers.update(extra)
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        retry_safe: bool = True,
        stream: bool = False,
    ) -> requests.Response:
        """Send one request (with retries) and return the response, whatever its status.

        Network failures become ``TracklineException`` (TEMPORARILY_UNAVAILABLE, or
        DEADLINE_EXCEEDED for timeouts); call ``raise_for_error`` to check the status.
        """
        url = self.url(path)
        request = requests.Request(
            method,
            url,
            params=params,
            json=json,
            data=data,
            headers=self._headers(url, headers),
        )
        prepared = self.session.prepare_request(request)
        prepared.trackline_retry_safe = retry_safe  # type: ignore[attr-defined]
        _log.debug("%s %s", method, redact(url))
        try:
            # Session.send skips the environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE)
            # that Session.request would merge in; merge it the same way.
            settings = self.session.merge_environment_settings(
                prepared.url, {}, stream, self.config.verify, self.config.client_cert
            )
            return self.session.send(prepared, timeout=self.config.timeout, **settings)
        except requests.RequestException as exc:
            raise _network_error(exc, method, url, self.config.timeout) from exc

    def close(self) -> None:
        self.session.close()


def _is_timeout(exc: BaseException) -> bool:
    """A timeout, even when urllib3 gave up retrying one (requests then says ConnectionError)."""
    if isinstance(exc, requests.Timeout):
        return True
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, urllib3.exceptions.TimeoutError)


def _network_error(
    exc: requests.RequestException, method: str, url: str, timeout: float
) -> TracklineException:
    if _is_timeout(exc):
        return TracklineException(
            f"{method} {redact(url)} timed out after {timeout:g} s (MLFLOW_HTTP_REQUEST_TIMEOUT).",
            "DEADLINE_EXCEEDED",
        )
    return TracklineException(
        f"{method} {redact(url)} failed: {type(exc).__name__}: {_safe_reason(exc)}",
        "TEMPORARILY_UNAVAILABLE",
    )


def _safe_reason(exc: BaseException) -> str:
    """The exception text with any ``user:password@`` removed."""
    text = str(exc)
    return text if "@" not in text else "(details withheld: the URL holds credentials)"


def error_from_response(response: requests.Response) -> TracklineException:
    """The ``TracklineException`` an error response stands for.

    A JSON error envelope gives the code and message; anything else (an HTML 404 from a
    proxy, a plain-text 503) gets a code from the HTTP status.
    """
    payload: Any = None
    with contextlib.suppress(ValueError):
        payload = response.json()
    if isinstance(payload, dict) and isinstance(payload.get("error_code"), str):
        message = payload.get("message") or f"HTTP {response.status_code}"
        return TracklineException(message, payload["error_code"])
    code = _CODE_FOR_STATUS.get(response.status_code, "INTERNAL_ERROR")
    body = (response.text or "").strip()[:500]
    request = response.request
    where = f"{request.method} {redact(request.url or '')}" if request is not None else "request"
    return TracklineException(
        f"{where} failed with HTTP {response.status_code}" + (f": {body}" if body else ""),
        code,
    )


def raise_for_error(response: requests.Response) -> requests.Response:
    if response.status_code >= 400:
        raise error_from_response(response)
    return response
