"""``SqlRegistryStore``: the model registry on SQLAlchemy 2 (SQLite, PostgreSQL, MySQL…).

It shares the database (and the schema migrations) with ``SqlTrackingStore``; the tables are
MLflow's: ``registered_models``, ``model_versions``, ``registered_model_tags``,
``model_version_tags`` and ``registered_model_aliases``.

Rules worth knowing:

* Version numbers are ``max + 1`` over every row of the model, tombstones included, so a
  deleted version's number never comes back. Tombstones have the stage ``Deleted_Internal``,
  no source, run or description, and no API returns them.
* A ``models:/`` source is resolved when the version is created and kept as the
  ``storage_location`` that ``get_model_version_download_uri`` answers: ``models:/m-<id>``
  becomes the logged model's artifact location (same database), ``models:/<name>/<v>``
  the download URI of that version. Other sources (``runs:/``, storage URIs) are kept as
  given; the client resolves ``runs:/`` through the tracking store.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, and_, delete, func, insert, literal, select, true, update
from sqlalchemy.exc import IntegrityError
from trackline.entities import PagedList
from trackline.exceptions import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    TracklineException,
)
from trackline.registry.entities import (
    ALL_STAGES,
    STAGE_ARCHIVED,
    STAGE_DELETED_INTERNAL,
    STAGE_NONE,
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)
from trackline.registry.search import (
    parse_model_version_filter,
    parse_model_version_order_by,
    parse_registered_model_filter,
    parse_registered_model_order_by,
)
from trackline.registry.uri import is_models_uri, parse_model_uri
from trackline.registry.validation import (
    MAX_MODEL_VERSIONS_SEARCH_RESULTS,
    MAX_REGISTERED_MODELS_SEARCH_RESULTS,
    canonical_stage,
    validate_alias,
    validate_archive_flag,
    validate_model_name,
    validate_model_version_tag,
    validate_registered_model_tag,
    validate_source,
    validate_tag_key,
    validate_version,
)
from trackline.search import decode_page_token, encode_page_token
from trackline.search.ast import Comparison, OrderBy, comparisons
from trackline.store.registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    AbstractRegistryStore,
)
from trackline.validation import validate_run_id

from trackline_sql import db
from trackline_sql.models import (
    logged_models,
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
)
from trackline_sql.schema import ensure_schema
from trackline_sql.search import SearchCompiler, _check_operator, _nulls_last

T = TypeVar("T")
IN_CHUNK = 500
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_NUMERIC_OPS = ("=", "!=", ">", ">=", "<", "<=")
_TAG_OPS = (*_STRING_OPS, "IS NULL", "IS NOT NULL")
_VISIBLE = model_versions.c.current_stage != STAGE_DELETED_INTERNAL
# Registered models (and their versions) with this tag set to 'true' are prompts (MLflow's prompt
# registry). As in MLflow, the searches return prompts only when the filter asks for them
# (``tags.`mlflow.prompt.is_prompt` = 'true'``, as mlflow.genai.search_prompts does) and
# ordinary models otherwise; the comparison on the tag itself is then dropped.
PROMPT_TAG = "mlflow.prompt.is_prompt"


def _querying_prompts(node: Any) -> bool:
    """MLflow's ``_is_querying_prompt``: the first comparison on the prompt tag decides."""
    for comp in comparisons(node):
        if comp.identifier.entity == "tag" and comp.identifier.key == PROMPT_TAG:
            value = str(comp.value).lower()
            return (comp.operator == "=" and value == "true") or (
                comp.operator == "!=" and value == "false"
            )
    return False


def _now_ms() -> int:
    return int(time.time() * 1000)


def _model_not_found(name: str) -> TracklineException:
    return TracklineException(
        f"Registered Model with name={name} not found", RESOURCE_DOES_NOT_EXIST
    )


def _version_not_found(name: str, version: object) -> TracklineException:
    return TracklineException(
        f"Model Version (name={name}, version={version}) not found", RESOURCE_DOES_NOT_EXIST
    )


def _name_taken(name: str) -> TracklineException:
    return TracklineException(
        f"Registered Model (name={name}) already exists.", RESOURCE_ALREADY_EXISTS
    )


def _alias_not_found(name: str, alias: str) -> TracklineException:
    # MLflow's server answers an unknown alias with 400 INVALID_PARAMETER_VALUE.
    return TracklineException(f"Registered model alias {alias} not found.", INVALID_PARAMETER_VALUE)


class SqlRegistryStore(AbstractRegistryStore):
    """Model registry on a SQL database; see the package README for URIs and settings."""

    def __init__(self, store_uri: str) -> None:
        self.store_uri = store_uri
        self.engine = db.create_store_engine(store_uri)
        self._write_engine = self.engine.execution_options(**{db.WRITE_OPTION: True})
        self.dialect = self.engine.dialect.name
        self._write_lock = (
            threading.RLock() if self.dialect == "sqlite" else contextlib.nullcontext()
        )
        self._search = SearchCompiler(self.dialect)
        try:
            ensure_schema(self.engine, store_uri)
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"SqlRegistryStore({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- plumbing ----------------------------------------------------------------------------

    def _write(self, work: Callable[[Connection], T], *, retry_integrity: bool = False) -> T:
        with self._write_lock:
            return db.run_transaction(self._write_engine, work, retry_integrity=retry_integrity)

    def _read(self, work: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return work(conn)

    def _model_row(self, conn: Connection, name: str) -> Row[Any]:
        row = conn.execute(
            select(registered_models).where(registered_models.c.name == name)
        ).first()
        if row is None:
            raise _model_not_found(name)
        return row

    def _version_row(self, conn: Connection, name: str, version: int) -> Row[Any]:
        row = conn.execute(
            select(model_versions).where(
                model_versions.c.name == name, model_versions.c.version == version, _VISIBLE
            )
        ).first()
        if row is None:
            self._model_row(conn, name)  # an unknown model is reported as such
            raise _version_not_found(name, version)
        return row

    def _touch_model(self, conn: Connection, name: str, now: int) -> None:
        conn.execute(
            update(registered_models)
            .where(registered_models.c.name == name)
            .values(last_updated_time=now)
        )

    # -- entities ----------------------------------------------------------------------------

    def _versions(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[ModelVersion]:
        if not rows:
            return []
        names = sorted({r.name for r in rows})
        tag_map: dict[tuple[str, int], dict[str, str]] = {}
        alias_map: dict[tuple[str, int], list[str]] = {}
        for chunk in _chunks(names):
            for name, version, key, value in conn.execute(
                select(
                    model_version_tags.c.name,
                    model_version_tags.c.version,
                    model_version_tags.c.key,
                    model_version_tags.c.value,
                )
                .where(model_version_tags.c.name.in_(chunk))
                .order_by(model_version_tags.c.key)
            ):
                tag_map.setdefault((name, version), {})[key] = value or ""
            for name, alias, version in conn.execute(
                select(
                    registered_model_aliases.c.name,
                    registered_model_aliases.c.alias,
                    registered_model_aliases.c.version,
                )
                .where(registered_model_aliases.c.name.in_(chunk))
                .order_by(registered_model_aliases.c.alias)
            ):
                alias_map.setdefault((name, version), []).append(alias)
        return [
            ModelVersion(
                name=r.name,
                version=str(r.version),
                creation_timestamp=r.creation_time,
                last_updated_timestamp=r.last_updated_time,
                description=r.description,
                user_id=r.user_id,
                current_stage=r.current_stage,
                source=r.source,
                run_id=r.run_id,
                status=r.status,
                status_message=r.status_message,
                tags=tag_map.get((r.name, r.version), {}),
                run_link=r.run_link,
                aliases=alias_map.get((r.name, r.version), []),
                model_id=r.model_id,
            )
            for r in rows
        ]

    def _latest_per_stage(
        self, conn: Connection, names: Sequence[str], stages: Sequence[str] | None = None
    ) -> dict[str, list[ModelVersion]]:
        """For each model, its newest version in each stage (ordered by stage name)."""
        out: dict[str, list[ModelVersion]] = {n: [] for n in names}
        for chunk in _chunks(list(names)):
            newest = (
                select(
                    model_versions.c.name,
                    model_versions.c.current_stage,
                    func.max(model_versions.c.version).label("version"),
                )
                .where(model_versions.c.name.in_(chunk), _VISIBLE)
                .group_by(model_versions.c.name, model_versions.c.current_stage)
            )
            if stages:
                newest = newest.where(model_versions.c.current_stage.in_(stages))
            newest_sq = newest.subquery()
            rows = conn.execute(
                select(model_versions)
                .join(
                    newest_sq,
                    and_(
                        model_versions.c.name == newest_sq.c.name,
                        model_versions.c.version == newest_sq.c.version,
                    ),
                )
                .order_by(model_versions.c.name, model_versions.c.current_stage)
            ).all()
            for mv in self._versions(conn, rows):
                out[mv.name].append(mv)
        return out

    def _models(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[RegisteredModel]:
        names = [r.name for r in rows]
        tag_map: dict[str, dict[str, str]] = {n: {} for n in names}
        alias_map: dict[str, dict[str, str]] = {n: {} for n in names}
        for chunk in _chunks(names):
            for name, key, value in conn.execute(
                select(
                    registered_model_tags.c.name,
                    registered_model_tags.c.key,
                    registered_model_tags.c.value,
                )
                .where(registered_model_tags.c.name.in_(chunk))
                .order_by(registered_model_tags.c.key)
            ):
                tag_map[name][key] = value or ""
            for name, alias, version in conn.execute(
                select(
                    registered_model_aliases.c.name,
                    registered_model_aliases.c.alias,
                    registered_model_aliases.c.version,
                )
                .where(registered_model_aliases.c.name.in_(chunk))
                .order_by(registered_model_aliases.c.alias)
            ):
                alias_map[name][alias] = str(version)
        latest = self._latest_per_stage(conn, names)
        return [
            RegisteredModel(
                name=r.name,
                creation_timestamp=r.creation_time,
                last_updated_timestamp=r.last_updated_time,
                description=r.description,
                latest_versions=latest[r.name],
                tags=tag_map[r.name],
                aliases=alias_map[r.name],
            )
            for r in rows
        ]

    # -- registered models -----------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] = (),
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        validate_model_name(name)
        clean = {t.key: t.value for t in (validate_registered_model_tag(t) for t in tags)}

        def work(conn: Connection) -> RegisteredModel:
            found = conn.execute(
                select(registered_models.c.name).where(registered_models.c.name == name)
            ).first()
            if found is not None:
                raise _name_taken(name)
            now = _now_ms()
            conn.execute(
                insert(registered_models).values(
                    name=name, creation_time=now, last_updated_time=now, description=description
                )
            )
            if clean:
                conn.execute(
                    insert(registered_model_tags),
                    [{"name": name, "key": k, "value": v} for k, v in clean.items()],
                )
            return self._models(conn, [self._model_row(conn, name)])[0]

        try:
            return self._write(work)
        except IntegrityError as exc:  # a concurrent create won the name
            raise _name_taken(name) from exc

    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        validate_model_name(name)

        def work(conn: Connection) -> RegisteredModel:
            self._model_row(conn, name)
            values: dict[str, Any] = {"last_updated_time": _now_ms()}
            if description is not None:
                values["description"] = description
            conn.execute(
                update(registered_models).where(registered_models.c.name == name).values(**values)
            )
            return self._models(conn, [self._model_row(conn, name)])[0]

        return self._write(work)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        validate_model_name(name)
        validate_model_name(new_name, "New registered model name")

        def work(conn: Connection) -> RegisteredModel:
            row = self._model_row(conn, name)
            if new_name == name:
                return self._models(conn, [row])[0]
            taken = conn.execute(
                select(registered_models.c.name).where(registered_models.c.name == new_name)
            ).first()
            if taken is not None:
                raise _name_taken(new_name)
            now = _now_ms()
            # A new parent row, the children moved to it, then the old parent removed: valid
            # at every step whether or not the database enforces the foreign keys.
            conn.execute(
                insert(registered_models).values(
                    name=new_name,
                    creation_time=row.creation_time,
                    last_updated_time=now,
                    description=row.description,
                )
            )
            self._move_versions(conn, name, new_name, now)
            for child in (registered_model_tags, registered_model_aliases):
                conn.execute(update(child).where(child.c.name == name).values(name=new_name))
            conn.execute(delete(registered_models).where(registered_models.c.name == name))
            return self._models(conn, [self._model_row(conn, new_name)])[0]

        try:
            return self._write(work)
        except IntegrityError as exc:
            raise _name_taken(new_name) from exc

    def _move_versions(self, conn: Connection, name: str, new_name: str, now: int) -> None:
        rows = conn.execute(select(model_versions).where(model_versions.c.name == name)).all()
        if not rows:
            return
        conn.execute(
            insert(model_versions),
            [
                {**row._asdict(), "name": new_name, "last_updated_time": now}
                if row.current_stage != STAGE_DELETED_INTERNAL
                else {**row._asdict(), "name": new_name}
                for row in rows
            ],
        )
        conn.execute(
            update(model_version_tags)
            .where(model_version_tags.c.name == name)
            .values(name=new_name)
        )
        conn.execute(delete(model_versions).where(model_versions.c.name == name))

    def delete_registered_model(self, name: str) -> None:
        validate_model_name(name)

        def work(conn: Connection) -> None:
            self._model_row(conn, name)
            for child in (
                registered_model_aliases,
                model_version_tags,
                model_versions,
                registered_model_tags,
            ):
                conn.execute(delete(child).where(child.c.name == name))
            conn.execute(delete(registered_models).where(registered_models.c.name == name))

        self._write(work)

    def get_registered_model(self, name: str) -> RegisteredModel:
        validate_model_name(name)
        return self._read(lambda conn: self._models(conn, [self._model_row(conn, name)])[0])

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        max_results = _check_max_results(max_results, MAX_REGISTERED_MODELS_SEARCH_RESULTS)
        offset = decode_page_token(page_token)
        node = parse_registered_model_filter(filter_string)
        ordering = self._model_order(parse_registered_model_order_by(order_by))
        is_prompt = self._is_prompt(registered_model_tags, [registered_models])
        stmt = select(registered_models).where(is_prompt if _querying_prompts(node) else ~is_prompt)
        if node is not None:
            stmt = stmt.where(self._search._compile(node, self._model_comparison))
        return self._read_page(stmt.order_by(*ordering), offset, max_results, self._models)

    def _read_page(
        self, stmt: Any, offset: int, max_results: int, build: Callable[[Connection, Any], list]
    ) -> PagedList[Any]:
        """One page of ``stmt``'s rows turned into entities by ``build``; one extra row fetched
        tells whether a next page exists."""

        def work(conn: Connection) -> PagedList[Any]:
            rows = conn.execute(stmt.limit(max_results + 1).offset(offset)).all()
            page = build(conn, rows[:max_results])
            more = len(rows) > max_results
            return PagedList(page, encode_page_token(offset + max_results) if more else None)

        return self._read(work)

    def _model_comparison(self, comp: Comparison) -> Any:
        entity, key, operator = comp.identifier.entity, comp.identifier.key, comp.operator
        what = f"{entity} '{key}'"
        if entity == "tag" and key == PROMPT_TAG:
            return true()  # decided by _querying_prompts
        if entity == "tag":
            return self._tag_exists(
                registered_model_tags,
                [registered_model_tags.c.name == registered_models.c.name],
                comp,
                registered_models,
            )
        if key == "name":
            _check_operator(operator, _STRING_OPS, what)
            return self._search.string_condition(
                registered_models.c.name, operator, comp.value, what
            )
        column = {
            "creation_timestamp": registered_models.c.creation_time,
            "last_updated_timestamp": registered_models.c.last_updated_time,
        }.get(key)
        if column is None:
            raise TracklineException.invalid_parameter_value(
                f"Invalid attribute key {key!r} in a registered model filter."
            )
        _check_operator(operator, _NUMERIC_OPS, what)
        return self._search.numeric_condition(column, operator, comp.value, what)

    def _tag_exists(self, table: Any, links: list[Any], comp: Comparison, outer: Any) -> Any:
        from sqlalchemy import literal, not_

        what = f"tag '{comp.identifier.key}'"
        _check_operator(comp.operator, _TAG_OPS, what)
        conditions = [*links, table.c.key == comp.identifier.key]
        if comp.operator not in ("IS NULL", "IS NOT NULL"):
            conditions.append(
                self._search.string_condition(table.c.value, comp.operator, comp.value, what)
            )
        found = select(literal(1)).where(*conditions).correlate(outer).exists()
        return not_(found) if comp.operator == "IS NULL" else found

    @staticmethod
    def _is_prompt(tags: Any, owners: list[Any]) -> Any:
        """Whether the row of ``owners[0]`` carries the prompt tag in ``tags`` (registered model
        tags, or model version tags)."""
        owner = owners[0]
        links = [tags.c.name == owner.c.name]
        if tags is model_version_tags:
            links.append(tags.c.version == owner.c.version)
        return (
            select(literal(1))
            .where(*links, tags.c.key == PROMPT_TAG, tags.c.value == "true")
            .correlate(owner)
            .exists()
        )

    def _model_order(self, order_by: Sequence[OrderBy]) -> list[Any]:
        columns = {
            "name": self._search._sortable(registered_models.c.name),
            "creation_timestamp": registered_models.c.creation_time,
            "last_updated_timestamp": registered_models.c.last_updated_time,
        }
        clauses: list[Any] = []
        for item in order_by:
            clauses.extend(_nulls_last(columns[item.identifier.key], item.ascending))
        return clauses

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        validate_model_name(name)
        wanted = [canonical_stage(s) for s in stages or ()]

        def work(conn: Connection) -> list[ModelVersion]:
            self._model_row(conn, name)
            found = self._latest_per_stage(conn, [name], wanted or None)[name]
            if not wanted:
                return found
            by_stage = {mv.current_stage: mv for mv in found}
            return [by_stage[s] for s in dict.fromkeys(wanted) if s in by_stage]

        return self._read(work)

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        validate_model_name(name)
        tag = validate_registered_model_tag(tag)

        def work(conn: Connection) -> None:
            self._model_row(conn, name)
            conn.execute(
                delete(registered_model_tags).where(
                    registered_model_tags.c.name == name, registered_model_tags.c.key == tag.key
                )
            )
            conn.execute(
                insert(registered_model_tags).values(name=name, key=tag.key, value=tag.value)
            )

        self._write(work, retry_integrity=True)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        validate_model_name(name)
        validate_tag_key(key, "registered model tag")

        def work(conn: Connection) -> None:
            self._model_row(conn, name)
            conn.execute(
                delete(registered_model_tags).where(
                    registered_model_tags.c.name == name, registered_model_tags.c.key == key
                )
            )

        self._write(work)

    # -- model versions --------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[ModelVersionTag] = (),
        run_link: str | None = None,
        description: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        validate_model_name(name)
        validate_source(source)
        if run_id:
            validate_run_id(run_id)
        clean = {t.key: t.value for t in (validate_model_version_tag(t) for t in tags)}

        def work(conn: Connection) -> ModelVersion:
            self._model_row(conn, name)
            storage_location, source_run = self._storage_location(conn, source)
            # Lineage from the logged model when the caller named none (MLflow's rule).
            version_run = run_id or source_run or self._logged_model_run(conn, model_id)
            highest = conn.execute(
                select(func.max(model_versions.c.version)).where(model_versions.c.name == name)
            ).scalar()
            version = (highest or 0) + 1
            now = _now_ms()
            conn.execute(
                insert(model_versions).values(
                    name=name,
                    version=version,
                    creation_time=now,
                    last_updated_time=now,
                    description=description or "",
                    user_id=None,
                    current_stage=STAGE_NONE,
                    source=source,
                    storage_location=storage_location,
                    run_id=version_run or None,
                    run_link=run_link or "",
                    status=ModelVersionStatus.READY,
                    status_message=None,
                    model_id=model_id or None,
                )
            )
            if clean:
                conn.execute(
                    insert(model_version_tags),
                    [
                        {"name": name, "version": version, "key": k, "value": v}
                        for k, v in clean.items()
                    ],
                )
            self._touch_model(conn, name, now)
            return self._versions(conn, [self._version_row(conn, name, version)])[0]

        # Two creators may pick the same number: the loser's insert fails, and the retry
        # reads the new maximum.
        return self._write(work, retry_integrity=True)

    def _storage_location(self, conn: Connection, source: str) -> tuple[str, str | None]:
        """(where the files are, the run that produced them if the source says) for a source."""
        if not is_models_uri(source):
            return source, None
        parsed = parse_model_uri(source)
        if parsed.model_id is not None:
            row = conn.execute(
                select(logged_models.c.artifact_location, logged_models.c.source_run_id).where(
                    logged_models.c.model_id == parsed.model_id
                )
            ).first()
            if row is None:
                raise TracklineException.invalid_parameter_value(
                    f"Unable to fetch model from model URI source artifact location "
                    f"'{source}': no logged model with id {parsed.model_id!r}."
                )
            return row.artifact_location, row.source_run_id
        if parsed.version is not None and parsed.name is not None:
            row = self._version_row(conn, parsed.name, int(parsed.version))
            return row.storage_location or row.source, None
        raise TracklineException.invalid_parameter_value(
            f"Invalid model version source {source!r}: a models:/ source must name a logged "
            "model (models:/m-<id>) or one version (models:/<name>/<version>)."
        )

    @staticmethod
    def _logged_model_run(conn: Connection, model_id: str | None) -> str | None:
        if not model_id:
            return None
        return conn.execute(
            select(logged_models.c.source_run_id).where(logged_models.c.model_id == model_id)
        ).scalar()

    def update_model_version(
        self, name: str, version: str | int, description: str | None
    ) -> ModelVersion:
        validate_model_name(name)
        number = validate_version(version, name=name)

        def work(conn: Connection) -> ModelVersion:
            self._version_row(conn, name, number)
            now = _now_ms()
            values: dict[str, Any] = {"last_updated_time": now}
            if description is not None:
                values["description"] = description
            conn.execute(
                update(model_versions)
                .where(model_versions.c.name == name, model_versions.c.version == number)
                .values(**values)
            )
            return self._versions(conn, [self._version_row(conn, name, number)])[0]

        return self._write(work)

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool
    ) -> ModelVersion:
        validate_model_name(name)
        number = validate_version(version, name=name)
        stage = canonical_stage(stage)
        validate_archive_flag(stage, archive_existing_versions)

        def work(conn: Connection) -> ModelVersion:
            self._version_row(conn, name, number)
            now = _now_ms()
            if archive_existing_versions:
                conn.execute(
                    update(model_versions)
                    .where(
                        model_versions.c.name == name,
                        model_versions.c.version != number,
                        model_versions.c.current_stage == stage,
                    )
                    .values(current_stage=STAGE_ARCHIVED, last_updated_time=now)
                )
            conn.execute(
                update(model_versions)
                .where(model_versions.c.name == name, model_versions.c.version == number)
                .values(current_stage=stage, last_updated_time=now)
            )
            self._touch_model(conn, name, now)
            return self._versions(conn, [self._version_row(conn, name, number)])[0]

        return self._write(work)

    def delete_model_version(self, name: str, version: str | int) -> None:
        validate_model_name(name)
        number = validate_version(version, name=name)

        def work(conn: Connection) -> None:
            self._version_row(conn, name, number)
            where = (model_version_tags.c.name == name, model_version_tags.c.version == number)
            conn.execute(delete(model_version_tags).where(*where))
            conn.execute(
                delete(registered_model_aliases).where(
                    registered_model_aliases.c.name == name,
                    registered_model_aliases.c.version == number,
                )
            )
            now = _now_ms()
            # The tombstone keeps the number taken; everything it said is erased.
            conn.execute(
                update(model_versions)
                .where(model_versions.c.name == name, model_versions.c.version == number)
                .values(
                    current_stage=STAGE_DELETED_INTERNAL,
                    last_updated_time=now,
                    description=None,
                    user_id=None,
                    source="REDACTED-SOURCE-PATH",
                    storage_location=None,
                    run_id=None,
                    run_link=None,
                    status_message=None,
                    model_id=None,
                )
            )
            self._touch_model(conn, name, now)

        self._write(work)

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        validate_model_name(name)
        number = validate_version(version, name=name)
        return self._read(
            lambda conn: self._versions(conn, [self._version_row(conn, name, number)])[0]
        )

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        validate_model_name(name)
        number = validate_version(version, name=name)

        def work(conn: Connection) -> str:
            row = self._version_row(conn, name, number)
            return row.storage_location or row.source

        return self._read(work)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        max_results = _check_max_results(max_results, MAX_MODEL_VERSIONS_SEARCH_RESULTS)
        offset = decode_page_token(page_token)
        node = parse_model_version_filter(filter_string)
        ordering = self._version_order(parse_model_version_order_by(order_by))
        is_prompt = self._is_prompt(model_version_tags, [model_versions])
        stmt = select(model_versions).where(
            _VISIBLE, is_prompt if _querying_prompts(node) else ~is_prompt
        )
        if node is not None:
            stmt = stmt.where(self._search._compile(node, self._version_comparison))
        return self._read_page(stmt.order_by(*ordering), offset, max_results, self._versions)

    def _version_comparison(self, comp: Comparison) -> Any:
        entity, key, operator = comp.identifier.entity, comp.identifier.key, comp.operator
        what = f"{entity} '{key}'"
        if entity == "tag" and key == PROMPT_TAG:
            return true()
        if entity == "tag":
            return self._tag_exists(
                model_version_tags,
                [
                    model_version_tags.c.name == model_versions.c.name,
                    model_version_tags.c.version == model_versions.c.version,
                ],
                comp,
                model_versions,
            )
        strings = {
            "name": model_versions.c.name,
            "run_id": model_versions.c.run_id,
            "source_path": model_versions.c.source,
            "model_id": model_versions.c.model_id,
            "current_stage": model_versions.c.current_stage,
        }
        numbers = {
            "version_number": model_versions.c.version,
            "creation_timestamp": model_versions.c.creation_time,
            "last_updated_timestamp": model_versions.c.last_updated_time,
        }
        if key in strings:
            _check_operator(operator, _STRING_OPS, what)
            return self._search.string_condition(strings[key], operator, comp.value, what)
        if key in numbers:
            _check_operator(operator, _NUMERIC_OPS, what)
            return self._search.numeric_condition(numbers[key], operator, comp.value, what)
        raise TracklineException.invalid_parameter_value(
            f"Invalid attribute key {key!r} in a model version filter."
        )

    def _version_order(self, order_by: Sequence[OrderBy]) -> list[Any]:
        columns = {
            "name": self._search._sortable(model_versions.c.name),
            "version_number": model_versions.c.version,
            "creation_timestamp": model_versions.c.creation_time,
            "last_updated_timestamp": model_versions.c.last_updated_time,
        }
        clauses: list[Any] = []
        for item in order_by:
            column = columns.get(item.identifier.key)
            if column is None:
                raise TracklineException.invalid_parameter_value(
                    f"Invalid order_by key {item.identifier.key!r} for model versions: use "
                    f"{', '.join(columns)}."
                )
            clauses.extend(_nulls_last(column, item.ascending))
        return clauses

    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        validate_model_name(name)
        number = validate_version(version, name=name)
        tag = validate_model_version_tag(tag)

        def work(conn: Connection) -> None:
            self._version_row(conn, name, number)
            conn.execute(
                delete(model_version_tags).where(
                    model_version_tags.c.name == name,
                    model_version_tags.c.version == number,
                    model_version_tags.c.key == tag.key,
                )
            )
            conn.execute(
                insert(model_version_tags).values(
                    name=name, version=number, key=tag.key, value=tag.value
                )
            )

        self._write(work, retry_integrity=True)

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        validate_model_name(name)
        number = validate_version(version, name=name)
        validate_tag_key(key, "model version tag")

        def work(conn: Connection) -> None:
            self._version_row(conn, name, number)
            conn.execute(
                delete(model_version_tags).where(
                    model_version_tags.c.name == name,
                    model_version_tags.c.version == number,
                    model_version_tags.c.key == key,
                )
            )

        self._write(work)

    # -- aliases ---------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        validate_model_name(name)
        validate_alias(alias)
        number = validate_version(version, name=name)

        def work(conn: Connection) -> None:
            self._version_row(conn, name, number)
            conn.execute(
                delete(registered_model_aliases).where(
                    registered_model_aliases.c.name == name,
                    registered_model_aliases.c.alias == alias,
                )
            )
            conn.execute(
                insert(registered_model_aliases).values(name=name, alias=alias, version=number)
            )
            self._touch_model(conn, name, _now_ms())

        self._write(work, retry_integrity=True)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        validate_model_name(name)
        validate_alias(alias)

        def work(conn: Connection) -> None:
            self._model_row(conn, name)
            conn.execute(
                delete(registered_model_aliases).where(
                    registered_model_aliases.c.name == name,
                    registered_model_aliases.c.alias == alias,
                )
            )

        self._write(work)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        validate_model_name(name)
        validate_alias(alias, reading=True)

        def work(conn: Connection) -> ModelVersion:
            self._model_row(conn, name)
            if alias.lower() == "latest":  # MLflow: the highest live version
                highest = conn.execute(
                    select(func.max(model_versions.c.version)).where(
                        model_versions.c.name == name, _VISIBLE
                    )
                ).scalar()
                if highest is None:
                    raise TracklineException(
                        f"Latest version not found for model {name}.", RESOURCE_DOES_NOT_EXIST
                    )
                return self._versions(conn, [self._version_row(conn, name, highest)])[0]
            version = conn.execute(
                select(registered_model_aliases.c.version).where(
                    registered_model_aliases.c.name == name,
                    registered_model_aliases.c.alias == alias,
                )
            ).scalar()
            if version is None:
                raise _alias_not_found(name, alias)
            return self._versions(conn, [self._version_row(conn, name, version)])[0]

        return self._read(work)


def _check_max_results(max_results: object, limit: int) -> int:
    from trackline.registry.validation import validate_search_max_results

    return validate_search_max_results(max_results, limit)


def _chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


__all__ = ["ALL_STAGES", "SqlRegistryStore"]
