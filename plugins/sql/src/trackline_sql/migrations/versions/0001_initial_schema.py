"""Initial trackline schema: experiments, runs, metrics, params, tags, datasets, inputs.

Revision ID: 0001_initial_schema
Revises:
Create Date: 2025-01-01

Written out in full rather than derived from the models: a migration must keep creating the
same tables when the models change later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001_initial_schema"
down_revision = None
branch_labels = None
depends_on = None

_MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
_LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.String(2048), nullable=True),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=True),
        sa.Column("last_update_time", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("name", name="experiments_name_key"),
        **_MYSQL,
    )
    op.create_table(
        "experiment_tags",
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column(
            "experiment_id",
            sa.Integer(),
            sa.ForeignKey("experiments.experiment_id"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("experiment_id", "key", name="experiment_tag_pk"),
        **_MYSQL,
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(250), nullable=True),
        sa.Column("source_type", sa.String(20), nullable=True),
        sa.Column("source_name", sa.String(500), nullable=True),
        sa.Column("entry_point_name", sa.String(50), nullable=True),
        sa.Column("user_id", sa.String(256), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=True),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("deleted_time", sa.BigInteger(), nullable=True),
        sa.Column("source_version", sa.String(50), nullable=True),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
        sa.Column("artifact_uri", sa.String(2048), nullable=True),
        sa.Column(
            "experiment_id",
            sa.Integer(),
            sa.ForeignKey("experiments.experiment_id"),
            nullable=False,
        ),
        **_MYSQL,
    )
    op.create_index("index_runs_experiment_id_start_time", "runs", ["experiment_id", "start_time"])
    for table, pk_name in (("metrics", "metric_pk"), ("latest_metrics", "latest_metric_pk")):
        pk = (
            ("run_uuid", "key", "step", "timestamp", "value", "is_nan")
            if table == "metrics"
            else ("run_uuid", "key")
        )
        op.create_table(
            table,
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.Double(), nullable=False),
            sa.Column("timestamp", sa.BigInteger(), nullable=False),
            sa.Column("step", sa.BigInteger(), nullable=False),
            sa.Column("is_nan", sa.Boolean(), nullable=False),
            sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid"), nullable=False),
            sa.PrimaryKeyConstraint(*pk, name=pk_name),
            **_MYSQL,
        )
    for table, pk_name, nullable_value in (("params", "param_pk", False), ("tags", "tag_pk", True)):
        op.create_table(
            table,
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.String(8000), nullable=nullable_value),
            sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid"), nullable=False),
            sa.PrimaryKeyConstraint("run_uuid", "key", name=pk_name),
            **_MYSQL,
        )
    op.create_table(
        "datasets",
        sa.Column("dataset_uuid", sa.String(36), nullable=False),
        sa.Column(
            "experiment_id",
            sa.Integer(),
            sa.ForeignKey("experiments.experiment_id"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(36), nullable=False),
        sa.Column("dataset_source_type", sa.String(36), nullable=False),
        sa.Column("dataset_source", _LONG_TEXT, nullable=False),
        sa.Column("dataset_schema", _LONG_TEXT, nullable=True),
        sa.Column("dataset_profile", _LONG_TEXT, nullable=True),
        sa.PrimaryKeyConstraint("experiment_id", "name", "digest", name="dataset_pk"),
        sa.UniqueConstraint("dataset_uuid", name="datasets_dataset_uuid_key"),
        **_MYSQL,
    )
    op.create_table(
        "inputs",
        sa.Column("input_uuid", sa.String(36), nullable=False),
        sa.Column("source_type", sa.String(36), nullable=False),
        sa.Column("source_id", sa.String(36), nullable=False),
        sa.Column("destination_type", sa.String(36), nullable=False),
        sa.Column("destination_id", sa.String(36), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "source_type", "source_id", "destination_type", "destination_id", name="inputs_pk"
        ),
        sa.UniqueConstraint("input_uuid", name="inputs_input_uuid_key"),
        **_MYSQL,
    )
    op.create_index("index_inputs_destination", "inputs", ["destination_id", "destination_type"])
    op.create_table(
        "input_tags",
        sa.Column("input_uuid", sa.String(36), sa.ForeignKey("inputs.input_uuid"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("input_uuid", "name", name="input_tags_pk"),
        **_MYSQL,
    )


def downgrade() -> None:
    for table in (
        "input_tags",
        "inputs",
        "datasets",
        "tags",
        "params",
        "latest_metrics",
        "metrics",
        "runs",
        "experiment_tags",
        "experiments",
    ):
        op.drop_table(table)
