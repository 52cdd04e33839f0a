"""The conformance kit for logged models (MLflow 3): ``LoggedModelStoreContract``.

A tracking store that stores logged models proves it with these tests, next to
``TrackingStoreContract``. Subclass the contract in your plugin's tests and provide the same
``store`` fixture (a fresh, empty store whose default artifact root is a temporary
directory)::

    import pytest
    from trackline.testing.logged_models import LoggedModelStoreContract

    class TestMyStoreLoggedModels(LoggedModelStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            s = MyStore("mystore://test", str(tmp_path / "artifacts"))
            yield s
            s.close()

A store that does not store logged models leaves the ``AbstractTrackingStore`` defaults,
which answer NOT_IMPLEMENTED, and does not run this contract.

The rules come from MLflow 3's documented behaviour: ids are ``m-<uuid4 hex>``; a model is
created PENDING and finalized READY or FAILED; its artifacts live under
``<experiment artifact location>/models/<model id>/artifacts``; deleting is soft; params are
immutable like run params; metrics logged with a ``model_id`` belong to the model too; runs
list the models they produced in ``Run.outputs.model_outputs``.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Iterator, Sequence

import pytest

from trackline.entities import (
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Param,
    RunTag,
)
from trackline.exceptions import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
)
from trackline.store.tracking import AbstractTrackingStore
from trackline.testing.tracking import Expectations, collect_pages, now_ms, raises_code, unique

MODEL_ID_RE = re.compile(r"^m-[0-9a-f]{32}$")
UNKNOWN_MODEL_ID = "m-" + "0" * 32


class LoggedModelStoreContract:
    """Behavioural tests for the logged-model methods of an ``AbstractTrackingStore``."""

    @pytest.fixture
    def store(self) -> Iterator[AbstractTrackingStore]:
        raise NotImplementedError(
            "Provide a 'store' fixture yielding a fresh, empty AbstractTrackingStore."
        )

    # -- helpers ---------------------------------------------------------------------------

    def new_experiment(self, store: AbstractTrackingStore) -> str:
        return store.create_experiment(unique("lm"))

    def new_run_id(self, store: AbstractTrackingStore, experiment_id: str) -> str:
        return store.create_run(experiment_id, "tester", now_ms(), [], None).info.run_id

    def new_model(
        self, store: AbstractTrackingStore, experiment_id: str | None = None, **kwargs: object
    ) -> LoggedModel:
        exp_id = experiment_id if experiment_id is not None else self.new_experiment(store)
        return store.create_logged_model(exp_id, **kwargs)  # type: ignore[arg-type]

    def search_names(
        self, store: AbstractTrackingStore, experiment_id: str, **kwargs: object
    ) -> list[str]:
        page = store.search_logged_models([experiment_id], max_results=1000, **kwargs)  # type: ignore[arg-type]
        return [m.name for m in page]

    # ======================================================================================
    # Create and get
    # ======================================================================================

    def test_create_logged_model_fields(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        run_id = self.new_run_id(store, exp_id)
        before = now_ms()
        model = store.create_logged_model(
            exp_id,
            name="my-model",
            source_run_id=run_id,
            tags={"team": "vision"},
            params={"alpha": "0.5"},
            model_type="classifier",
        )
        after = now_ms()
        assert MODEL_ID_RE.match(model.model_id), model.model_id
        assert model.experiment_id == exp_id
        assert model.name == "my-model"
        assert model.status == LoggedModelStatus.PENDING
        assert model.model_type == "classifier"
        assert model.source_run_id == run_id
        assert model.tags == {"team": "vision"}
        assert model.params == {"alpha": "0.5"}
        assert model.metrics == []
        assert before <= model.creation_timestamp <= after
        assert model.last_updated_timestamp >= model.creation_timestamp
        assert model.model_uri == f"models:/{model.model_id}"

    def test_artifact_location_is_under_the_experiment(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        location = store.get_experiment(exp_id).artifact_location.rstrip("/")
        model = store.create_logged_model(exp_id, name="m")
        assert model.artifact_location == f"{location}/models/{model.model_id}/artifacts"

    def test_created_model_equals_fetched_model(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store, name="same", tags={"a": "1"}, params={"p": "2"})
        assert store.get_logged_model(model.model_id) == model

    def test_model_ids_are_unique(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        ids = {store.create_logged_model(exp_id).model_id for _ in range(5)}
        assert len(ids) == 5

    def test_missing_name_is_generated(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store)
        assert isinstance(model.name, str) and model.name

    def test_params_and_tags_accept_entity_lists(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store, tags=[RunTag("t", "v")], params=[Param("p", "1")])
        assert model.tags == {"t": "v"} and model.params == {"p": "1"}

    def test_create_in_unknown_experiment(self, store: AbstractTrackingStore) -> None:
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            store.create_logged_model("987654")

    def test_create_in_deleted_experiment_rejected(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        store.delete_experiment(exp_id)
        with raises_code(INVALID_PARAMETER_VALUE):
            store.create_logged_model(exp_id, name="m")

    def test_create_with_invalid_keys_rejected(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        checks = Expectations()
        for label, kwargs in (
            ("tag", {"tags": {"bad!key": "v"}}),
            ("param", {"params": {"a/../b": "v"}}),
            ("name", {"name": "n" * 501}),
        ):
            with checks.case(label), raises_code(INVALID_PARAMETER_VALUE):
                store.create_logged_model(exp_id, **kwargs)  # type: ignore[arg-type]
        checks.verify()
        assert store.search_logged_models([exp_id]) == []

    def test_get_unknown_model(self, store: AbstractTrackingStore) -> None:
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            store.get_logged_model(UNKNOWN_MODEL_ID)

    # ======================================================================================
    # Finalize and delete
    # ======================================================================================

    def test_finalize_ready(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store)
        done = store.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
        assert done.status == LoggedModelStatus.READY
        assert done.last_updated_timestamp >= model.last_updated_timestamp
        assert store.get_logged_model(model.model_id).status == LoggedModelStatus.READY

    def test_finalize_failed_by_any_name(self, store: AbstractTrackingStore) -> None:
        for status in ("FAILED", "LOGGED_MODEL_UPLOAD_FAILED", LoggedModelStatus.FAILED):
            model = self.new_model(store)
            done = store.finalize_logged_model(model.model_id, status)  # type: ignore[arg-type]
            assert done.status == LoggedModelStatus.UPLOAD_FAILED, status

    def test_finalize_bad_status_rejected(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store)
        checks = Expectations()
        for status in ("PENDING", "bogus", "", 7):
            with checks.case(repr(status)), raises_code(INVALID_PARAMETER_VALUE):
                store.finalize_logged_model(model.model_id, status)  # type: ignore[arg-type]
        checks.verify()
        assert store.get_logged_model(model.model_id).status == LoggedModelStatus.PENDING

    def test_finalize_unknown_model(self, store: AbstractTrackingStore) -> None:
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            store.finalize_logged_model(UNKNOWN_MODEL_ID, LoggedModelStatus.READY)

    def test_delete_is_soft(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store, name="gone")
        store.delete_logged_model(model.model_id)
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            store.get_logged_model(model.model_id)
        assert store.get_logged_model(model.model_id, allow_deleted=True).name == "gone"
        assert store.search_logged_models([model.experiment_id]) == []

    def test_delete_unknown_model(self, store: AbstractTrackingStore) -> None:
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            store.delete_logged_model(UNKNOWN_MODEL_ID)

    def test_writes_to_deleted_model_rejected(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store)
        store.delete_logged_model(model.model_id)
        checks = Expectations()
        for label, write in (
            ("tags", lambda: store.set_logged_model_tags(model.model_id, {"a": "b"})),
            ("params", lambda: store.log_logged_model_params(model.model_id, {"a": "b"})),
            ("finalize", lambda: store.finalize_logged_model(model.model_id, "READY")),
        ):
            with checks.case(label), raises_code(RESOURCE_DOES_NOT_EXIST):
                write()
        checks.verify()

    # ======================================================================================
    # Tags and params
    # ======================================================================================

    def test_set_tags_adds_and_overwrites(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store, tags={"a": "1"})
        store.set_logged_model_tags(model.model_id, {"a": "2", "b": "3"})
        assert store.get_logged_model(model.model_id).tags == {"a": "2", "b": "3"}

    def test_delete_tag(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store, tags={"a": "1", "b": "2"})
        store.delete_logged_model_tag(model.model_id, "a")
        assert store.get_logged_model(model.model_id).tags == {"b": "2"}

    def test_delete_missing_tag(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store)
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            store.delete_logged_model_tag(model.model_id, "nope")

    def test_invalid_tag_key_rejected(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store, tags={"keep": "1"})
        with raises_code(INVALID_PARAMETER_VALUE):
            store.set_logged_model_tags(model.model_id, {"ok": "1", "bad!": "2"})
        assert store.get_logged_model(model.model_id).tags == {"keep": "1"}

    def test_tags_of_unknown_model(self, store: AbstractTrackingStore) -> None:
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            store.set_logged_model_tags(UNKNOWN_MODEL_ID, {"a": "b"})

    def test_log_params(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store, params={"a": "1"})
        store.log_logged_model_params(model.model_id, {"b": "2"})
        store.log_model_params(model.model_id, [Param("c", "3")])
        assert store.get_logged_model(model.model_id).params == {"a": "1", "b": "2", "c": "3"}

    def test_relogging_param_with_same_value_is_a_no_op(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store, params={"a": "1"})
        store.log_logged_model_params(model.model_id, {"a": "1"})
        assert store.get_logged_model(model.model_id).params == {"a": "1"}

    def test_changing_param_value_rejected(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store, params={"a": "1"})
        with raises_code(INVALID_PARAMETER_VALUE):
            store.log_logged_model_params(model.model_id, {"a": "2", "b": "3"})
        assert store.get_logged_model(model.model_id).params == {"a": "1"}

    def test_invalid_param_key_rejected(self, store: AbstractTrackingStore) -> None:
        model = self.new_model(store)
        with raises_code(INVALID_PARAMETER_VALUE):
            store.log_logged_model_params(model.model_id, {"../x": "1"})

    # ======================================================================================
    # Metrics and run links
    # ======================================================================================

    def test_metrics_logged_with_model_id_attach_to_the_model(
        self, store: AbstractTrackingStore
    ) -> None:
        exp_id = self.new_experiment(store)
        run_id = self.new_run_id(store, exp_id)
        model = store.create_logged_model(exp_id, source_run_id=run_id)
        store.log_batch(
            run_id,
            metrics=[
                Metric("acc", 0.5, 1000, 0, model_id=model.model_id),
                Metric("acc", 0.7, 2000, 1, model_id=model.model_id),
                Metric("loss", math.nan, 3000, 0, model_id=model.model_id),
                Metric("run_only", 1.0, 3000, 0),
            ],
        )
        points = sorted(
            (m.key, m.step, m.timestamp, m.run_id, m.model_id)
            for m in store.get_logged_model(model.model_id).metrics
        )
        assert points == [
            ("acc", 0, 1000, run_id, model.model_id),
            ("acc", 1, 2000, run_id, model.model_id),
            ("loss", 0, 3000, run_id, model.model_id),
        ]
        loss = [m for m in store.get_logged_model(model.model_id).metrics if m.key == "loss"]
        assert math.isnan(loss[0].value)
        # The points are run metrics as well.
        run_metrics = store.get_run(run_id).data.metrics
        assert run_metrics["acc"] == 0.7 and run_metrics["run_only"] == 1.0
        assert math.isnan(run_metrics["loss"])
        assert [m.value for m in store.get_metric_history(run_id, "acc")] == [0.5, 0.7]

    def test_metric_dataset_is_kept(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        run_id = self.new_run_id(store, exp_id)
        model = store.create_logged_model(exp_id)
        store.log_metric(
            run_id,
            Metric("acc", 0.9, 1000, 0, "eval", "d1g3st", model.model_id),
        )
        (point,) = store.get_logged_model(model.model_id).metrics
        assert (point.dataset_name, point.dataset_digest) == ("eval", "d1g3st")

    def test_metric_for_unknown_model_writes_nothing(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        run_id = self.new_run_id(store, exp_id)
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            store.log_batch(
                run_id, metrics=[Metric("acc", 1.0, 1000, 0, model_id=UNKNOWN_MODEL_ID)]
            )
        assert store.get_run(run_id).data.metrics == {}

    def test_log_outputs_shows_in_run_outputs(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        run_id = self.new_run_id(store, exp_id)
        first = store.create_logged_model(exp_id, source_run_id=run_id)
        second = store.create_logged_model(exp_id, source_run_id=run_id)
        store.log_outputs(run_id, [LoggedModelOutput(first.model_id, 0)])
        store.log_outputs(run_id, [LoggedModelOutput(second.model_id, 5)])
        store.log_outputs(run_id, [LoggedModelOutput(first.model_id, 0)])  # again: no duplicate
        outputs = store.get_run(run_id).outputs.model_outputs
        assert sorted((o.model_id, o.step) for o in outputs) == sorted(
            [(first.model_id, 0), (second.model_id, 5)]
        )
        found = store.search_runs([exp_id])[0].outputs.model_outputs
        assert sorted(o.model_id for o in found) == sorted([first.model_id, second.model_id])

    def test_run_without_outputs_has_none(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        run_id = self.new_run_id(store, exp_id)
        assert store.get_run(run_id).outputs.model_outputs == ()

    def test_log_outputs_unknown_model_or_run(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        run_id = self.new_run_id(store, exp_id)
        model = store.create_logged_model(exp_id)
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            store.log_outputs(run_id, [LoggedModelOutput(UNKNOWN_MODEL_ID, 0)])
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            store.log_outputs(uuid.uuid4().hex, [LoggedModelOutput(model.model_id, 0)])
        assert store.get_run(run_id).outputs.model_outputs == ()

    def test_model_inputs_show_in_run_inputs(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        run_id = self.new_run_id(store, exp_id)
        model = store.create_logged_model(exp_id)
        store.log_model_inputs(run_id, [LoggedModelInput(model.model_id)])
        assert store.get_run(run_id).inputs.model_inputs == (LoggedModelInput(model.model_id),)

    # ======================================================================================
    # Search
    # ======================================================================================

    def _population(self, store: AbstractTrackingStore) -> str:
        """Three models with known metrics, params, tags and statuses; returns the experiment."""
        exp_id = self.new_experiment(store)
        run_id = self.new_run_id(store, exp_id)
        specs = (
            ("alpha", 0.9, {"depth": "3"}, {"stage": "prod"}, "READY"),
            ("beta", 0.5, {"depth": "5"}, {"stage": "dev"}, None),
            ("gamma", None, {}, {"stage": "Prod"}, "FAILED"),
        )
        for name, acc, params, tags, status in specs:
            model = store.create_logged_model(
                exp_id, name=name, params=params, tags=tags, source_run_id=run_id
            )
            if acc is not None:
                store.log_metric(run_id, Metric("acc", acc, now_ms(), 0, model_id=model.model_id))
            if status:
                store.finalize_logged_model(model.model_id, status)  # type: ignore[arg-type]
            time.sleep(0.002)  # distinct creation times for the default order
        return exp_id

    def test_search_default_order_is_newest_first(self, store: AbstractTrackingStore) -> None:
        exp_id = self._population(store)
        assert self.search_names(store, exp_id) == ["gamma", "beta", "alpha"]

    def test_search_is_scoped_to_experiments(self, store: AbstractTrackingStore) -> None:
        exp_id = self._population(store)
        other = self.new_experiment(store)
        store.create_logged_model(other, name="elsewhere")
        assert "elsewhere" not in self.search_names(store, exp_id)
        both = store.search_logged_models([exp_id, other], max_results=100)
        assert len(both) == 4
        assert store.search_logged_models([]) == []

    def test_search_filters(self, store: AbstractTrackingStore) -> None:
        exp_id = self._population(store)
        cases = {
            "name = 'alpha'": ["alpha"],
            "name LIKE '%a'": ["gamma", "beta", "alpha"],
            "name ILIKE 'BE%'": ["beta"],
            "name != 'alpha'": ["gamma", "beta"],
            "metrics.acc > 0.6": ["alpha"],
            "metrics.acc <= 0.9": ["beta", "alpha"],
            "params.depth = '5'": ["beta"],
            "tags.stage = 'prod'": ["alpha"],
            "tags.stage ILIKE 'prod'": ["gamma", "alpha"],
            "status = 'READY'": ["alpha"],
            "status = 'PENDING'": ["beta"],
            "status = 'FAILED'": ["gamma"],
            "creation_timestamp > 0": ["gamma", "beta", "alpha"],
            "creation_time > 0 AND metrics.acc < 0.6": ["beta"],
        }
        checks = Expectations()
        for filter_string, expected in cases.items():
            with checks.case(filter_string):
                got = self.search_names(store, exp_id, filter_string=filter_string)
                assert got == expected, got
        checks.verify()

    def test_search_by_model_id_and_source_run(self, store: AbstractTrackingStore) -> None:
        exp_id = self._population(store)
        model = store.search_logged_models([exp_id], filter_string="name = 'beta'")[0]
        by_id = store.search_logged_models([exp_id], filter_string=f"model_id = '{model.model_id}'")
        assert [m.name for m in by_id] == ["beta"]
        by_run = store.search_logged_models(
            [exp_id], filter_string=f"source_run_id = '{model.source_run_id}'"
        )
        assert len(by_run) == 3

    def test_search_malformed_filter_rejected(self, store: AbstractTrackingStore) -> None:
        exp_id = self._population(store)
        checks = Expectations()
        for bad in (
            "name =",
            "metrics.acc > 'high'",
            "unknown_attr = 'x'",
            "status = 'SLEEPING'",
            "datasets.name = 'x'",
        ):
            with checks.case(bad), raises_code(INVALID_PARAMETER_VALUE):
                store.search_logged_models([exp_id], filter_string=bad)
        checks.verify()

    def test_search_order_by_metric(self, store: AbstractTrackingStore) -> None:
        exp_id = self._population(store)
        desc = [{"field_name": "metrics.acc", "ascending": False}]
        asc = [{"field_name": "metrics.acc", "ascending": True}]
        # Models without the metric come last in both directions.
        assert self.search_names(store, exp_id, order_by=desc) == ["alpha", "beta", "gamma"]
        assert self.search_names(store, exp_id, order_by=asc) == ["beta", "alpha", "gamma"]

    def test_search_order_by_attributes_params_tags(self, store: AbstractTrackingStore) -> None:
        exp_id = self._population(store)
        checks = Expectations()
        for order_by, expected in (
            ([{"field_name": "name"}], ["alpha", "beta", "gamma"]),
            ([{"field_name": "name", "ascending": False}], ["gamma", "beta", "alpha"]),
            ([{"field_name": "creation_timestamp"}], ["alpha", "beta", "gamma"]),
            ([{"field_name": "params.depth", "ascending": False}], ["beta", "alpha", "gamma"]),
            ([{"field_name": "tags.stage"}], ["gamma", "beta", "alpha"]),
        ):
            with checks.case(repr(order_by)):
                got = self.search_names(store, exp_id, order_by=order_by)
                assert got == expected, got
        checks.verify()

    def test_search_invalid_order_by_rejected(self, store: AbstractTrackingStore) -> None:
        exp_id = self._population(store)
        checks = Expectations()
        for bad in (
            [{"field_name": "nonsense"}],
            [{"ascending": True}],
            [{"field_name": "name", "ascending": "yes"}],
            [{"field_name": "name", "dataset_name": "eval"}],
        ):
            with checks.case(repr(bad)), raises_code(INVALID_PARAMETER_VALUE):
                store.search_logged_models([exp_id], order_by=bad)
        checks.verify()

    def test_search_paging(self, store: AbstractTrackingStore) -> None:
        exp_id = self._population(store)
        pages = collect_pages(
            lambda token: store.search_logged_models([exp_id], max_results=2, page_token=token)
        )
        assert [len(p) for p in pages] == [2, 1]
        assert [m.name for page in pages for m in page] == ["gamma", "beta", "alpha"]

    def test_search_invalid_max_results_and_token(self, store: AbstractTrackingStore) -> None:
        exp_id = self._population(store)
        checks = Expectations()
        for label, kwargs in (
            ("zero", {"max_results": 0}),
            ("negative", {"max_results": -1}),
            ("token", {"page_token": "not-a-token"}),
        ):
            with checks.case(label), raises_code(INVALID_PARAMETER_VALUE):
                store.search_logged_models([exp_id], **kwargs)  # type: ignore[arg-type]
        checks.verify()

    def test_search_metric_filter_scoped_to_datasets(self, store: AbstractTrackingStore) -> None:
        exp_id = self.new_experiment(store)
        run_id = self.new_run_id(store, exp_id)
        models = {}
        for name, train, test in (("a", 0.9, 0.4), ("b", 0.3, 0.8)):
            model = store.create_logged_model(exp_id, name=name)
            models[name] = model
            for dataset, value in (("train", train), ("test", test)):
                store.log_metric(
                    run_id, Metric("acc", value, now_ms(), 0, dataset, "dg", model.model_id)
                )
        on_test = self.search_names(
            store, exp_id, filter_string="metrics.acc > 0.5", datasets=[{"dataset_name": "test"}]
        )
        on_train = self.search_names(
            store,
            exp_id,
            filter_string="metrics.acc > 0.5",
            datasets=[{"dataset_name": "train", "dataset_digest": "dg"}],
        )
        assert on_test == ["b"]
        assert on_train == ["a"]
        ordered = self.search_names(
            store,
            exp_id,
            order_by=[{"field_name": "metrics.acc", "ascending": False, "dataset_name": "test"}],
        )
        assert ordered == ["b", "a"]
        with raises_code(INVALID_PARAMETER_VALUE):
            store.search_logged_models([exp_id], datasets=[{"dataset_digest": "dg"}])


def model_ids(models: Sequence[LoggedModel]) -> list[str]:
    return [m.model_id for m in models]
