"""trackline-memory: an in-process tracking store for ``memory://<name>`` URIs.

A worked example of a third-party trackline plugin (see the README). Importing this package
imports nothing but itself; the store is loaded when a ``memory://`` URI is first used.
"""

__version__ = "0.1.0"
