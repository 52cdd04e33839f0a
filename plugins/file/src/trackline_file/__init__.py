"""trackline-file: the tracking store on plain files, in MLflow's ``mlruns/`` layout."""

__version__ = "0.1.0"
