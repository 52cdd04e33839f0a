"""trackline-sql: the SQLAlchemy tracking store.

Kept empty on purpose: the plugin module (``trackline_sql.plugin``) is imported whenever
trackline looks for plugins, and nothing here may pull SQLAlchemy in.
"""

__version__ = "0.1.0"
