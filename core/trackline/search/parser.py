"""Filter and order_by parser (being written)."""

from __future__ import annotations

from collections.abc import Sequence

from trackline.search.ast import Node, OrderBy


def parse_run_filter(filter_string: str | None) -> Node | None:
    raise NotImplementedError


def parse_experiment_filter(filter_string: str | None) -> Node | None:
    raise NotImplementedError


def parse_run_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    raise NotImplementedError


def parse_experiment_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    raise NotImplementedError
