"""Integrations, safe patching and autologging sessions.

An *integration* is one library's autologger (``"sklearn"``). Its ``autolog`` function is
decorated with :func:`autologging_integration`, which records the options the user chose,
checks the library version against the plugin's declared range, and reverts the previous
patches before applying new ones. The function patches the library with :func:`safe_patch`.

A patched call opens a *session*. While a session is open (in any thread), every other
patched call (a Pipeline fitting its steps, GridSearchCV fitting candidates, a ``predict``
made by the autologger itself) runs the original function and logs nothing: the outermost
call logs once.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from trackline.autologging import _versions
from trackline.exceptions import TracklineException
from trackline.tracking.uri import env

logger = logging.getLogger("trackline.autologging")

AUTOLOGGING_TAG = "mlflow.autologging"

# Options every integration understands; the blanket trackline.autolog() passes them on.
COMMON_OPTIONS = (
    "log_input_examples",
    "log_model_signatures",
    "log_models",
    "log_datasets",
    "log_traces",
    "disable",
    "exclusive",
    "disable_for_unsupported_versions",
    "silent",
    "extra_tags",
)


class AutologgingWarning(UserWarning):
    """Autologging could not log something; the user's training call was not affected."""


class UnsupportedLibraryVersion(TracklineException):
    """The installed library is outside the range the autologger was tested with."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "INVALID_PARAMETER_VALUE")


@dataclass
class _Patch:
    owner: Any
    name: str
    original: Any  # the raw attribute (function or descriptor) found on ``owner``
    defined_on_owner: bool

    def revert(self) -> None:
        if self.defined_on_owner:
            setattr(self.owner, self.name, self.original)
        else:
            with contextlib.suppress(AttributeError):
                delattr(self.owner, self.name)


@dataclass
class _Integration:
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    enabled: bool = False
    from_blanket: bool = False
    patches: list[_Patch] = field(default_factory=list)


_lock = threading.RLock()
_integrations: dict[str, _Integration] = {}


def testing_mode() -> bool:
    """``TRACKLINE_AUTOLOGGING_TESTING`` (or MLflow's name): autologging errors are raised."""
    return (env("AUTOLOGGING_TESTING", "") or "").lower() in ("1", "true", "yes")


def get_autologging_config(integration: str, key: str, default: Any = None) -> Any:
    """The option ``key`` the user gave the last ``autolog()`` of ``integration``."""
    state = _integrations.get(integration)
    return default if state is None else state.config.get(key, default)


def autologging_is_disabled(integration: str) -> bool:
    """True unless ``integration`` is enabled (by its own or the blanket ``autolog()``)."""
    state = _integrations.get(integration)
    return state is None or not state.enabled


def enabled_integrations() -> list[str]:
    with _lock:
        return sorted(name for name, state in _integrations.items() if state.enabled)


def configured_directly(integration: str) -> bool:
    """Whether the user called the integration's own ``autolog()`` (it then wins over the
    blanket ``trackline.autolog()``)."""
    state = _integrations.get(integration)
    return state is not None and not state.from_blanket


# -- versions -------------------------------------------------------------------------------


def _spec(integration: str) -> Any:
    from trackline.plugins.manager import get_plugin_manager

    entry = get_plugin_manager().registry.autologgers.get(integration)
    return entry[0] if entry else None


def version_problem(integration: str, library: str, tested: tuple[str, str] | None) -> str | None:
    """Why the installed ``library`` is out of the tested range, or None if it is fine."""
    version = _versions.installed_version(library)
    if version is None or tested is None:
        return None
    try:
        if _versions.in_range(version, tested):
            return None
    except ValueError:
        return None  # an unparseable version: nothing to compare
    return (
        f"The {integration} autologger was tested with {library} "
        f"{_versions.describe_range(tested)}, and {library} {version} is installed."
    )


# -- the decorator --------------------------------------------------------------------------


def autologging_integration(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn a plugin's ``autolog(...)`` function into the ``autolog`` users call.

    The decorated function receives every option with its default filled in; it patches the
    library with :func:`safe_patch` (it need not handle ``disable`` itself). The returned
    function also accepts ``allow_untested_versions=True`` to enable the autologger on a
    library version outside the plugin's ``AutologgerSpec.tested`` range.
    """

    def decorator(autolog_function: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(autolog_function)

        @functools.wraps(autolog_function)
        def autolog(
            *args: Any,
            allow_untested_versions: bool = False,
            _from_blanket: bool = False,
            **kwargs: Any,
        ) -> None:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise TracklineException.invalid_parameter_value(
                    f"{name} autolog: {exc}. It accepts: {', '.join(signature.parameters)}."
                ) from None
            bound.apply_defaults()
            config = dict(bound.arguments)
            with _lock:
                state = _integrations.setdefault(name, _Integration(name))
                # A version error is raised before anything changes.
                allowed = (
                    config.get("disable")
                    or _from_blanket
                    or _version_allows(name, config, allow_untested_versions)
                )
                previous = (state.config, state.enabled, state.from_blanket)
                _revert(state)
                state.config = config
                state.from_blanket = _from_blanket
                state.enabled = False
                if config.get("disable") or not allowed:
                    return
                state.enabled = True
                try:
                    autolog_function(**config)
                except BaseException:
                    # Bad options change nothing: the previous settings stay in force.
                    _revert(state)
                    state.config, state.enabled, state.from_blanket = previous
                    if state.enabled:
                        try:
                            autolog_function(**state.config)
                        except Exception:
                            state.enabled = False
                            _revert(state)
                    raise

        autolog.integration_name = name  # type: ignore[attr-defined]
        return autolog

    return decorator


def _version_allows(name: str, config: dict[str, Any], allow_untested: bool) -> bool:
    spec = _spec(name)
    if spec is None:
        return True
    problem = version_problem(name, spec.library, spec.tested)
    if problem is None:
        return True
    if config.get("disable_for_unsupported_versions"):
        logger.info("%s Autologging stays disabled (disable_for_unsupported_versions).", problem)
        return False
    if allow_untested:
        logger.warning("%s Enabling it anyway (allow_untested_versions=True).", problem)
        return True
    raise UnsupportedLibraryVersion(
        f"{problem} Pass allow_untested_versions=True to enable it anyway, or "
        "disable_for_unsupported_versions=True to skip it quietly."
    )


def disable_integration(name: str) -> None:
    """Revert ``name``'s patches and mark it disabled."""
    with _lock:
        state = _integrations.get(name)
        if state is not None:
            _revert(state)
            state.enabled = False
            state.config["disable"] = True


def _revert(state: _Integration) -> None:
    for patch in reversed(state.patches):
        patch.revert()
    state.patches.clear()


# -- sessions -------------------------------------------------------------------------------


@dataclass
class AutologgingSession:
    """One outermost patched call: its integration, options and the problems it met."""

    integration: str
    config: dict[str, Any]
    failures: list[tuple[str, BaseException]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # values logged partly (truncated…)
    thread: int = field(default_factory=threading.get_ident)
    nested: bool = False  # True while an inner call logs on behalf of the outer one
    nested_calls: int = 0  # how many inner calls logged on behalf of the outer one
    _nested_turn: bool = False

    def take_nested_turn(self, integration: str) -> bool:
        if (
            self._nested_turn
            and integration == self.integration
            and threading.get_ident() == self.thread
        ):
            self._nested_turn = False
            self.nested_calls += 1
            return True
        return False

    @contextlib.contextmanager
    def log_inner_call(self) -> Iterator[None]:
        """Let the next patched call of this integration in this thread (inside the block)
        run its own logging within this session — for a ``fit`` whose logging is best done
        by the ``train`` it calls (XGBoost's and LightGBM's scikit-learn API). The inner
        patch sees ``session.nested == True``."""
        self._nested_turn = True
        try:
            yield
        finally:
            self._nested_turn = False

    @contextlib.contextmanager
    def step(self, description: str) -> Iterator[None]:
        """Run one logging step; a failure is remembered (and reported once) instead of
        stopping the other steps."""
        try:
            yield
        except Exception as exc:
            if testing_mode():
                raise
            self.failures.append((description, exc))

    def report(self) -> None:
        if not self.failures and not self.notes:
            return
        details = "; ".join(
            [f"{what}: {type(exc).__name__}: {exc}" for what, exc in self.failures] + self.notes
        )
        if self.failures:
            message = (
                f"Encountered unexpected error during {self.integration} autologging "
                f"({details}). The training call was not affected."
            )
        else:
            message = f"{self.integration} autologging logged some values partly: {details}."

        if self.config.get("silent"):
            logger.debug(message)
        else:
            warnings.warn(message, AutologgingWarning, stacklevel=4)


_session_lock = threading.Lock()
_session: AutologgingSession | None = None


def active_session() -> AutologgingSession | None:
    """The session of the patched call being logged (any thread), or None."""
    return _session


def _open_session(integration: str, config: dict[str, Any]) -> AutologgingSession | None:
    global _session
    with _session_lock:
        if _session is not None:
            return None
        _session = AutologgingSession(integration, config)
        return _session


def _close_session() -> None:
    global _session
    with _session_lock:
        _session = None


@contextlib.contextmanager
def autologging_step(description: str) -> Iterator[None]:
    """Inside a patched call: run one logging step, remembering its failure (see
    :meth:`AutologgingSession.step`). Outside a session failures are warned about at once."""
    session = _session
    if session is not None:
        with session.step(description):
            yield
        return
    try:
        yield
    except Exception as exc:
        if testing_mode():
            raise
        warnings.warn(
            f"Encountered unexpected error during autologging ({description}: "
            f"{type(exc).__name__}: {exc})",
            AutologgingWarning,
            stacklevel=3,
        )


@contextlib.contextmanager
def _quiet(integration: str, silent: bool) -> Iterator[None]:
    """With ``silent=True``: no log records below ERROR and no warnings from trackline code
    (the library's own warnings still show)."""
    if not silent:
        yield
        return
    loggers = [logging.getLogger("trackline"), logging.getLogger(f"trackline_{integration}")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"trackline")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


# -- safe patching --------------------------------------------------------------------------


class _TrackedOriginal:
    """The original function as handed to a patch: remembers whether it ran, its result and
    its exception, so that the user's own outcome is returned or raised whatever our code
    does around it."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self._function = function
        self.called = False
        self.result: Any = None
        self.exception: BaseException | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.called = True
        try:
            self.result = self._function(*args, **kwargs)
        except BaseException as exc:
            self.exception = exc
            raise
        return self.result


def _user_created_run_active() -> bool:
    from trackline.tracking import fluent

    return fluent.active_run() is not None


def _start_autolog_run(integration: str, config: dict[str, Any]) -> bool:
    """Start a run for this call if none is active; True if we started one."""
    from trackline.tracking import fluent

    if fluent.active_run() is not None:
        return False
    tags = {AUTOLOGGING_TAG: integration}
    tags.update({str(k): str(v) for k, v in (config.get("extra_tags") or {}).items()})
    fluent.start_run(tags=tags)
    return True


def _call_patched(
    integration: str,
    patch_function: Callable[..., Any],
    original: Callable[..., Any],
    manage_run: bool,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    state = _integrations.get(integration)
    current = _session
    enabled = state is not None and state.enabled
    if current is not None and enabled and current.take_nested_turn(integration):
        # The outer call handed its logging to this inner call (see log_inner_call).
        current.nested = True
        try:
            return _run_patch(current, patch_function, _TrackedOriginal(original), args, kwargs)
        finally:
            current.nested = False
    if state is None or not state.enabled or current is not None:
        return original(*args, **kwargs)
    config = state.config
    if manage_run and config.get("exclusive") and _user_created_run_active():
        return original(*args, **kwargs)  # exclusive: never log into the user's own runs
    session = _open_session(integration, config)
    if session is None:  # another thread opened one just now
        return original(*args, **kwargs)
    tracked = _TrackedOriginal(original)
    started_run = False
    try:
        with _quiet(integration, bool(config.get("silent"))):
            if manage_run:
                try:
                    started_run = _start_autolog_run(integration, config)
                except Exception as exc:
                    if testing_mode():
                        raise
                    session.failures.append(("starting a run", exc))
                    return original(*args, **kwargs)
            result = _run_patch(session, patch_function, tracked, args, kwargs)
            _end_run(started_run, "FINISHED", session)
            started_run = False
            return result
    finally:
        if started_run:  # the training raised (FAILED) or was interrupted (KILLED)
            in_flight = sys.exc_info()[1]
            _end_run(True, "FAILED" if isinstance(in_flight, Exception) else "KILLED", session)
        _close_session()
        session.report()


def _run_patch(
    session: AutologgingSession,
    patch_function: Callable[..., Any],
    tracked: _TrackedOriginal,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """Run the patch logic; the user's outcome wins whatever happens in our code."""
    try:
        result = patch_function(tracked, *args, **kwargs)
    except BaseException as exc:
        if tracked.exception is not None:
            if exc is tracked.exception:
                raise
            raise tracked.exception from None
        if not isinstance(exc, Exception) or testing_mode():
            raise
        session.failures.append(("autologging", exc))
        return tracked.result if tracked.called else tracked(*args, **kwargs)
    if not tracked.called:
        # A patch that never called the original would change what the user gets.
        session.failures.append(
            ("autologging", RuntimeError("the patch did not call the original"))
        )
        return tracked(*args, **kwargs)
    return result


def _end_run(started: bool, status: str, session: AutologgingSession) -> None:
    if not started:
        return
    from trackline.tracking import fluent

    with session.step("ending the autologging run"):
        fluent.end_run(status)


class _PatchedDescriptor:
    """Stands in for a descriptor attribute (``available_if``, ``property``…): the original
    descriptor still decides whether the attribute exists, its result is then patched."""

    def __init__(
        self,
        descriptor: Any,
        integration: str,
        patch_function: Callable[..., Any],
        manage_run: bool,
    ) -> None:
        self._descriptor = descriptor
        self._integration = integration
        self._patch_function = patch_function
        self._manage_run = manage_run
        functools.update_wrapper(self, descriptor, updated=())  # type: ignore[arg-type]

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        bound = self._descriptor.__get__(instance, owner)
        if instance is None:
            return bound

        def unbound_original(obj: Any, *args: Any, **kwargs: Any) -> Any:
            return self._descriptor.__get__(obj, type(obj))(*args, **kwargs)

        @functools.wraps(bound)
        def call(*args: Any, **kwargs: Any) -> Any:
            return _call_patched(
                self._integration,
                self._patch_function,
                unbound_original,
                self._manage_run,
                (instance, *args),
                kwargs,
            )

        return call


def safe_patch(
    integration: str,
    owner: type | ModuleType,
    name: str,
    patch_function: Callable[..., Any],
    manage_run: bool = False,
) -> None:
    """Replace ``owner.name`` (a method of a class, or a function of a module) so that calls
    go through ``patch_function(original, *args, **kwargs)``.

    For methods ``args`` starts with the instance. ``patch_function`` must call
    ``original(*args, **kwargs)`` once and return its result. Guarantees:

    * an exception raised by the original propagates unchanged;
    * an exception raised by the patch logic is reported as one ``AutologgingWarning`` and
      the user's call returns the original's result (running it if it had not run yet);
    * with ``manage_run=True`` a run tagged ``mlflow.autologging=<integration>`` is started
      when none is active and ended when the call returns (FAILED if it raised);
    * a patched call made while another is being logged runs the original only;
    * ``autolog(disable=True)`` puts the original attribute back.
    """
    with _lock:
        state = _integrations.setdefault(integration, _Integration(integration))
        defined_on_owner = name in vars(owner)
        raw = vars(owner)[name] if defined_on_owner else inspect.getattr_static(owner, name)
        if isinstance(raw, (staticmethod, classmethod)):
            raise TracklineException.invalid_parameter_value(
                f"safe_patch cannot patch the {type(raw).__name__} {_qualname(owner)}.{name}."
            )
        if inspect.isfunction(raw) or inspect.isbuiltin(raw) or isinstance(raw, functools.partial):
            original = raw

            @functools.wraps(original)
            def patched(*args: Any, **kwargs: Any) -> Any:
                return _call_patched(
                    integration, patch_function, original, manage_run, args, kwargs
                )

            replacement: Any = patched
        elif hasattr(raw, "__get__") and not isinstance(owner, ModuleType):
            replacement = _PatchedDescriptor(raw, integration, patch_function, manage_run)
        elif callable(raw):
            original = raw

            def patched_callable(*args: Any, **kwargs: Any) -> Any:
                return _call_patched(
                    integration, patch_function, original, manage_run, args, kwargs
                )

            replacement = patched_callable
        else:
            raise TracklineException.invalid_parameter_value(
                f"safe_patch: {_qualname(owner)}.{name} is not callable."
            )
        setattr(owner, name, replacement)
        state.patches.append(_Patch(owner, name, raw, defined_on_owner))


def _qualname(owner: Any) -> str:
    return getattr(owner, "__qualname__", None) or getattr(owner, "__name__", repr(owner))


def is_patched(owner: Any, name: str) -> bool:
    """Whether ``owner.name`` is currently replaced by an autologging patch."""
    with _lock:
        return any(
            p.owner is owner and p.name == name
            for state in _integrations.values()
            for p in state.patches
        )


def _reset_for_tests() -> None:
    """Revert every patch and forget every integration (test isolation)."""
    with _lock:
        for state in _integrations.values():
            _revert(state)
        _integrations.clear()
    _close_session()


__all__ = [
    "AUTOLOGGING_TAG",
    "COMMON_OPTIONS",
    "AutologgingSession",
    "AutologgingWarning",
    "UnsupportedLibraryVersion",
    "active_session",
    "autologging_integration",
    "autologging_is_disabled",
    "autologging_step",
    "get_autologging_config",
    "safe_patch",
]
