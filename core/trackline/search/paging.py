"""Page tokens: base64 of ``{"offset": N}``, the format MLflow's built-in stores use.

Clients treat tokens as opaque, but real clients store them, so the format is kept.
"""

from __future__ import annotations

import base64
import binascii
import json

from trackline.exceptions import TracklineException


def encode_page_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The offset a token stands for (0 for no token); a malformed token is a clear error."""
    if not token:
        return 0
    try:
        data = json.loads(base64.b64decode(token, validate=True))
        offset = data["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise TracklineException.invalid_parameter_value(
            f"Invalid page token {token!r}: pass back the next_page_token of a previous search."
        ) from exc
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise TracklineException.invalid_parameter_value(
            f"Invalid page token {token!r}: its offset must be a non-negative integer."
        )
    return offset
