"""The ``trackline`` command line: MLflow's command tree on click, extended by plugins.

The root group lives in ``trackline.cli.main``; each core command group has its own module,
imported only when that group is used, so ``trackline --version`` imports nothing but click.
"""
