"""trackline-serving: MLflow's scoring server for any model trackline can load as a pyfunc."""
