"""trackline-fsspec: artifact repositories built on fsspec.

Importing this package costs nothing: the hooks live in ``trackline_fsspec.plugin`` and
the repository (which imports fsspec) in ``trackline_fsspec.repository``.
"""

__version__ = "0.1.0"
