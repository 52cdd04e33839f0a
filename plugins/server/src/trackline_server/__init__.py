"""trackline-server: the tracking server (REST API, proxied artifacts) on Starlette + uvicorn."""

from __future__ import annotations

__all__: list[str] = []
