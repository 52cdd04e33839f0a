"""MLflow 3 logged models: logged_models and their metrics, params and tags.

Revision ID: 0002_logged_models
Revises: 0001_initial_schema
Create Date: 2026-11-26

Table and column names are MLflow's. Run -> model links (LogOutputs, model inputs) need no
table of their own: they are rows of ``inputs`` (source RUN_OUTPUT/RUN_INPUT, destination
MODEL_OUTPUT/MODEL_INPUT), as in MLflow.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_logged_models"
down_revision = "0001_initial_schema"
branch_labels = None
depends_on = None

_MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(36), nullable=False),
        sa.Column(
            "experiment_id",
            sa.Integer(),
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.String(2048), nullable=False),
        sa.Column("creation_timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("model_type", sa.String(500), nullable=True),
        sa.Column("source_run_id", sa.String(32), nullable=True),
        sa.Column("status_message", sa.String(1000), nullable=True),
        sa.PrimaryKeyConstraint("model_id", name="logged_models_pk"),
        **_MYSQL,
    )
    op.create_index(
        "index_logged_models_experiment_id_creation",
        "logged_models",
        ["experiment_id", "creation_timestamp_ms"],
    )
    op.create_table(
        "logged_model_metrics",
        sa.Column(
            "model_id",
            sa.String(36),
            sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("metric_name", sa.String(500), nullable=False),
        sa.Column("metric_timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("metric_step", sa.BigInteger(), nullable=False),
        # NULL stands for NaN (MySQL/MariaDB cannot store NaN in a DOUBLE).
        sa.Column("metric_value", sa.Double(), nullable=True),
        sa.Column(
            "experiment_id",
            sa.Integer(),
            sa.ForeignKey("experiments.experiment_id"),
            nullable=False,
        ),
        sa.Column(
            "run_id",
            sa.String(32),
            sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("dataset_uuid", sa.String(36), nullable=True),
        sa.Column("dataset_name", sa.String(500), nullable=True),
        sa.Column("dataset_digest", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint(
            "model_id",
            "metric_name",
            "metric_timestamp_ms",
            "metric_step",
            "run_id",
            name="logged_model_metrics_pk",
        ),
        **_MYSQL,
    )
    for table, key_column, pk_name in (
        ("logged_model_params", "param_key", "logged_model_params_pk"),
        ("logged_model_tags", "tag_key", "logged_model_tags_pk"),
    ):
        value_column = key_column.replace("_key", "_value")
        op.create_table(
            table,
            sa.Column(
                "model_id",
                sa.String(36),
                sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column(
                "experiment_id",
                sa.Integer(),
                sa.ForeignKey("experiments.experiment_id"),
                nullable=False,
            ),
            sa.Column(key_column, sa.String(255), nullable=False),
            sa.Column(value_column, sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("model_id", key_column, name=pk_name),
            **_MYSQL,
        )


def downgrade() -> None:
    for table in (
        "logged_model_tags",
        "logged_model_params",
        "logged_model_metrics",
        "logged_models",
    ):
        op.drop_table(table)
