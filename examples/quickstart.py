"""The quick-start from the README: log a run on the embedded default and find it again.

Run it from any directory; it writes trackline.db and mlruns/ in the working directory.
"""

import os
import tempfile

import trackline as mlflow

card = os.path.join(tempfile.mkdtemp(), "model_card.md")
with open(card, "w") as f:
    f.write("# Fraud model\nA gradient-boosted baseline.\n")

mlflow.set_experiment("fraud-detection")
with mlflow.start_run(run_name="baseline") as run:
    mlflow.log_params({"lr": 0.01, "depth": 6})
    for epoch in range(3):
        mlflow.log_metric("quality", 2 * epoch, step=epoch)
    mlflow.set_tag("team", "risk")
    mlflow.log_artifact(card)
    mlflow.log_dict({"threshold": 0.5}, "config.json")

df = mlflow.search_runs(filter_string="metrics.quality > 1 and params.depth = '6'")
print(df[["run_id", "tags.mlflow.runName", "metrics.quality", "params.depth"]].to_string())
print(f"\ntracking URI: {mlflow.get_tracking_uri()}")
print(f"run {run.info.run_id}: artifacts at {run.info.artifact_uri}")
print(f"try: trackline runs describe --run-id {run.info.run_id}")
