"""The library versions an autologger was tested with, and checking the installed one.

The range is declared once, in the plugin's ``AutologgerSpec(tested=(min, max))``; the
framework and ``trackline plugins`` read it from there. Both ends are inclusive; a bound with
fewer parts covers everything it prefixes (``max="2.5"`` accepts ``2.5.3``). Pre-release and
local parts are ignored (``1.6.0rc1`` and ``2.13.0+cpu`` count as ``1.6.0`` and ``2.13.0``).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

_RELEASE = re.compile(r"^\s*v?(\d+(?:\.\d+)*)")


def release(version: str) -> tuple[int, ...]:
    """The numeric release part of ``version`` (``"2.13.0+cpu"`` → ``(2, 13, 0)``)."""
    match = _RELEASE.match(str(version))
    if match is None:
        raise ValueError(f"not a version number: {version!r}")
    return tuple(int(part) for part in match.group(1).split("."))


def in_range(version: str, tested: tuple[str, str] | None) -> bool:
    """Whether ``version`` lies in the inclusive range ``tested`` (None: any version)."""
    if tested is None:
        return True
    low, high = release(tested[0]), release(tested[1])
    current = release(version)
    width = max(len(low), len(current))
    if _pad(current, width) < _pad(low, width):
        return False
    return current[: len(high)] <= high


def _pad(parts: tuple[int, ...], width: int) -> tuple[int, ...]:
    return parts + (0,) * (width - len(parts))


def describe_range(tested: tuple[str, str] | None) -> str:
    return "any version" if tested is None else f"{tested[0]} to {tested[1]}"


def installed_version(library: str) -> str | None:
    """The version of the importable module ``library``: its ``__version__`` when imported,
    else the version of the distribution that provides it; None if unknown."""
    module = sys.modules.get(library)
    version = getattr(module, "__version__", None) if module is not None else None
    if isinstance(version, str):
        return version
    for distribution in metadata.packages_distributions().get(library, []):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return None
