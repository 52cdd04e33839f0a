"""Autologging: log parameters, metrics and models of training calls without changing them.

``trackline.autolog()`` enables every installed autologger; ``trackline.<flavor>.autolog()``
one of them. Plugin authors build an autologger from :func:`autologging_integration` and
:func:`safe_patch` (see ``docs/autologging.md``).
"""

from __future__ import annotations

from trackline.autologging._blanket import autolog
from trackline.autologging._core import (
    AUTOLOGGING_TAG,
    COMMON_OPTIONS,
    AutologgingSession,
    AutologgingWarning,
    UnsupportedLibraryVersion,
    active_session,
    autologging_integration,
    autologging_is_disabled,
    autologging_step,
    enabled_integrations,
    get_autologging_config,
    is_patched,
    safe_patch,
    testing_mode,
)
from trackline.autologging._import_hooks import register_post_import_hook
from trackline.autologging._versions import in_range, installed_version

__all__ = [
    "AUTOLOGGING_TAG",
    "COMMON_OPTIONS",
    "AutologgingSession",
    "AutologgingWarning",
    "UnsupportedLibraryVersion",
    "active_session",
    "autolog",
    "autologging_integration",
    "autologging_is_disabled",
    "autologging_step",
    "enabled_integrations",
    "get_autologging_config",
    "in_range",
    "installed_version",
    "is_patched",
    "register_post_import_hook",
    "safe_patch",
    "testing_mode",
]


def _reset_for_tests() -> None:
    """Undo every patch, forget options and pending import hooks (test isolation)."""
    from trackline.autologging import _blanket, _core

    _blanket._reset_for_tests()
    _core._reset_for_tests()
