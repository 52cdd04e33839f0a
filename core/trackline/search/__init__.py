"""Search filters and order_by clauses: one parser for every store.

Filters follow MLflow's grammar (``metrics.acc > 0.9 and params.model = 'cnn'``) and extend it
with ``OR``, parentheses and ``IN``/``NOT IN`` for every string field. Stores receive the
filter string and parse it here into the tree of ``trackline.search.ast``.
"""

from trackline.search.ast import And, Comparison, Identifier, Node, Or, OrderBy, comparisons
from trackline.search.evaluate import (
    experiment_matches,
    run_matches,
    sort_experiments,
    sort_runs,
)
from trackline.search.paging import decode_page_token, encode_page_token
from trackline.search.parser import (
    LoggedModelOrderBy,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_logged_model_filter,
    parse_logged_model_order_by,
    parse_run_filter,
    parse_run_order_by,
    to_filter_string,
)

__all__ = [
    "And",
    "Comparison",
    "Identifier",
    "LoggedModelOrderBy",
    "Node",
    "Or",
    "OrderBy",
    "comparisons",
    "decode_page_token",
    "encode_page_token",
    "experiment_matches",
    "parse_experiment_filter",
    "parse_experiment_order_by",
    "parse_logged_model_filter",
    "parse_logged_model_order_by",
    "parse_run_filter",
    "parse_run_order_by",
    "run_matches",
    "sort_experiments",
    "sort_runs",
    "to_filter_string",
]
