"""MLflow 3 logged models in SQL: ``LoggedModelsMixin`` of ``SqlTrackingStore``.

A logged model is a row of ``logged_models`` with its params, tags and metric points in
``logged_model_params``, ``logged_model_tags`` and ``logged_model_metrics``. Links between
runs and models live in the ``inputs`` table next to the dataset links:

* a run's outputs (``log_outputs``): source ``RUN``/run id → destination ``MODEL``/model id,
  with the step;
* a run's model inputs: source ``MODEL``/model id → destination ``RUN``/run id.

The ``status`` column holds the protocol number of ``LoggedModelStatus``; a NULL
``metric_value`` is NaN (MySQL/MariaDB cannot store NaN), infinities are stored as ±DBL_MAX
as in the run tables.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Row,
    and_,
    case,
    delete,
    false,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import aliased
from trackline.entities import (
    LifecycleStage,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
    Param,
    RunTag,
)
from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.search import (
    LoggedModelOrderBy,
    decode_page_token,
    encode_page_token,
    parse_logged_model_filter,
    parse_logged_model_order_by,
)
from trackline.search.ast import And, Comparison, Node, Or, comparisons
from trackline.store.run_names import random_run_name
from trackline.store.tracking import (
    LOGGED_MODELS_MAX_RESULTS_DEFAULT,
    LOGGED_MODELS_MAX_RESULTS_THRESHOLD,
    key_value_list,
)
from trackline.validation import (
    param_conflict_message,
    validate_max_results,
    validate_param,
    validate_tag,
)

from trackline_sql.convert import DOUBLE_MAX
from trackline_sql.models import datasets as dataset_table
from trackline_sql.models import (
    inputs,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
)
from trackline_sql.statements import MODEL_LINK, RUN_LINK

if TYPE_CHECKING:
    from trackline_sql.search import SearchCompiler

MAX_MODEL_NAME_LENGTH = 500
MAX_MODEL_TYPE_LENGTH = 500
IN_CHUNK = 500

# What a status filter compares: MLflow's Python names of the stored numbers.
_STATUS_NAMES = {0: "UNSPECIFIED", 1: "PENDING", 2: "READY", 3: "FAILED"}
_STRING_COLUMNS = {
    "name": logged_models.c.name,
    "model_id": logged_models.c.model_id,
    "model_type": logged_models.c.model_type,
    "source_run_id": logged_models.c.source_run_id,
}
_NUMERIC_COLUMNS = {
    "creation_timestamp": logged_models.c.creation_timestamp_ms,
    "last_updated_timestamp": logged_models.c.last_updated_timestamp_ms,
}


def _invalid(message: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(message)


def model_not_found(model_id: str) -> TracklineException:
    return TracklineException(
        f"Logged model with ID '{model_id}' not found.", RESOURCE_DOES_NOT_EXIST
    )


def _status_label() -> ColumnElement[str]:
    col = logged_models.c.status
    return case(*((col == n, name) for n, name in _STATUS_NAMES.items()), else_="UNSPECIFIED")


def _status_value(value: Any) -> str:
    return _STATUS_NAMES[LoggedModelStatus.parse(value).to_int()]


def _stored_value(value: float) -> float | None:
    if math.isnan(value):
        return None
    if math.isinf(value):
        return DOUBLE_MAX if value > 0 else -DOUBLE_MAX
    return float(value)


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Any:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def clean_datasets(datasets: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, str | None]]:
    """``[{"dataset_name", "dataset_digest"?}]`` checked: each needs a name."""
    out = []
    for entry in datasets or ():
        if not isinstance(entry, Mapping) or not entry.get("dataset_name"):
            raise _invalid(
                f"Invalid dataset {entry!r} in search_logged_models: each entry needs a "
                "'dataset_name' (and may give a 'dataset_digest')."
            )
        out.append((str(entry["dataset_name"]), entry.get("dataset_digest") or None))
    return out


# MLflow's _validate_logged_model_name: the name becomes a path segment and a models:/ URI.
_BAD_MODEL_NAME_CHARACTERS = ("/", ":", ".", "%", '"', "'")


def on_datasets(datasets: list[tuple[str, str | None]]) -> ColumnElement[bool]:
    """A ``logged_model_metrics`` row computed on one of ``datasets`` (a name, and the digest
    when one is given)."""
    m = logged_model_metrics.c
    return or_(
        *(
            and_(m.dataset_name == name, m.dataset_digest == digest)
            if digest
            else m.dataset_name == name
            for name, digest in datasets
        )
    )


class LoggedModelsMixin:
    """The logged-model methods of ``SqlTrackingStore`` (see the module docstring)."""

    # Provided by SqlTrackingStore: _write, _read, _search, _active_experiment,
    # _experiment_location, _check_run_active, _run_row.
    _search: SearchCompiler
    _write: Callable[..., Any]
    _read: Callable[..., Any]
    _active_experiment: Callable[[Connection, str], Row[Any]]
    _experiment_location: Callable[[int], str]
    _check_run_active: Callable[[Connection, str], int]
    _run_row: Callable[[Connection, str], Row[Any]]

    # -- create, read, finalize, delete ------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, str] | Sequence[RunTag] | None = None,
        params: Mapping[str, str] | Sequence[Param] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        name = name or random_run_name()
        if not isinstance(name, str) or len(name) > MAX_MODEL_NAME_LENGTH:
            raise _invalid(
                f"Invalid logged model name {name!r}: it must be a string of at most "
                f"{MAX_MODEL_NAME_LENGTH} characters."
            )
        if any(c in name for c in _BAD_MODEL_NAME_CHARACTERS):
            raise _invalid(
                f"Invalid model name ({name!r}) provided. Model name must be a non-empty string "
                f"and cannot contain the following characters: {_BAD_MODEL_NAME_CHARACTERS}"
            )
        if model_type is not None and (
            not isinstance(model_type, str) or len(model_type) > MAX_MODEL_TYPE_LENGTH
        ):
            raise _invalid(
                f"Invalid model_type {model_type!r}: it must be a string of at most "
                f"{MAX_MODEL_TYPE_LENGTH} characters."
            )
        clean_tags = _last_per_key(validate_tag(t) for t in key_value_list(tags, RunTag))
        clean_params = [validate_param(p) for p in key_value_list(params, Param)]
        _check_duplicate_params(clean_params)
        model_id = f"m-{uuid.uuid4().hex}"

        def work(conn: Connection) -> LoggedModel:
            exp = self._active_experiment(conn, experiment_id)
            if source_run_id:
                self._run_row(conn, source_run_id)
            location = exp.artifact_location or self._experiment_location(exp.experiment_id)
            now = _now_ms()
            conn.execute(
                insert(logged_models).values(
                    model_id=model_id,
                    experiment_id=exp.experiment_id,
                    name=name,
                    artifact_location=f"{location.rstrip('/')}/models/{model_id}/artifacts",
                    creation_timestamp_ms=now,
                    last_updated_timestamp_ms=now,
                    status=LoggedModelStatus.PENDING.to_int(),
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    model_type=model_type or None,
                    source_run_id=source_run_id or None,
                    status_message=None,
                )
            )
            base = {"model_id": model_id, "experiment_id": exp.experiment_id}
            if clean_tags:
                conn.execute(
                    insert(logged_model_tags),
                    [{**base, "tag_key": t.key, "tag_value": t.value} for t in clean_tags],
                )
            if clean_params:
                conn.execute(
                    insert(logged_model_params),
                    [{**base, "param_key": p.key, "param_value": p.value} for p in clean_params],
                )
            return self._logged_models(conn, [self._model_row(conn, model_id)])[0]

        return self._write(work)

    def _model_row(
        self, conn: Connection, model_id: str, *, allow_deleted: bool = False
    ) -> Row[Any]:
        row = None
        if isinstance(model_id, str):
            row = conn.execute(
                select(logged_models).where(logged_models.c.model_id == model_id)
            ).first()
        if row is None or (not allow_deleted and row.lifecycle_stage != LifecycleStage.ACTIVE):
            raise model_not_found(model_id)
        return row

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        def work(conn: Connection) -> LoggedModel:
            row = self._model_row(conn, model_id, allow_deleted=allow_deleted)
            return self._logged_models(conn, [row])[0]

        return self._read(work)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        final = LoggedModelStatus.parse(status)
        if final not in (LoggedModelStatus.READY, LoggedModelStatus.UPLOAD_FAILED):
            raise _invalid(
                f"Invalid status {str(status)!r} for finalize_logged_model: a model is finalized "
                "as READY or FAILED (LOGGED_MODEL_READY / LOGGED_MODEL_UPLOAD_FAILED)."
            )

        def work(conn: Connection) -> LoggedModel:
            self._model_row(conn, model_id)
            conn.execute(
                update(logged_models)
                .where(logged_models.c.model_id == model_id)
                .values(status=final.to_int(), last_updated_timestamp_ms=_now_ms())
            )
            return self._logged_models(conn, [self._model_row(conn, model_id)])[0]

        return self._write(work)

    def delete_logged_model(self, model_id: str) -> None:
        def work(conn: Connection) -> None:
            self._model_row(conn, model_id, allow_deleted=True)  # deleting twice is fine
            conn.execute(
                update(logged_models)
                .where(logged_models.c.model_id == model_id)
                .values(lifecycle_stage=LifecycleStage.DELETED, last_updated_timestamp_ms=_now_ms())
            )

        self._write(work)

    # -- tags and params ---------------------------------------------------------------------

    def set_logged_model_tags(
        self, model_id: str, tags: Mapping[str, str] | Sequence[RunTag]
    ) -> None:
        clean = _last_per_key(validate_tag(t) for t in key_value_list(tags, RunTag))

        def work(conn: Connection) -> None:
            row = self._model_row(conn, model_id)
            if not clean:
                return
            for chunk in _chunks([t.key for t in clean]):
                conn.execute(
                    delete(logged_model_tags).where(
                        logged_model_tags.c.model_id == model_id,
                        logged_model_tags.c.tag_key.in_(chunk),
                    )
                )
            conn.execute(
                insert(logged_model_tags),
                [
                    {
                        "model_id": model_id,
                        "experiment_id": row.experiment_id,
                        "tag_key": t.key,
                        "tag_value": t.value,
                    }
                    for t in clean
                ],
            )
            self._touch(conn, model_id)

        self._write(work, retry_integrity=True)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        def work(conn: Connection) -> None:
            self._model_row(conn, model_id)
            deleted = conn.execute(
                delete(logged_model_tags).where(
                    logged_model_tags.c.model_id == model_id, logged_model_tags.c.tag_key == key
                )
            )
            if deleted.rowcount == 0:
                raise TracklineException(
                    f"No tag with key {key!r} found for logged model with ID '{model_id}'.",
                    RESOURCE_DOES_NOT_EXIST,
                )
            self._touch(conn, model_id)

        self._write(work)

    def log_logged_model_params(
        self, model_id: str, params: Mapping[str, str] | Sequence[Param]
    ) -> None:
        clean = [validate_param(p) for p in key_value_list(params, Param)]
        _check_duplicate_params(clean)

        def work(conn: Connection) -> None:
            row = self._model_row(conn, model_id)
            if not clean:
                return
            existing: dict[str, str] = {}
            for chunk in _chunks([p.key for p in clean]):
                existing.update(
                    conn.execute(
                        select(
                            logged_model_params.c.param_key, logged_model_params.c.param_value
                        ).where(
                            logged_model_params.c.model_id == model_id,
                            logged_model_params.c.param_key.in_(chunk),
                        )
                    ).all()
                )
            conflicts = [
                (p.key, existing[p.key], p.value)
                for p in clean
                if p.key in existing and existing[p.key] != p.value
            ]
            if conflicts:
                raise _invalid(
                    param_conflict_message(model_id, conflicts).replace("run ID", "logged model ID")
                )
            fresh = [p for p in clean if p.key not in existing]
            if fresh:
                conn.execute(
                    insert(logged_model_params),
                    [
                        {
                            "model_id": model_id,
                            "experiment_id": row.experiment_id,
                            "param_key": p.key,
                            "param_value": p.value,
                        }
                        for p in fresh
                    ],
                )
                self._touch(conn, model_id)

        self._write(work, retry_integrity=True)

    def _touch(self, conn: Connection, model_id: str) -> None:
        conn.execute(
            update(logged_models)
            .where(logged_models.c.model_id == model_id)
            .values(last_updated_timestamp_ms=_now_ms())
        )

    # -- metrics (written by log_batch) ------------------------------------------------------

    def _log_model_metrics(
        self, conn: Connection, run_id: str, experiment_id: int, metrics: Sequence[Metric]
    ) -> None:
        """Store the points of a batch that name a ``model_id`` against those models too."""
        by_pk: dict[tuple[Any, ...], dict[str, Any]] = {}
        dataset_ids: dict[tuple[str, str], str | None] = {}
        models: dict[str, Row[Any]] = {}
        for metric in metrics:
            if not metric.model_id:
                continue
            if metric.model_id not in models:
                models[metric.model_id] = self._model_row(conn, metric.model_id)
            dataset_uuid = None
            if metric.dataset_name and metric.dataset_digest:
                key = (metric.dataset_name, metric.dataset_digest)
                if key not in dataset_ids:
                    dataset_ids[key] = conn.execute(
                        select(dataset_table.c.dataset_uuid).where(
                            dataset_table.c.experiment_id == experiment_id,
                            dataset_table.c.name == key[0],
                            dataset_table.c.digest == key[1],
                        )
                    ).scalar()
                dataset_uuid = dataset_ids[key]
            pk = (metric.model_id, metric.key, metric.timestamp, metric.step, run_id)
            by_pk[pk] = {
                "model_id": metric.model_id,
                "metric_name": metric.key,
                "metric_timestamp_ms": metric.timestamp,
                "metric_step": metric.step,
                "metric_value": _stored_value(metric.value),
                "experiment_id": models[metric.model_id].experiment_id,
                "run_id": run_id,
                "dataset_uuid": dataset_uuid,
                "dataset_name": metric.dataset_name,
                "dataset_digest": metric.dataset_digest,
            }
        if not by_pk:
            return
        # The same point logged again replaces the earlier one (a retried request).
        m = logged_model_metrics.c
        for pk in by_pk:
            conn.execute(
                delete(logged_model_metrics).where(
                    m.model_id == pk[0],
                    m.metric_name == pk[1],
                    m.metric_timestamp_ms == pk[2],
                    m.metric_step == pk[3],
                    m.run_id == pk[4],
                )
            )
        conn.execute(insert(logged_model_metrics), list(by_pk.values()))

    # -- run links ---------------------------------------------------------------------------

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        outputs = _check_links(models, LoggedModelOutput)

        def work(conn: Connection) -> None:
            self._check_run_active(conn, run_id)
            for output in outputs:
                self._model_row(conn, output.model_id)
                self._link(conn, RUN_LINK, run_id, MODEL_LINK, output.model_id, output.step)

        self._write(work, retry_integrity=True)

    def log_model_inputs(self, run_id: str, models: Sequence[LoggedModelInput]) -> None:
        model_inputs = _check_links(models, LoggedModelInput)

        def work(conn: Connection) -> None:
            self._check_run_active(conn, run_id)
            for model_input in model_inputs:
                self._model_row(conn, model_input.model_id)
                self._link(conn, MODEL_LINK, model_input.model_id, RUN_LINK, run_id, 0)

        self._write(work, retry_integrity=True)

    def _link(
        self,
        conn: Connection,
        source_type: str,
        source_id: str,
        destination_type: str,
        destination_id: str,
        step: int,
    ) -> None:
        where = (
            inputs.c.source_type == source_type,
            inputs.c.source_id == source_id,
            inputs.c.destination_type == destination_type,
            inputs.c.destination_id == destination_id,
        )
        found = conn.execute(select(inputs.c.step).where(*where)).first()
        if found is None:
            conn.execute(
                insert(inputs).values(
                    input_uuid=uuid.uuid4().hex,
                    source_type=source_type,
                    source_id=source_id,
                    destination_type=destination_type,
                    destination_id=destination_id,
                    step=step,
                )
            )
        elif found.step != step:
            conn.execute(update(inputs).where(*where).values(step=step))

    # -- loading -----------------------------------------------------------------------------

    def _logged_models(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[LoggedModel]:
        ids = [row.model_id for row in rows]
        tag_map: dict[str, dict[str, str]] = {i: {} for i in ids}
        param_map: dict[str, dict[str, str]] = {i: {} for i in ids}
        metric_map: dict[str, list[Metric]] = {i: [] for i in ids}
        for chunk in _chunks(ids):
            t = logged_model_tags.c
            for model_id, key, value in conn.execute(
                select(t.model_id, t.tag_key, t.tag_value)
                .where(t.model_id.in_(chunk))
                .order_by(t.model_id, t.tag_key)
            ):
                tag_map[model_id][key] = value
            p = logged_model_params.c
            for model_id, key, value in conn.execute(
                select(p.model_id, p.param_key, p.param_value)
                .where(p.model_id.in_(chunk))
                .order_by(p.model_id, p.param_key)
            ):
                param_map[model_id][key] = value
            m = logged_model_metrics.c
            for row in conn.execute(
                select(logged_model_metrics)
                .where(m.model_id.in_(chunk))
                .order_by(m.model_id, m.metric_name, m.metric_step, m.metric_timestamp_ms)
            ):
                metric_map[row.model_id].append(
                    Metric(
                        key=row.metric_name,
                        value=math.nan if row.metric_value is None else row.metric_value,
                        timestamp=row.metric_timestamp_ms,
                        step=row.metric_step,
                        dataset_name=row.dataset_name,
                        dataset_digest=row.dataset_digest,
                        model_id=row.model_id,
                        run_id=row.run_id,
                    )
                )
        return [
            LoggedModel(
                model_id=row.model_id,
                experiment_id=str(row.experiment_id),
                name=row.name,
                artifact_location=row.artifact_location,
                creation_timestamp=row.creation_timestamp_ms,
                last_updated_timestamp=row.last_updated_timestamp_ms,
                status=LoggedModelStatus.from_int(row.status),
                status_message=row.status_message,
                model_type=row.model_type,
                source_run_id=row.source_run_id,
                tags=tag_map[row.model_id],
                params=param_map[row.model_id],
                metrics=metric_map[row.model_id],
            )
            for row in rows
        ]

    # -- search ------------------------------------------------------------------------------

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        max_results = validate_max_results(
            LOGGED_MODELS_MAX_RESULTS_DEFAULT if max_results is None else max_results,
            limit=LOGGED_MODELS_MAX_RESULTS_THRESHOLD,
        )
        offset = decode_page_token(page_token)
        node = parse_logged_model_filter(filter_string)
        ordering = parse_logged_model_order_by(order_by)
        dataset_scope = clean_datasets(datasets)
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        int_ids = [i for i in (_int_id(e) for e in experiment_ids) if i is not None]
        compiler = _ModelSearch(self._search, dataset_scope)
        where = compiler.filter(node) if node is not None else None
        joins, clauses = compiler.order_by(ordering)
        if not int_ids:
            return PagedList([], None)
        source: FromClause = logged_models
        for alias, onclause in joins:
            source = source.outerjoin(alias, onclause)
        stmt = (
            select(logged_models)
            .select_from(source)
            .where(
                logged_models.c.experiment_id.in_(int_ids),
                logged_models.c.lifecycle_stage == LifecycleStage.ACTIVE,
            )
        )
        if where is not None:
            stmt = stmt.where(where)
        if dataset_scope and not any(c.identifier.entity == "metric" for c in comparisons(node)):
            # As in MLflow: datasets without a metric filter keep the models that have any
            # metric computed on one of them.
            m = logged_model_metrics.c
            stmt = stmt.where(
                select(literal(1))
                .where(m.model_id == logged_models.c.model_id, on_datasets(dataset_scope))
                .exists()
            )
        stmt = stmt.order_by(*clauses).limit(max_results + 1).offset(offset)

        def work(conn: Connection) -> PagedList[LoggedModel]:
            rows = conn.execute(stmt).all()
            page = self._logged_models(conn, rows[:max_results])
            more = len(rows) > max_results
            return PagedList(page, encode_page_token(offset + max_results) if more else None)

        return self._read(work)

    # -- garbage collection ------------------------------------------------------------------

    @staticmethod
    def _erase_models_of_experiment(conn: Connection, experiment_id: int) -> None:
        model_ids = select(logged_models.c.model_id).where(
            logged_models.c.experiment_id == experiment_id
        )
        conn.execute(
            delete(inputs).where(
                or_(
                    and_(inputs.c.source_type == MODEL_LINK, inputs.c.source_id.in_(model_ids)),
                    and_(
                        inputs.c.destination_type == MODEL_LINK,
                        inputs.c.destination_id.in_(model_ids),
                    ),
                )
            )
        )
        for table in (logged_model_metrics, logged_model_params, logged_model_tags):
            conn.execute(delete(table).where(table.c.experiment_id == experiment_id))
        conn.execute(delete(logged_models).where(logged_models.c.experiment_id == experiment_id))


def erase_run_model_links(conn: Connection, run_ids: Sequence[str]) -> None:
    """Before runs are erased: their model links and the model metrics they logged."""
    conn.execute(
        delete(inputs).where(
            or_(
                and_(inputs.c.source_type == RUN_LINK, inputs.c.source_id.in_(run_ids)),
                and_(
                    inputs.c.source_type == MODEL_LINK,
                    inputs.c.destination_type == RUN_LINK,
                    inputs.c.destination_id.in_(run_ids),
                ),
            )
        )
    )
    conn.execute(delete(logged_model_metrics).where(logged_model_metrics.c.run_id.in_(run_ids)))


class _ModelSearch:
    """Filter and ORDER BY expressions over ``logged_models`` for one search."""

    def __init__(self, compiler: SearchCompiler, datasets: list[tuple[str, str | None]]) -> None:
        self.sql = compiler
        self.datasets = datasets

    # -- metrics: the latest point per (model, key), within the datasets asked for --

    def _latest_metrics(self, key: str, datasets: list[tuple[str, str | None]]) -> FromClause:
        m = logged_model_metrics.c
        rank = (
            func.row_number()
            .over(
                partition_by=(m.model_id,),
                order_by=(m.metric_timestamp_ms.desc(), m.metric_step.desc()),
            )
            .label("rank")
        )
        query = select(m.model_id, m.metric_value, rank).where(m.metric_name == key)
        if datasets:
            query = query.where(on_datasets(datasets))
        ranked = query.subquery()
        return select(ranked.c.model_id, ranked.c.metric_value).where(ranked.c.rank == 1).subquery()

    def filter(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, Comparison):
            return self._comparison(node)
        parts = [self.filter(operand) for operand in node.operands]
        if isinstance(node, And):
            return and_(*parts)
        if isinstance(node, Or):
            return or_(*parts)
        raise _invalid(f"Unsupported filter node {node!r}.")

    def _comparison(self, comp: Comparison) -> ColumnElement[bool]:
        entity, key, operator = comp.identifier.entity, comp.identifier.key, comp.operator
        if entity == "metric":
            what = f"metric '{key}'"
            latest = self._latest_metrics(key, self.datasets)
            value = latest.c.metric_value
            if operator == "!=":
                cond = or_(
                    value.is_(None), self.sql.numeric_condition(value, "!=", comp.value, what)
                )
            else:
                cond = and_(
                    value.is_not(None),
                    self.sql.numeric_condition(value, operator, comp.value, what),
                )
            return (
                select(literal(1))
                .select_from(latest)
                .where(latest.c.model_id == logged_models.c.model_id, cond)
                .correlate(logged_models)
                .exists()
            )
        if entity in ("param", "tag"):
            table = logged_model_params if entity == "param" else logged_model_tags
            key_col = table.c.param_key if entity == "param" else table.c.tag_key
            value_col = table.c.param_value if entity == "param" else table.c.tag_value
            what = f"{entity} '{key}'"
            conditions = [table.c.model_id == logged_models.c.model_id, key_col == key]
            if operator not in ("IS NULL", "IS NOT NULL"):
                conditions.append(self.sql.string_condition(value_col, operator, comp.value, what))
            found = select(literal(1)).where(*conditions).correlate(logged_models).exists()
            return not_(found) if operator == "IS NULL" else found
        what = f"attribute '{key}'"
        if key in _STRING_COLUMNS:
            return self.sql.string_condition(_STRING_COLUMNS[key], operator, comp.value, what)
        if key == "status":
            value = comp.value
            if operator in ("=", "!=", "IN", "NOT IN"):
                value = (
                    tuple(_status_value(v) for v in value)
                    if isinstance(value, tuple)
                    else _status_value(value)
                )
            return self.sql.string_condition(_status_label(), operator, value, what)
        if key == "experiment_id":
            return _experiment_id_condition(operator, comp.value, what)
        if key in _NUMERIC_COLUMNS:
            return self.sql.numeric_condition(_NUMERIC_COLUMNS[key], operator, comp.value, what)
        raise _invalid(f"Invalid attribute key {key!r} in a logged model filter.")

    def order_by(
        self, ordering: Sequence[LoggedModelOrderBy]
    ) -> tuple[list[tuple[FromClause, ColumnElement[bool]]], list[ColumnElement[Any]]]:
        joins: list[tuple[FromClause, ColumnElement[bool]]] = []
        clauses: list[ColumnElement[Any]] = []
        for item in ordering:
            order = item.order
            entity, key, ascending = order.identifier.entity, order.identifier.key, order.ascending
            if entity == "metric":
                scope = (
                    [(item.dataset_name, item.dataset_digest)]
                    if item.dataset_name
                    else self.datasets
                )
                latest = self._latest_metrics(key, scope).alias()
                joins.append((latest, latest.c.model_id == logged_models.c.model_id))
                # Numbers first, then NaN, then models without the metric; both directions.
                rank = case(
                    (latest.c.model_id.is_(None), 2), (latest.c.metric_value.is_(None), 1), else_=0
                )
                value = latest.c.metric_value
                clauses.extend([rank.asc(), value.asc() if ascending else value.desc()])
            elif entity in ("param", "tag"):
                table = aliased(logged_model_params if entity == "param" else logged_model_tags)
                key_col = table.c.param_key if entity == "param" else table.c.tag_key
                value_col = table.c.param_value if entity == "param" else table.c.tag_value
                joins.append(
                    (table, and_(table.c.model_id == logged_models.c.model_id, key_col == key))
                )
                clauses.extend(_nulls_last(self.sql._sortable(value_col), ascending))
            elif key in _STRING_COLUMNS:
                clauses.extend(_nulls_last(self.sql._sortable(_STRING_COLUMNS[key]), ascending))
            elif key == "status":
                clauses.extend(_nulls_last(logged_models.c.status, ascending))
            elif key == "experiment_id":
                clauses.extend(_nulls_last(logged_models.c.experiment_id, ascending))
            elif key in _NUMERIC_COLUMNS:
                clauses.extend(_nulls_last(_NUMERIC_COLUMNS[key], ascending))
            else:
                raise _invalid(f"Invalid order_by field {key!r} for logged models.")
        clauses.append(logged_models.c.creation_timestamp_ms.desc())
        clauses.append(logged_models.c.model_id.asc())
        return joins, clauses


def _nulls_last(col: ColumnElement[Any], ascending: bool) -> list[ColumnElement[Any]]:
    rank = case((col.is_(None), 1), else_=0)
    return [rank.asc(), col.asc() if ascending else col.desc()]


def _experiment_id_condition(operator: str, value: Any, what: str) -> ColumnElement[bool]:
    col = logged_models.c.experiment_id
    if operator in ("IN", "NOT IN"):
        ids = [i for i in (_int_id(v) for v in value) if i is not None]
        return col.in_(ids) if operator == "IN" else col.not_in(ids)
    number = _int_id(value)
    if operator == "=":
        return false() if number is None else col == number
    if operator == "!=":
        return true() if number is None else col != number
    if number is None:
        raise _invalid(f"Invalid value {value!r} for {what}.")
    raise _invalid(f"Invalid comparator {operator!r} for {what}: use =, != , LIKE, IN or NOT IN.")


def _int_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 2**31 else None
    if isinstance(value, str) and value.isdigit() and int(value) < 2**31:
        return int(value)
    return None


def _check_links(models: Sequence[Any], kind: type) -> list[Any]:
    out = []
    for model in models or ():
        if isinstance(model, Mapping):
            model = kind.from_dict(model)
        if not isinstance(model, kind) or not isinstance(model.model_id, str) or not model.model_id:
            raise _invalid(f"Invalid model reference {model!r}: it needs a model_id.")
        step = getattr(model, "step", 0)
        if isinstance(step, bool) or not isinstance(step, int):
            raise _invalid(f"Invalid step {step!r} for model {model.model_id}: use an integer.")
        out.append(model)
    return out


def _check_duplicate_params(params: Sequence[Param]) -> None:
    keys = [p.key for p in params]
    if len(set(keys)) != len(keys):
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        raise _invalid(f"Duplicate parameter keys have been submitted: {duplicates}.")


def _last_per_key(items: Any) -> list[RunTag]:
    by_key: dict[str, RunTag] = {}
    for item in items:
        by_key.pop(item.key, None)
        by_key[item.key] = item
    return list(by_key.values())


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
