"""The model registry: registered models, versions, their tags, and aliases.

Revision ID: 0003_model_registry
Revises: 0002_logged_models
Create Date: 2026-11-26

Table and column names are MLflow's. Differences, and why: no ``workspace`` column (trackline
has no workspaces); ``source``, ``storage_location`` and descriptions are TEXT, because a
model's location is an artifact URI and those may be longer than MLflow's VARCHAR(500);
foreign keys cascade on update and delete, so a rename or delete moves every child row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_model_registry"
down_revision = "0002_logged_models"
branch_labels = None
depends_on = None

_MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
_CASCADE = {"onupdate": "CASCADE", "ondelete": "CASCADE"}


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=True),
        sa.Column("last_updated_time", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="registered_model_pk"),
        **_MYSQL,
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("name", "key", name="registered_model_tag_pk"),
        sa.ForeignKeyConstraint(
            ["name"], ["registered_models.name"], name="registered_model_tags_name_fk", **_CASCADE
        ),
        **_MYSQL,
    )
    op.create_table(
        "model_versions",
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=True),
        sa.Column("last_updated_time", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("user_id", sa.String(256), nullable=True),
        sa.Column("current_stage", sa.String(20), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("storage_location", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("run_link", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_message", sa.String(500), nullable=True),
        sa.Column("model_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("name", "version", name="model_version_pk"),
        sa.ForeignKeyConstraint(
            ["name"], ["registered_models.name"], name="model_versions_name_fk", **_CASCADE
        ),
        **_MYSQL,
    )
    op.create_index("index_model_versions_run_id", "model_versions", ["run_id"])
    op.create_index("index_model_versions_model_id", "model_versions", ["model_id"])
    op.create_table(
        "model_version_tags",
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", "key", name="model_version_tag_pk"),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["model_versions.name", "model_versions.version"],
            name="model_version_tags_version_fk",
            **_CASCADE,
        ),
        **_MYSQL,
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("alias", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("name", "alias", name="registered_model_alias_pk"),
        sa.ForeignKeyConstraint(
            ["name"],
            ["registered_models.name"],
            name="registered_model_aliases_name_fk",
            **_CASCADE,
        ),
        **_MYSQL,
    )


def downgrade() -> None:
    op.drop_table("registered_model_aliases")
    op.drop_table("model_version_tags")
    op.drop_index("index_model_versions_model_id", table_name="model_versions")
    op.drop_index("index_model_versions_run_id", table_name="model_versions")
    op.drop_table("model_versions")
    op.drop_table("registered_model_tags")
    op.drop_table("registered_models")
