"""The tracking schema as SQLAlchemy models.

Table and column names are MLflow's (``experiments``, ``runs.run_uuid``, ``latest_metrics``…)
so that people who know MLflow's database find their way. Differences, and why:

* Primary keys of the per-run tables start with ``run_uuid``: the same columns as MLflow's,
  ordered so that the primary-key index also serves "everything of this run" and
  "the history of this metric" (``metrics``: run, key, step, timestamp).
* String columns are long enough for every value ``trackline.validation`` accepts.
* On MySQL/MariaDB every table uses ``utf8mb4_bin``: ``=`` and ``LIKE`` are then
  case-sensitive, as on the other databases, and names differing only by case can coexist.

The schema itself is created by the alembic migrations in ``trackline_sql/migrations``;
these models describe it for queries, and a test keeps the two equal.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Dataset sources, schemas and profiles can be megabytes; MySQL's TEXT stops at 64 KiB.
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


class Base(DeclarativeBase):
    pass


class SqlExperiment(Base):
    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("name", name="experiments_name_key"), TABLE_OPTIONS)

    experiment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(500), nullable=False)
    artifact_location: Mapped[str | None] = mapped_column(String(2048))
    lifecycle_stage: Mapped[str] = mapped_column(String(32), nullable=False)
    creation_time: Mapped[int | None] = mapped_column(BigInteger)
    last_update_time: Mapped[int | None] = mapped_column(BigInteger)


class SqlExperimentTag(Base):
    __tablename__ = "experiment_tags"
    __table_args__ = (
        PrimaryKeyConstraint("experiment_id", "key", name="experiment_tag_pk"),
        TABLE_OPTIONS,
    )

    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[str | None] = mapped_column(Text)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.experiment_id"))


class SqlRun(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("index_runs_experiment_id_start_time", "experiment_id", "start_time"),
        TABLE_OPTIONS,
    )

    run_uuid: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(250))
    source_type: Mapped[str | None] = mapped_column(String(20))
    source_name: Mapped[str | None] = mapped_column(String(500))
    entry_point_name: Mapped[str | None] = mapped_column(String(50))
    user_id: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    start_time: Mapped[int | None] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger)
    deleted_time: Mapped[int | None] = mapped_column(BigInteger)
    source_version: Mapped[str | None] = mapped_column(String(50))
    lifecycle_stage: Mapped[str] = mapped_column(String(20), nullable=False)
    artifact_uri: Mapped[str | None] = mapped_column(String(2048))
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.experiment_id"), nullable=False
    )


class SqlMetric(Base):
    """Every logged point. NaN is stored as value 0 with ``is_nan`` true."""

    __tablename__ = "metrics"
    __table_args__ = (
        PrimaryKeyConstraint(
            "run_uuid", "key", "step", "timestamp", "value", "is_nan", name="metric_pk"
        ),
        TABLE_OPTIONS,
    )

    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[float] = mapped_column(Double)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(BigInteger)
    is_nan: Mapped[bool] = mapped_column(Boolean)
    run_uuid: Mapped[str] = mapped_column(ForeignKey("runs.run_uuid"))


class SqlLatestMetric(Base):
    """One row per (run, key): the point with the greatest (step, timestamp, value)."""

    __tablename__ = "latest_metrics"
    __table_args__ = (
        PrimaryKeyConstraint("run_uuid", "key", name="latest_metric_pk"),
        TABLE_OPTIONS,
    )

    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[float] = mapped_column(Double, nullable=False)
    timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    step: Mapped[int] = mapped_column(BigInteger, nullable=False)
    is_nan: Mapped[bool] = mapped_column(Boolean, nullable=False)
    run_uuid: Mapped[str] = mapped_column(ForeignKey("runs.run_uuid"))


class SqlParam(Base):
    __tablename__ = "params"
    __table_args__ = (PrimaryKeyConstraint("run_uuid", "key", name="param_pk"), TABLE_OPTIONS)

    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[str] = mapped_column(String(8000), nullable=False)
    run_uuid: Mapped[str] = mapped_column(ForeignKey("runs.run_uuid"))


class SqlTag(Base):
    __tablename__ = "tags"
    __table_args__ = (PrimaryKeyConstraint("run_uuid", "key", name="tag_pk"), TABLE_OPTIONS)

    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[str | None] = mapped_column(String(8000))
    run_uuid: Mapped[str] = mapped_column(ForeignKey("runs.run_uuid"))


class SqlDataset(Base):
    """A dataset, stored once per experiment and (name, digest)."""

    __tablename__ = "datasets"
    __table_args__ = (
        PrimaryKeyConstraint("experiment_id", "name", "digest", name="dataset_pk"),
        UniqueConstraint("dataset_uuid", name="datasets_dataset_uuid_key"),
        TABLE_OPTIONS,
    )

    dataset_uuid: Mapped[str] = mapped_column(String(36), nullable=False)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.experiment_id"))
    name: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(36))
    dataset_source_type: Mapped[str] = mapped_column(String(36), nullable=False)
    dataset_source: Mapped[str] = mapped_column(LongText, nullable=False)
    dataset_schema: Mapped[str | None] = mapped_column(LongText)
    dataset_profile: Mapped[str | None] = mapped_column(LongText)


class SqlInput(Base):
    """A link from a source (a dataset) to a destination (a run)."""

    __tablename__ = "inputs"
    __table_args__ = (
        PrimaryKeyConstraint(
            "source_type", "source_id", "destination_type", "destination_id", name="inputs_pk"
        ),
        UniqueConstraint("input_uuid", name="inputs_input_uuid_key"),
        Index("index_inputs_destination", "destination_id", "destination_type"),
        TABLE_OPTIONS,
    )

    input_uuid: Mapped[str] = mapped_column(String(36), nullable=False)
    source_type: Mapped[str] = mapped_column(String(36))
    source_id: Mapped[str] = mapped_column(String(36))
    destination_type: Mapped[str] = mapped_column(String(36))
    destination_id: Mapped[str] = mapped_column(String(36))
    step: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class SqlInputTag(Base):
    __tablename__ = "input_tags"
    __table_args__ = (
        PrimaryKeyConstraint("input_uuid", "name", name="input_tags_pk"),
        TABLE_OPTIONS,
    )

    input_uuid: Mapped[str] = mapped_column(ForeignKey("inputs.input_uuid"))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(500), nullable=False)


class SqlLoggedModel(Base):
    """An MLflow 3 logged model. ``status`` holds the LoggedModelStatus number."""

    __tablename__ = "logged_models"
    __table_args__ = (
        PrimaryKeyConstraint("model_id", name="logged_models_pk"),
        Index(
            "index_logged_models_experiment_id_creation",
            "experiment_id",
            "creation_timestamp_ms",
        ),
        TABLE_OPTIONS,
    )

    model_id: Mapped[str] = mapped_column(String(36))
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(500), nullable=False)
    artifact_location: Mapped[str] = mapped_column(String(2048), nullable=False)
    creation_timestamp_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_updated_timestamp_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[int] = mapped_column(Integer, nullable=False)
    lifecycle_stage: Mapped[str] = mapped_column(String(32), nullable=False)
    model_type: Mapped[str | None] = mapped_column(String(500))
    source_run_id: Mapped[str | None] = mapped_column(String(32))
    status_message: Mapped[str | None] = mapped_column(String(1000))


class SqlLoggedModelMetric(Base):
    """Every metric point logged against a model; ``metric_value`` NULL means NaN."""

    __tablename__ = "logged_model_metrics"
    __table_args__ = (
        PrimaryKeyConstraint(
            "model_id",
            "metric_name",
            "metric_timestamp_ms",
            "metric_step",
            "run_id",
            name="logged_model_metrics_pk",
        ),
        TABLE_OPTIONS,
    )

    model_id: Mapped[str] = mapped_column(ForeignKey("logged_models.model_id", ondelete="CASCADE"))
    metric_name: Mapped[str] = mapped_column(String(500))
    metric_timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    metric_step: Mapped[int] = mapped_column(BigInteger)
    metric_value: Mapped[float | None] = mapped_column(Double)
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.experiment_id"), nullable=False
    )
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_uuid", ondelete="CASCADE"))
    dataset_uuid: Mapped[str | None] = mapped_column(String(36))
    dataset_name: Mapped[str | None] = mapped_column(String(500))
    dataset_digest: Mapped[str | None] = mapped_column(String(36))


class SqlLoggedModelParam(Base):
    __tablename__ = "logged_model_params"
    __table_args__ = (
        PrimaryKeyConstraint("model_id", "param_key", name="logged_model_params_pk"),
        TABLE_OPTIONS,
    )

    model_id: Mapped[str] = mapped_column(ForeignKey("logged_models.model_id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.experiment_id"), nullable=False
    )
    param_key: Mapped[str] = mapped_column(String(255))
    param_value: Mapped[str] = mapped_column(Text, nullable=False)


class SqlLoggedModelTag(Base):
    __tablename__ = "logged_model_tags"
    __table_args__ = (
        PrimaryKeyConstraint("model_id", "tag_key", name="logged_model_tags_pk"),
        TABLE_OPTIONS,
    )

    model_id: Mapped[str] = mapped_column(ForeignKey("logged_models.model_id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.experiment_id"), nullable=False
    )
    tag_key: Mapped[str] = mapped_column(String(255))
    tag_value: Mapped[str] = mapped_column(Text, nullable=False)


# -- model registry (migration 0003) ---------------------------------------------------------
# Foreign keys cascade on update and delete: renaming or deleting a registered model moves
# or removes its versions, tags and aliases (the store also does it by hand for SQLite,
# which enforces no foreign keys).

_REGISTRY_FK = {"onupdate": "CASCADE", "ondelete": "CASCADE"}


class SqlRegisteredModel(Base):
    __tablename__ = "registered_models"
    __table_args__ = (PrimaryKeyConstraint("name", name="registered_model_pk"), TABLE_OPTIONS)

    name: Mapped[str] = mapped_column(String(256))
    creation_time: Mapped[int | None] = mapped_column(BigInteger)
    last_updated_time: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)


class SqlRegisteredModelTag(Base):
    __tablename__ = "registered_model_tags"
    __table_args__ = (
        PrimaryKeyConstraint("name", "key", name="registered_model_tag_pk"),
        ForeignKeyConstraint(
            ["name"],
            ["registered_models.name"],
            name="registered_model_tags_name_fk",
            **_REGISTRY_FK,
        ),
        TABLE_OPTIONS,
    )

    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(256))


class SqlModelVersion(Base):
    """A version; a deleted one stays as a tombstone (stage Deleted_Internal) so that its
    number is never given out again."""

    __tablename__ = "model_versions"
    __table_args__ = (
        PrimaryKeyConstraint("name", "version", name="model_version_pk"),
        ForeignKeyConstraint(
            ["name"], ["registered_models.name"], name="model_versions_name_fk", **_REGISTRY_FK
        ),
        Index("index_model_versions_run_id", "run_id"),
        Index("index_model_versions_model_id", "model_id"),
        TABLE_OPTIONS,
    )

    name: Mapped[str] = mapped_column(String(256))
    version: Mapped[int] = mapped_column(Integer, autoincrement=False)
    creation_time: Mapped[int | None] = mapped_column(BigInteger)
    last_updated_time: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(String(256))
    current_stage: Mapped[str] = mapped_column(String(20), nullable=False)
    source: Mapped[str | None] = mapped_column(Text)
    storage_location: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(32))
    run_link: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    status_message: Mapped[str | None] = mapped_column(String(500))
    model_id: Mapped[str | None] = mapped_column(String(36))


class SqlModelVersionTag(Base):
    __tablename__ = "model_version_tags"
    __table_args__ = (
        PrimaryKeyConstraint("name", "version", "key", name="model_version_tag_pk"),
        ForeignKeyConstraint(
            ["name", "version"],
            ["model_versions.name", "model_versions.version"],
            name="model_version_tags_version_fk",
            **_REGISTRY_FK,
        ),
        TABLE_OPTIONS,
    )

    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(256))
    version: Mapped[int] = mapped_column(Integer, autoincrement=False)


class SqlRegisteredModelAlias(Base):
    __tablename__ = "registered_model_aliases"
    __table_args__ = (
        PrimaryKeyConstraint("name", "alias", name="registered_model_alias_pk"),
        ForeignKeyConstraint(
            ["name"],
            ["registered_models.name"],
            name="registered_model_aliases_name_fk",
            **_REGISTRY_FK,
        ),
        TABLE_OPTIONS,
    )

    alias: Mapped[str] = mapped_column(String(256))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(256))


# The Core tables behind the models: queries are built on these (see store.py for why).
experiments: Table = SqlExperiment.__table__  # type: ignore[assignment]
experiment_tags: Table = SqlExperimentTag.__table__  # type: ignore[assignment]
runs: Table = SqlRun.__table__  # type: ignore[assignment]
metrics: Table = SqlMetric.__table__  # type: ignore[assignment]
latest_metrics: Table = SqlLatestMetric.__table__  # type: ignore[assignment]
params: Table = SqlParam.__table__  # type: ignore[assignment]
tags: Table = SqlTag.__table__  # type: ignore[assignment]
datasets: Table = SqlDataset.__table__  # type: ignore[assignment]
inputs: Table = SqlInput.__table__  # type: ignore[assignment]
input_tags: Table = SqlInputTag.__table__  # type: ignore[assignment]
logged_models: Table = SqlLoggedModel.__table__  # type: ignore[assignment]
logged_model_metrics: Table = SqlLoggedModelMetric.__table__  # type: ignore[assignment]
logged_model_params: Table = SqlLoggedModelParam.__table__  # type: ignore[assignment]
logged_model_tags: Table = SqlLoggedModelTag.__table__  # type: ignore[assignment]
registered_models: Table = SqlRegisteredModel.__table__  # type: ignore[assignment]
registered_model_tags: Table = SqlRegisteredModelTag.__table__  # type: ignore[assignment]
model_versions: Table = SqlModelVersion.__table__  # type: ignore[assignment]
model_version_tags: Table = SqlModelVersionTag.__table__  # type: ignore[assignment]
registered_model_aliases: Table = SqlRegisteredModelAlias.__table__  # type: ignore[assignment]

# Children first: the order in which tables can be emptied without breaking foreign keys.
TABLES_CHILDREN_FIRST = (
    registered_model_aliases,
    model_version_tags,
    model_versions,
    registered_model_tags,
    registered_models,
    logged_model_tags,
    logged_model_params,
    logged_model_metrics,
    logged_models,
    input_tags,
    inputs,
    datasets,
    latest_metrics,
    metrics,
    params,
    tags,
    runs,
    experiment_tags,
    experiments,
)
