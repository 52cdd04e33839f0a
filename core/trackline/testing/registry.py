"""The conformance kit for model-registry stores: ``RegistryStoreContract``.

A registry store proves it honours ``trackline.store.registry.AbstractRegistryStore`` (and
MLflow's documented registry behaviour) by running these tests. Subclass the contract in your
plugin's tests and provide one fixture, ``registry_store``, that yields a fresh, empty store::

    import pytest
    from trackline.testing.registry import RegistryStoreContract

    class TestMyRegistry(RegistryStoreContract):
        @pytest.fixture
        def registry_store(self, tmp_path):
            s = MyRegistryStore(f"mystore://{tmp_path}")
            yield s
            s.close()

The tests use only the abstract interface and plain version sources (``s3://…``,
``runs:/<id>/model``), so they need no tracking store and no artifacts. Tests that check many
cheap cases report every failing case at once (see ``trackline.testing.tracking``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from trackline.exceptions import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from trackline.registry.entities import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)
from trackline.store.registry import AbstractRegistryStore
from trackline.testing.tracking import Expectations, collect_pages, raises_code

INVALID_MODEL_NAMES = {
    "empty": "",
    "blank": "   ",
    "slash": "a/b",
    "colon": "a:b",
    "dot": ".",
    "dotdot": "..",
    "too-long": "m" * 257,
}
INVALID_ALIASES = {
    "latest": "latest",
    "latest-upper": "LATEST",
    "version-like": "v3",
    "version-like-upper": "V12",
    "bad-char": "a.b",
    "space": "a b",
    "empty": "",
    "too-long": "a" * 256,
}
INVALID_VERSIONS = {"word": "abc", "float": "1.5", "empty": ""}
# Integers no version can have are not found (404) rather than invalid, as in MLflow.
IMPOSSIBLE_VERSIONS = {"zero": "0", "negative": "-1"}
RUN_ID = "0123456789abcdef0123456789abcdef"


def unique_name(prefix: str = "model") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def source(i: int = 0) -> str:
    return f"s3://bucket/models/{i}"


class RegistryStoreContract:
    """Behavioural tests every ``AbstractRegistryStore`` must pass.

    Subclasses provide the ``registry_store`` fixture; to skip a test your backend cannot
    support, override it in the subclass with ``pytest.mark.skip`` and say why in your README.
    """

    @pytest.fixture
    def registry_store(self) -> Iterator[AbstractRegistryStore]:
        raise NotImplementedError(
            "Provide a 'registry_store' fixture yielding a fresh, empty AbstractRegistryStore."
        )

    # -- helpers ---------------------------------------------------------------------------

    def new_model(self, store: AbstractRegistryStore, prefix: str = "model") -> str:
        return store.create_registered_model(unique_name(prefix)).name

    def new_versions(self, store: AbstractRegistryStore, name: str, count: int) -> list[str]:
        return [store.create_model_version(name, source(i)).version for i in range(count)]

    # ======================================================================================
    # Registered models
    # ======================================================================================

    def test_store_is_an_abstract_registry_store(self, registry_store) -> None:
        assert isinstance(registry_store, AbstractRegistryStore)

    def test_create_registered_model_fields(self, registry_store) -> None:
        before = int(time.time() * 1000) - 1
        model = registry_store.create_registered_model(
            "fraud", [RegisteredModelTag("team", "risk")], "detects fraud"
        )
        assert isinstance(model, RegisteredModel)
        assert model.name == "fraud"
        assert model.description == "detects fraud"
        assert model.tags == {"team": "risk"}
        assert model.latest_versions == [] and model.aliases == {}
        assert model.creation_timestamp >= before
        assert model.last_updated_timestamp >= model.creation_timestamp
        assert registry_store.get_registered_model("fraud") == model

    def test_duplicate_registered_model_rejected(self, registry_store) -> None:
        registry_store.create_registered_model("dup")
        with raises_code(RESOURCE_ALREADY_EXISTS) as info:
            registry_store.create_registered_model("dup")
        assert "dup" in info.value.message

    def test_names_differing_by_case_are_distinct(self, registry_store) -> None:
        registry_store.create_registered_model("Case")
        registry_store.create_registered_model("case")
        assert registry_store.get_registered_model("Case").name == "Case"

    def test_invalid_model_names_rejected(self, registry_store) -> None:
        check = Expectations()
        for label, name in INVALID_MODEL_NAMES.items():
            with check.case(label), raises_code(INVALID_PARAMETER_VALUE):
                registry_store.create_registered_model(name)
        check.verify()
        page = registry_store.search_registered_models(max_results=1000)
        assert list(page) == []

    def test_get_unknown_registered_model(self, registry_store) -> None:
        with raises_code(RESOURCE_DOES_NOT_EXIST) as info:
            registry_store.get_registered_model("nope")
        assert "nope" in info.value.message

    def test_update_registered_model_description(self, registry_store) -> None:
        name = self.new_model(registry_store)
        updated = registry_store.update_registered_model(name, "new text")
        assert updated.description == "new text"
        assert registry_store.get_registered_model(name).description == "new text"
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.update_registered_model("nope", "x")

    def test_rename_moves_versions_tags_and_aliases(self, registry_store) -> None:
        name = self.new_model(registry_store)
        registry_store.set_registered_model_tag(name, RegisteredModelTag("k", "v"))
        versions = self.new_versions(registry_store, name, 2)
        registry_store.set_model_version_tag(name, versions[0], ModelVersionTag("vk", "vv"))
        registry_store.set_registered_model_alias(name, "champion", versions[1])
        renamed = registry_store.rename_registered_model(name, "renamed")
        assert renamed.name == "renamed"
        assert renamed.tags == {"k": "v"} and renamed.aliases == {"champion": versions[1]}
        mv = registry_store.get_model_version("renamed", versions[0])
        assert mv.name == "renamed" and mv.tags == {"vk": "vv"}
        assert registry_store.get_model_version_by_alias("renamed", "champion").version == "2"
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_registered_model(name)
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_model_version(name, "1")
        # The old name is free again.
        assert registry_store.create_registered_model(name).name == name

    def test_rename_errors(self, registry_store) -> None:
        a, b = self.new_model(registry_store), self.new_model(registry_store)
        with raises_code(RESOURCE_ALREADY_EXISTS):
            registry_store.rename_registered_model(a, b)
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.rename_registered_model("nope", "other")
        with raises_code(INVALID_PARAMETER_VALUE):
            registry_store.rename_registered_model(a, "bad/name")
        assert registry_store.get_registered_model(a).name == a

    def test_delete_registered_model_cascades(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 2)
        registry_store.set_registered_model_alias(name, "champion", "1")
        registry_store.delete_registered_model(name)
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_registered_model(name)
        assert list(registry_store.search_model_versions(f"name = '{name}'")) == []
        # Recreated, the model starts again at version 1 with no aliases.
        registry_store.create_registered_model(name)
        assert registry_store.create_model_version(name, source()).version == "1"
        assert registry_store.get_registered_model(name).aliases == {}
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.delete_registered_model("nope")

    def test_registered_model_tags(self, registry_store) -> None:
        name = self.new_model(registry_store)
        registry_store.set_registered_model_tag(name, RegisteredModelTag("a", "1"))
        registry_store.set_registered_model_tag(name, RegisteredModelTag("a", "2"))
        registry_store.set_registered_model_tag(name, RegisteredModelTag("b", "x" * 5000))
        assert registry_store.get_registered_model(name).tags == {"a": "2", "b": "x" * 5000}
        registry_store.delete_registered_model_tag(name, "a")
        assert registry_store.get_registered_model(name).tags == {"b": "x" * 5000}
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.set_registered_model_tag("nope", RegisteredModelTag("a", "1"))
        with raises_code(INVALID_PARAMETER_VALUE):
            registry_store.set_registered_model_tag(name, RegisteredModelTag("bad!key", "1"))
        with raises_code(INVALID_PARAMETER_VALUE):
            registry_store.set_registered_model_tag(name, RegisteredModelTag("k", "v" * 100_001))
        assert registry_store.get_registered_model(name).tags == {"b": "x" * 5000}

    # ======================================================================================
    # Model versions
    # ======================================================================================

    def test_create_model_version_fields(self, registry_store) -> None:
        name = self.new_model(registry_store)
        mv = registry_store.create_model_version(
            name,
            f"runs:/{RUN_ID}/model",
            run_id=RUN_ID,
            tags=[ModelVersionTag("t", "1")],
            run_link="http://example/run",
            description="first",
        )
        assert isinstance(mv, ModelVersion)
        assert (mv.name, mv.version, mv.current_stage, mv.status) == (name, "1", "None", "READY")
        assert mv.source == f"runs:/{RUN_ID}/model" and mv.run_id == RUN_ID
        assert mv.run_link == "http://example/run" and mv.description == "first"
        assert mv.tags == {"t": "1"} and mv.aliases == []
        assert mv.creation_timestamp is not None
        assert registry_store.get_model_version(name, "1") == mv
        assert registry_store.get_model_version(name, 1) == mv

    def test_version_numbers_increase_and_are_never_reused(self, registry_store) -> None:
        name = self.new_model(registry_store)
        assert self.new_versions(registry_store, name, 3) == ["1", "2", "3"]
        registry_store.delete_model_version(name, "3")
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_model_version(name, "3")
        assert registry_store.create_model_version(name, source()).version == "4"

    def test_create_version_of_unknown_model(self, registry_store) -> None:
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.create_model_version("nope", source())

    def test_create_version_invalid_input(self, registry_store) -> None:
        name = self.new_model(registry_store)
        check = Expectations()
        for label, kwargs in {
            "empty-source": {"source": ""},
            "nul-source": {"source": "s3://b/\x00"},
            "bad-tag": {"source": source(), "tags": [ModelVersionTag("bad!", "x")]},
            "bad-run-id": {"source": source(), "run_id": "not a run id!"},
        }.items():
            with check.case(label), raises_code(INVALID_PARAMETER_VALUE):
                registry_store.create_model_version(name, **kwargs)
        check.verify()
        assert list(registry_store.search_model_versions(f"name = '{name}'")) == []

    def test_invalid_versions_rejected(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 1)
        check = Expectations()
        for label, version in INVALID_VERSIONS.items():
            with check.case(label), raises_code(INVALID_PARAMETER_VALUE):
                registry_store.get_model_version(name, version)
        check.verify()

    def test_impossible_versions_are_not_found(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 1)
        check = Expectations()
        for label, version in IMPOSSIBLE_VERSIONS.items():
            with check.case(label), raises_code(RESOURCE_DOES_NOT_EXIST):
                registry_store.get_model_version(name, version)
        check.verify()

    def test_get_unknown_version(self, registry_store) -> None:
        name = self.new_model(registry_store)
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_model_version(name, "7")
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_model_version("nope", "1")

    def test_update_model_version_description(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 1)
        assert registry_store.update_model_version(name, "1", "better").description == "better"
        assert registry_store.get_model_version(name, "1").description == "better"
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.update_model_version(name, "9", "x")

    def test_download_uri_is_the_source(self, registry_store) -> None:
        name = self.new_model(registry_store)
        registry_store.create_model_version(name, "s3://bucket/path/model")
        assert registry_store.get_model_version_download_uri(name, "1") == (
            "s3://bucket/path/model"
        )
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_model_version_download_uri(name, "2")

    def test_version_source_may_name_another_version(self, registry_store) -> None:
        name = self.new_model(registry_store)
        registry_store.create_model_version(name, "s3://bucket/original")
        copy = self.new_model(registry_store, "copy")
        registry_store.create_model_version(copy, f"models:/{name}/1")
        assert registry_store.get_model_version(copy, "1").source == f"models:/{name}/1"
        assert registry_store.get_model_version_download_uri(copy, "1") == "s3://bucket/original"

    def test_model_version_tags(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 2)
        registry_store.set_model_version_tag(name, "1", ModelVersionTag("a", "1"))
        registry_store.set_model_version_tag(name, "1", ModelVersionTag("a", "2"))
        registry_store.set_model_version_tag(name, "2", ModelVersionTag("b", "3"))
        assert registry_store.get_model_version(name, "1").tags == {"a": "2"}
        assert registry_store.get_model_version(name, "2").tags == {"b": "3"}
        registry_store.delete_model_version_tag(name, "1", "a")
        assert registry_store.get_model_version(name, "1").tags == {}
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.set_model_version_tag(name, "5", ModelVersionTag("a", "1"))
        with raises_code(INVALID_PARAMETER_VALUE):
            registry_store.set_model_version_tag(name, "1", ModelVersionTag("../x", "1"))

    def test_deleted_version_disappears_with_its_aliases_and_tags(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 2)
        registry_store.set_registered_model_alias(name, "champion", "1")
        registry_store.set_model_version_tag(name, "1", ModelVersionTag("a", "1"))
        registry_store.delete_model_version(name, "1")
        assert registry_store.get_registered_model(name).aliases == {}
        with raises_code(INVALID_PARAMETER_VALUE):
            registry_store.get_model_version_by_alias(name, "champion")
        versions = registry_store.search_model_versions(f"name = '{name}'")
        assert [v.version for v in versions] == ["2"]
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.delete_model_version(name, "1")

    # ======================================================================================
    # Stages
    # ======================================================================================

    def test_transition_stage_canonicalises_case(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 1)
        for given, expected in (
            ("staging", "Staging"),
            ("PRODUCTION", "Production"),
            ("archived", "Archived"),
            ("none", "None"),
        ):
            mv = registry_store.transition_model_version_stage(name, "1", given, False)
            assert mv.current_stage == expected
            assert registry_store.get_model_version(name, "1").current_stage == expected

    def test_invalid_stage_rejected(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 1)
        with raises_code(INVALID_PARAMETER_VALUE) as info:
            registry_store.transition_model_version_stage(name, "1", "Bogus", False)
        assert info.value.message.startswith("Invalid Model Version stage: Bogus.")
        with raises_code(INVALID_PARAMETER_VALUE):
            registry_store.transition_model_version_stage(name, "1", "Archived", True)
        assert registry_store.get_model_version(name, "1").current_stage == "None"

    def test_archive_existing_versions(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 3)
        registry_store.transition_model_version_stage(name, "1", "Production", False)
        registry_store.transition_model_version_stage(name, "2", "Production", False)
        registry_store.transition_model_version_stage(name, "3", "Production", True)
        stages = {v: registry_store.get_model_version(name, v).current_stage for v in "123"}
        assert stages == {"1": "Archived", "2": "Archived", "3": "Production"}

    def test_latest_versions_per_stage(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 4)
        registry_store.transition_model_version_stage(name, "1", "Production", False)
        registry_store.transition_model_version_stage(name, "2", "Staging", False)
        latest = registry_store.get_registered_model(name).latest_versions
        assert sorted((v.current_stage, v.version) for v in latest) == [
            ("None", "4"),
            ("Production", "1"),
            ("Staging", "2"),
        ]
        prod = registry_store.get_latest_versions(name, ["production"])
        assert [(v.version, v.current_stage) for v in prod] == [("1", "Production")]
        assert {v.version for v in registry_store.get_latest_versions(name)} == {"1", "2", "4"}
        assert registry_store.get_latest_versions(name, ["Archived"]) == []
        with raises_code(INVALID_PARAMETER_VALUE):
            registry_store.get_latest_versions(name, ["Bogus"])
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_latest_versions("nope")

    # ======================================================================================
    # Aliases
    # ======================================================================================

    def test_alias_set_get_move_delete(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 2)
        registry_store.set_registered_model_alias(name, "champion", "1")
        registry_store.set_registered_model_alias(name, "Champion-2", 1)
        mv = registry_store.get_model_version_by_alias(name, "champion")
        assert mv.version == "1" and sorted(mv.aliases) == ["Champion-2", "champion"]
        registry_store.set_registered_model_alias(name, "champion", "2")  # moves it
        assert registry_store.get_model_version_by_alias(name, "champion").version == "2"
        assert registry_store.get_model_version(name, "1").aliases == ["Champion-2"]
        assert registry_store.get_registered_model(name).aliases == {
            "Champion-2": "1",
            "champion": "2",
        }
        registry_store.delete_registered_model_alias(name, "champion")
        with raises_code(INVALID_PARAMETER_VALUE) as info:
            registry_store.get_model_version_by_alias(name, "champion")
        assert "champion" in info.value.message

    def test_invalid_aliases_rejected(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 1)
        check = Expectations()
        for label, alias in INVALID_ALIASES.items():
            with check.case(label), raises_code(INVALID_PARAMETER_VALUE):
                registry_store.set_registered_model_alias(name, alias, "1")
        check.verify()
        assert registry_store.get_registered_model(name).aliases == {}

    def test_alias_to_unknown_version_or_model(self, registry_store) -> None:
        name = self.new_model(registry_store)
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.set_registered_model_alias(name, "champion", "3")
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.set_registered_model_alias("nope", "champion", "1")
        with raises_code(RESOURCE_DOES_NOT_EXIST):
            registry_store.get_model_version_by_alias("nope", "champion")

    # ======================================================================================
    # Search
    # ======================================================================================

    def _population(self, store: AbstractRegistryStore) -> None:
        for name, tags in (
            ("alpha", {"team": "a"}),
            ("Alpha2", {"team": "b"}),
            ("beta", {"team": "a", "tier": "gold"}),
            ("gamma", {}),
        ):
            store.create_registered_model(name, [RegisteredModelTag(k, v) for k, v in tags.items()])

    def test_search_registered_models_filters(self, registry_store) -> None:
        self._population(registry_store)
        cases = {
            "": ["Alpha2", "alpha", "beta", "gamma"],
            "name = 'alpha'": ["alpha"],
            "name != 'alpha'": ["Alpha2", "beta", "gamma"],
            "name LIKE 'alpha%'": ["alpha"],
            "name ILIKE 'alpha%'": ["Alpha2", "alpha"],
            "name IN ('beta', 'gamma')": ["beta", "gamma"],
            "name NOT IN ('beta', 'gamma')": ["Alpha2", "alpha"],
            "tags.team = 'a'": ["alpha", "beta"],
            "tags.team = 'a' AND tags.tier = 'gold'": ["beta"],
            "tags.team LIKE '%'": ["Alpha2", "alpha", "beta"],
        }
        check = Expectations()
        for filter_string, expected in cases.items():
            with check.case(filter_string or "<none>"):
                found = registry_store.search_registered_models(filter_string, max_results=100)
                assert sorted(m.name for m in found) == sorted(expected)
        check.verify()

    def test_search_registered_models_order_and_paging(self, registry_store) -> None:
        self._population(registry_store)
        default = [m.name for m in registry_store.search_registered_models()]
        assert default == ["Alpha2", "alpha", "beta", "gamma"]  # name ASC, code-point order
        desc = registry_store.search_registered_models(order_by=["name DESC"])
        assert [m.name for m in desc] == ["gamma", "beta", "alpha", "Alpha2"]
        pages = collect_pages(
            lambda token: registry_store.search_registered_models(max_results=3, page_token=token)
        )
        assert [[m.name for m in p] for p in pages] == [["Alpha2", "alpha", "beta"], ["gamma"]]
        by_time = registry_store.search_registered_models(order_by=["timestamp DESC"])
        assert len(by_time) == 4

    def test_prompts_are_not_listed(self, registry_store) -> None:
        self._population(registry_store)
        registry_store.create_registered_model(
            "a-prompt", [RegisteredModelTag("mlflow.prompt.is_prompt", "true")]
        )
        names = [m.name for m in registry_store.search_registered_models()]
        assert "a-prompt" not in names and len(names) == 4
        # MLflow's client adds this clause to every search; it selects the same models.
        clause = "tags.`mlflow.prompt.is_prompt` != 'true'"
        filtered = registry_store.search_registered_models(f"name LIKE '%a%' AND {clause}")
        assert sorted(m.name for m in filtered) == ["Alpha2", "alpha", "beta", "gamma"]
        assert registry_store.get_registered_model("a-prompt").name == "a-prompt"

    def test_search_registered_models_invalid_input(self, registry_store) -> None:
        check = Expectations()
        for label, kwargs in {
            "too-many": {"max_results": 1001},
            "zero": {"max_results": 0},
            "bad-filter": {"filter_string": "name = "},
            "unknown-attr": {"filter_string": "flavor = 'x'"},
            "bad-order": {"order_by": ["run_id"]},
            "bad-token": {"page_token": "not-a-token"},
        }.items():
            with check.case(label), raises_code(INVALID_PARAMETER_VALUE):
                registry_store.search_registered_models(**kwargs)
        check.verify()

    def test_search_model_versions(self, registry_store) -> None:
        a = registry_store.create_registered_model("sa").name
        b = registry_store.create_registered_model("sb").name
        other_run = "f" * 32
        registry_store.create_model_version(a, f"runs:/{RUN_ID}/m", run_id=RUN_ID)
        registry_store.create_model_version(a, "s3://bucket/x", tags=[ModelVersionTag("q", "1")])
        registry_store.create_model_version(b, f"runs:/{other_run}/m", run_id=other_run)
        cases = {
            "name = 'sa'": [("sa", "1"), ("sa", "2")],
            f"run_id = '{RUN_ID}'": [("sa", "1")],
            f"run_id IN ('{RUN_ID}', '{other_run}')": [("sa", "1"), ("sb", "1")],
            "name = 'sa' AND version_number > 1": [("sa", "2")],
            "source_path LIKE 's3://%'": [("sa", "2")],
            "tags.q = '1'": [("sa", "2")],
            "name LIKE 's%' AND version_number = 1": [("sa", "1"), ("sb", "1")],
        }
        check = Expectations()
        for filter_string, expected in cases.items():
            with check.case(filter_string):
                found = registry_store.search_model_versions(filter_string)
                assert sorted((v.name, v.version) for v in found) == expected
        check.verify()

    def test_search_model_versions_order_and_paging(self, registry_store) -> None:
        name = self.new_model(registry_store)
        self.new_versions(registry_store, name, 5)
        ordered = registry_store.search_model_versions(
            f"name = '{name}'", order_by=["version_number ASC"]
        )
        assert [v.version for v in ordered] == ["1", "2", "3", "4", "5"]
        pages = collect_pages(
            lambda token: registry_store.search_model_versions(
                f"name = '{name}'",
                max_results=2,
                order_by=["version_number DESC"],
                page_token=token,
            )
        )
        assert [[v.version for v in p] for p in pages] == [["5", "4"], ["3", "2"], ["1"]]
        with raises_code(INVALID_PARAMETER_VALUE):
            registry_store.search_model_versions(max_results=200_001)
        with raises_code(INVALID_PARAMETER_VALUE):
            registry_store.search_model_versions("metrics.acc > 1")
