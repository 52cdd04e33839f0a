"""``trackline.autolog()``: enable every installed autologger, now or when its library is
imported."""

from __future__ import annotations

import inspect
import logging
import threading
import warnings
from types import ModuleType
from typing import Any

from trackline.autologging import _core
from trackline.autologging._import_hooks import (
    register_post_import_hook,
    remove_post_import_hooks,
)
from trackline.exceptions import TracklineException

logger = logging.getLogger("trackline.autologging")

_lock = threading.Lock()
# What the last blanket autolog() asked for; hooks read it when their library gets imported.
_blanket_options: dict[str, Any] | None = None
_blanket_extras: dict[str, dict[str, Any]] = {}
_blanket_excluded: set[str] = set()
_waiting: set[str] = set()  # integration names whose post-import hook is registered


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
    exclude_flavors: list[str] | None = None,
    **flavor_options: dict[str, Any],
) -> None:
    """Enable (or with ``disable=True`` disable) every installed autologger.

    Autologgers of libraries already imported are enabled now; the others when their library
    is imported (this function imports none). A library whose version is outside the range
    its plugin was tested with is skipped (logged at DEBUG level). An integration configured
    by its own ``trackline.<flavor>.autolog(...)`` keeps those settings.

    ``exclude_flavors`` names integrations to leave alone. Options for one integration go in
    a keyword named after it: ``trackline.autolog(sklearn={"max_tuning_runs": 3})``.
    """
    from trackline.plugins.manager import get_plugin_manager

    specs = {name: spec for name, (spec, _) in get_plugin_manager().registry.autologgers.items()}
    for name, extra in flavor_options.items():
        if name not in specs:
            raise TracklineException.invalid_parameter_value(
                f"autolog() got the unknown keyword {name!r}: it is neither an option nor an "
                f"installed autologger (installed: {', '.join(sorted(specs)) or 'none'})."
            )
        if not isinstance(extra, dict):
            raise TracklineException.invalid_parameter_value(
                f"autolog({name}=...) takes a dict of {name} autolog options, "
                f"got {type(extra).__name__}."
            )
        # The plugin's autolog module is light (its library is imported only when enabled).
        from trackline.plugins.types import load_object

        accepted = inspect.signature(load_object(specs[name].autolog)).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            unknown = sorted(set(extra) - set(accepted))
            if unknown:
                raise TracklineException.invalid_parameter_value(
                    f"autolog({name}={{...}}): unknown {name} autolog option(s) "
                    f"{', '.join(unknown)}. It accepts: {', '.join(accepted)}."
                )
    if extra_tags is not None and not isinstance(extra_tags, dict):
        raise TracklineException.invalid_parameter_value(
            f"extra_tags must be a dict of tag names to values, got {type(extra_tags).__name__}."
        )
    options = {
        "log_input_examples": log_input_examples,
        "log_model_signatures": log_model_signatures,
        "log_models": log_models,
        "log_datasets": log_datasets,
        "log_traces": log_traces,
        "disable": disable,
        "exclusive": exclusive,
        "disable_for_unsupported_versions": disable_for_unsupported_versions,
        "silent": silent,
        "extra_tags": extra_tags,
    }
    excluded = {str(name) for name in exclude_flavors or ()}
    global _blanket_options, _blanket_extras, _blanket_excluded
    with _lock:
        _blanket_options = options
        _blanket_extras = dict(flavor_options)
        _blanket_excluded = excluded
    for name, spec in sorted(specs.items()):
        if name in excluded:
            continue
        if disable:
            remove_post_import_hooks(spec.library)
            with _lock:
                _waiting.discard(name)
            if not _core.configured_directly(name):
                _core.disable_integration(name)
            continue
        with _lock:
            if name in _waiting:
                continue  # its hook is already waiting; it reads the newest options
            _waiting.add(name)
        register_post_import_hook(_hook_for(name), spec.library)


def _hook_for(name: str):  # noqa: ANN202  (a closure per integration)
    def on_import(module: ModuleType) -> None:
        with _lock:
            _waiting.discard(name)
        _enable(name)

    return on_import


def _enable(name: str) -> None:
    from trackline.plugins.manager import get_plugin_manager
    from trackline.plugins.types import load_object

    with _lock:
        options = None if _blanket_options is None else dict(_blanket_options)
        extras = dict(_blanket_extras.get(name, {}))
        excluded = name in _blanket_excluded
    if options is None or options["disable"] or excluded:
        return
    if _core.configured_directly(name):
        logger.debug("autolog: %s keeps the settings of its own autolog() call.", name)
        return
    entry = get_plugin_manager().registry.autologgers.get(name)
    if entry is None:
        return
    spec = entry[0]
    problem = _core.version_problem(name, spec.library, spec.tested)
    if problem is not None:
        logger.debug("autolog: skipping the %s autologger. %s", name, problem)
        return
    try:
        function = load_object(spec.autolog)
        accepted = inspect.signature(function).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        kwargs = {k: v for k, v in options.items() if takes_any or k in accepted}
        kwargs.update(extras)
        function(**kwargs, _from_blanket=True)
    except Exception as exc:
        if _core.testing_mode():
            raise
        message = f"autolog: could not enable the {name} autologger: {type(exc).__name__}: {exc}"
        if options.get("silent"):
            logger.debug(message)
        else:
            warnings.warn(message, _core.AutologgingWarning, stacklevel=2)


def _reset_for_tests() -> None:
    global _blanket_options, _blanket_extras, _blanket_excluded
    with _lock:
        _blanket_options = None
        _blanket_extras = {}
        _blanket_excluded = set()
        _waiting.clear()
    remove_post_import_hooks()
