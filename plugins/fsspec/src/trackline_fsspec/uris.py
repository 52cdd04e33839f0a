"""Turning artifact URIs into what fsspec opens.

Local locations come in three spellings, all meaning a local path:

* a plain path, absolute or relative (``/data/artifacts``, ``mlruns/0``, ``~/art``):
  taken literally, ``~`` expanded, relative paths resolved against the working directory;
* an RFC 8089 file URI, ``file:///data/artifacts`` or ``file:/data/artifacts``
  (``file://localhost/...`` too): percent-escapes are decoded, as in any URI;
* ``file:mlruns/0``, the relative form MLflow users write (``file:./mlruns``), resolved
  against the working directory like a plain relative path.

A local path is resolved once, when the repository is created, so a later ``chdir`` does
not move the artifacts. Other URIs are handed to fsspec unchanged.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit
from urllib.request import url2pathname

from trackline.exceptions import TracklineException

_WINDOWS_DRIVE = re.compile(r"^[a-zA-Z]:[\\/]")
LOCAL_SCHEMES = frozenset({"", "file"})


def uri_scheme(uri: str) -> str:
    """The URI's scheme, lower case; ``""`` for plain paths (Windows drive paths included)."""
    if _WINDOWS_DRIVE.match(uri):
        return ""
    return urlsplit(uri).scheme.lower()


def is_local_uri(uri: str) -> bool:
    return uri_scheme(uri) in LOCAL_SCHEMES


def local_path(uri: str) -> str:
    """The absolute local path a plain path or ``file:`` URI names.

    Raises INVALID_PARAMETER_VALUE for URIs that do not name a local path: another
    scheme, a remote host (``file://server/share``), a query or fragment, an empty path.
    """
    scheme = uri_scheme(uri)
    if scheme == "":
        path = os.path.expanduser(uri)
    elif scheme == "file":
        path = _file_uri_path(uri)
    else:
        raise _invalid(uri, f"the scheme {scheme!r} is not a local file system")
    if not path:
        raise _invalid(uri, "it names no path")
    if "\x00" in path:
        raise _invalid(uri, "it contains a NUL character")
    return os.path.abspath(path)


def _file_uri_path(uri: str) -> str:
    parts = urlsplit(uri)
    host = parts.netloc.lower()
    if host not in ("", "localhost"):
        # file://tmp/x is a classic typo for file:///tmp/x; a real remote host (a UNC
        # share) is not something a local repository should reach for.
        raise _invalid(
            uri,
            f"it names the host {parts.netloc!r}; write file:///{parts.netloc}{parts.path} "
            "for a local absolute path",
        )
    if parts.query or parts.fragment or uri.endswith(("?", "#")):
        raise _invalid(uri, "file URIs take no query or fragment; write '?' as %3F, '#' as %23")
    # url2pathname decodes %XX and, on Windows, turns /C:/x into C:\x.
    return url2pathname(parts.path)


def _invalid(uri: str, why: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(
        f"Invalid local artifact location {uri!r}: {why}."
    )


# user:password@ after "scheme://": the password is replaced, the user name kept.
_PASSWORD_IN_URI = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*):[^/\s]*@")


def mask_uri(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it masked.

    Applied to URIs and to library error messages alike, since those may quote the URI.
    """
    return _PASSWORD_IN_URI.sub(r"\g<head>:***@", text)
