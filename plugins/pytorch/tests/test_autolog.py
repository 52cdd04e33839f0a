"""PyTorch Lightning autologging: a real tiny module trained on CPU, logged into a SQLite store."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import EarlyStopping
from torch.utils.data import DataLoader, TensorDataset
from trackline.testing.autologging import client as _client
from trackline.testing.autologging import only_run as _only_run

pytest_plugins = ["trackline.testing.autologging"]  # the sqlite_tracking fixture


class TinyRegressor(LightningModule):
    def __init__(self, lr: float = 0.1):
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.5)


@pytest.fixture(scope="module")
def loaders():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, generator=generator)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    dataset = TensorDataset(x, y)
    return DataLoader(dataset, batch_size=8), DataLoader(dataset, batch_size=16)


def _trainer(**kwargs):
    return Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


def test_fit_logs_params_epoch_metrics_checkpoint_and_model(sqlite_tracking, loaders):
    trackline = sqlite_tracking
    train, val = loaders
    trackline.pytorch.autolog(log_input_examples=True)
    model = TinyRegressor(lr=0.05)
    trainer = _trainer(max_epochs=3)
    callbacks_before = list(trainer.callbacks)
    trainer.fit(model, train, val)
    assert trainer.callbacks == callbacks_before  # our callback is gone again

    run = _only_run()
    assert run.data.tags["mlflow.autologging"] == "pytorch"
    params = run.data.params
    assert params["epochs"] == "3"
    assert params["lr"] == "0.05"
    assert params["optimizer_name"] == "SGD"
    assert params["momentum"] == "0.5"
    history = _client().get_metric_history(run.info.run_id, "train_loss")
    assert [m.step for m in history] == [0, 1, 2]
    assert history[-1].value == pytest.approx(float(trainer.callback_metrics["train_loss"]))
    assert [m.step for m in _client().get_metric_history(run.info.run_id, "val_loss")] == [0, 1, 2]
    artifacts = {f.path for f in _client().list_artifacts(run.info.run_id)}
    assert "model_summary.txt" in artifacts
    checkpoints = {f.path for f in _client().list_artifacts(run.info.run_id, "checkpoints")}
    assert checkpoints == {
        "checkpoints/latest_checkpoint.pth",
        "checkpoints/latest_checkpoint_metrics.json",
    }

    logged = trackline.last_logged_model()
    assert logged.source_run_id == run.info.run_id
    pyfunc_model = trackline.pyfunc.load_model(f"models:/{logged.model_id}")
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    expected = model(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(
        np.asarray(pyfunc_model.predict(x)).reshape(-1, 1), expected, rtol=1e-5
    )
    assert pyfunc_model.metadata.signature is not None


def test_early_stopping_is_logged(sqlite_tracking, loaders):
    trackline = sqlite_tracking
    train, val = loaders
    trackline.pytorch.autolog(log_models=False, checkpoint=False)
    stopping = EarlyStopping(monitor="val_loss", patience=1, min_delta=100.0)
    trainer = _trainer(max_epochs=20, callbacks=[stopping])
    trainer.fit(TinyRegressor(), train, val)

    run = _only_run()
    assert run.data.params["monitor"] == "val_loss"
    assert run.data.params["patience"] == "1"
    assert run.data.params["mode"] == "min"
    assert run.data.metrics["stopped_epoch"] == stopping.stopped_epoch
    assert stopping.stopped_epoch < 19
    assert "wait_count" in run.data.metrics


def test_log_every_n_step(sqlite_tracking, loaders):
    trackline = sqlite_tracking
    train, _ = loaders

    class StepLogging(TinyRegressor):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            self.log("step_loss", loss, on_step=True, on_epoch=False)
            return loss

    trackline.pytorch.autolog(log_models=False, checkpoint=False, log_every_n_step=2)
    _trainer(max_epochs=1).fit(StepLogging(), train)
    steps = [m.step for m in _client().get_metric_history(_only_run().info.run_id, "step_loss")]
    assert {2, 4} <= set(steps)  # every 2nd batch (the epoch end adds its own point)
    assert 1 not in steps and 3 not in steps


def test_a_failing_training_step_propagates_and_fails_the_run(sqlite_tracking, loaders):
    trackline = sqlite_tracking
    train, _ = loaders

    class Broken(TinyRegressor):
        def training_step(self, batch, batch_idx):
            raise RuntimeError("the user's step broke")

    trackline.pytorch.autolog()
    with pytest.raises(RuntimeError, match="the user's step broke"):
        _trainer(max_epochs=1).fit(Broken(), train)
    assert _only_run().info.status == "FAILED"


def test_bad_options_are_refused(sqlite_tracking):
    from trackline.exceptions import TracklineException

    with pytest.raises(TracklineException, match="log_every_n_epoch must be an integer >= 1"):
        sqlite_tracking.pytorch.autolog(log_every_n_epoch=0)
    with pytest.raises(TracklineException, match="checkpoint_save_freq must be .epoch."):
        sqlite_tracking.pytorch.autolog(checkpoint_save_freq=0)
    with pytest.raises(TracklineException, match="checkpoint_mode must be .min. or .max."):
        sqlite_tracking.pytorch.autolog(checkpoint_mode="best")


def test_best_only_checkpoint_follows_the_monitor(sqlite_tracking, loaders):
    trackline = sqlite_tracking
    train, val = loaders
    trackline.pytorch.autolog(log_models=False, checkpoint_monitor="val_loss")
    trainer = _trainer(max_epochs=3)
    trainer.fit(TinyRegressor(lr=0.05), train, val)
    run = _only_run()
    history = _client().get_metric_history(run.info.run_id, "val_loss")
    best = min(history, key=lambda m: m.value)
    described = json.loads(
        trackline.artifacts.load_text(
            run.info.artifact_uri + "/checkpoints/latest_checkpoint_metrics.json"
        )
    )
    assert described["epoch"] == best.step
    assert described["val_loss"] == pytest.approx(best.value)


def test_a_checkpoint_per_epoch(sqlite_tracking, loaders):
    trackline = sqlite_tracking
    train, val = loaders
    trackline.pytorch.autolog(
        log_models=False, checkpoint_save_best_only=False, checkpoint_save_weights_only=True
    )
    _trainer(max_epochs=2).fit(TinyRegressor(), train, val)
    run = _only_run()
    folders = {f.path for f in _client().list_artifacts(run.info.run_id, "checkpoints")}
    assert folders == {"checkpoints/epoch_0", "checkpoints/epoch_1"}
    files = {f.path for f in _client().list_artifacts(run.info.run_id, "checkpoints/epoch_1")}
    assert files == {
        "checkpoints/epoch_1/checkpoint.pth",
        "checkpoints/epoch_1/checkpoint_metrics.json",
    }
    local = trackline.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="checkpoints/epoch_1/checkpoint.pth"
    )
    state = torch.load(local, weights_only=True)
    assert "state_dict" in state and "optimizer_states" not in state  # weights only
