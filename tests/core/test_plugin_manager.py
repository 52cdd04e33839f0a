"""The plugin manager: discovery, env switches, conflicts, resolution and its errors."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint

import pytest
from trackline.exceptions import MissingPluginError, TracklineException
from trackline.plugins import (
    ArtifactRepositorySpec,
    FlavorSpec,
    TrackingStoreSpec,
    hookimpl,
)
from trackline.plugins import manager as manager_module
from trackline.plugins.manager import TracklinePluginManager, uri_scheme


def _make_plugin_module(name: str, **hooks: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    sys.modules[name] = module
    return module


@pytest.fixture
def fake_entry_points(monkeypatch):
    """Replace entry-point discovery with a list the test controls."""
    points: list[EntryPoint] = []
    monkeypatch.setattr(manager_module, "_entry_points", lambda group: list(points))
    yield points
    for ep in points:
        sys.modules.pop(ep.value, None)


def _store_factory(store_uri, artifact_root):
    return ("store", store_uri, artifact_root)


def test_entry_point_plugins_are_loaded_and_resolved(fake_entry_points):
    def register_tracking_stores(register):
        register(TrackingStoreSpec(schemes=("demo",), factory=_store_factory))

    _make_plugin_module("fake_demo_plugin", register_tracking_stores=register_tracking_stores)
    fake_entry_points.append(EntryPoint("demo", "fake_demo_plugin", "trackline"))
    pm = TracklinePluginManager()
    pm.load_entrypoints()
    factory = pm.tracking_store_factory("demo://somewhere")
    assert factory("demo://somewhere", "/tmp/a") == ("store", "demo://somewhere", "/tmp/a")
    assert pm.registry.tracking_stores["demo"][1] == "demo"


def test_string_factories_are_imported_lazily(fake_entry_points):
    def register_artifact_repositories(register):
        register(ArtifactRepositorySpec(schemes="lazy", factory="fake_lazy_target:Repo"))

    _make_plugin_module(
        "fake_lazy_plugin", register_artifact_repositories=register_artifact_repositories
    )
    fake_entry_points.append(EntryPoint("lazy", "fake_lazy_plugin", "trackline"))
    pm = TracklinePluginManager()
    pm.load_entrypoints()
    assert "fake_lazy_target" not in sys.modules
    target = types.ModuleType("fake_lazy_target")
    target.Repo = type("Repo", (), {})
    sys.modules["fake_lazy_target"] = target
    try:
        assert pm.artifact_repository_factory("lazy://x") is target.Repo
    finally:
        del sys.modules["fake_lazy_target"]


def test_unknown_scheme_names_the_plugin_to_install():
    pm = TracklinePluginManager()
    with pytest.raises(MissingPluginError) as info:
        pm.tracking_store_factory("postgresql://user:secret@db/trackline")
    message = str(info.value)
    assert "no tracking store for 'postgresql'" in message
    assert "pip install trackline-sql" in message
    assert "secret" not in message  # passwords never reach error messages
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_unknown_scheme_without_hint_lists_installed_schemes():
    pm = TracklinePluginManager()
    with pytest.raises(MissingPluginError, match="no artifact repository for 'weird'"):
        pm.artifact_repository_factory("weird://x/y")


def test_two_plugins_claiming_one_scheme_is_an_error_naming_both(fake_entry_points):
    def first(register):
        register(TrackingStoreSpec(schemes=("dup",), factory=_store_factory))

    def second(register):
        register(TrackingStoreSpec(schemes=("dup",), factory=_store_factory))

    _make_plugin_module("fake_first", register_tracking_stores=first)
    _make_plugin_module("fake_second", register_tracking_stores=second)
    fake_entry_points.extend(
        [
            EntryPoint("first", "fake_first", "trackline"),
            EntryPoint("second", "fake_second", "trackline"),
        ]
    )
    pm = TracklinePluginManager()
    pm.load_entrypoints()
    with pytest.raises(TracklineException) as info:
        pm.tracking_store_factory("dup://x")
    assert "first" in str(info.value) and "second" in str(info.value)


def test_broken_plugin_warns_and_is_reported(fake_entry_points, monkeypatch):
    monkeypatch.delenv("TRACKLINE_PLUGINS_STRICT", raising=False)
    fake_entry_points.append(EntryPoint("broken", "fake_module_that_does_not_exist", "trackline"))
    pm = TracklinePluginManager()
    with pytest.warns(RuntimeWarning, match="broken"):
        pm.load_entrypoints()
    assert "broken" in pm.load_errors
    infos = {info.name: info for info in pm.plugin_infos()}
    assert "ModuleNotFoundError" in infos["broken"].error


def test_broken_plugin_raises_in_strict_mode(fake_entry_points, monkeypatch):
    monkeypatch.setenv("TRACKLINE_PLUGINS_STRICT", "1")
    fake_entry_points.append(EntryPoint("broken", "fake_module_that_does_not_exist", "trackline"))
    with pytest.raises(ModuleNotFoundError):
        TracklinePluginManager().load_entrypoints()


def test_disable_and_allow_lists_skip_before_import(fake_entry_points, monkeypatch):
    # The modules do not exist: importing them would fail, so skipping proves no import.
    fake_entry_points.extend(
        [
            EntryPoint("skipme", "fake_not_importable_a", "trackline"),
            EntryPoint("other", "fake_not_importable_b", "trackline"),
        ]
    )
    monkeypatch.setenv("TRACKLINE_DISABLE_PLUGINS", "skipme")
    monkeypatch.setenv("TRACKLINE_LOAD_PLUGINS", "skipme")
    pm = TracklinePluginManager()
    pm.load_entrypoints()
    assert pm.load_errors == {}
    assert not pm.has_plugin("skipme") and not pm.has_plugin("other")


def test_misspelt_hook_fails_loudly(fake_entry_points):
    _make_plugin_module("fake_typo", register_tracking_store=lambda register: None)
    fake_entry_points.append(EntryPoint("typo", "fake_typo", "trackline"))
    pm = TracklinePluginManager()
    with pytest.raises(Exception, match="register_tracking_store"):
        pm.load_entrypoints()


def test_builtin_context_plugin_gives_user_and_source_tags():
    pm = TracklinePluginManager()
    pm.load_builtins()
    results = pm.hook.run_context_tags(experiment_id="0")
    merged = {k: v for r in results for k, v in r.items()}
    assert merged["mlflow.source.type"] == "LOCAL"
    assert merged["mlflow.user"]
    assert merged["mlflow.source.name"]


def test_flavor_names_resolve_to_registered_modules(monkeypatch):
    import trackline

    flavor_module = types.ModuleType("fake_flavor_impl")
    flavor_module.log_model = lambda: "logged"
    sys.modules["fake_flavor_impl"] = flavor_module

    class FlavorPlugin:
        @hookimpl
        def register_flavors(self, register):
            register(FlavorSpec(name="fakeflavor", module="fake_flavor_impl"))

    pm = TracklinePluginManager()
    pm.register(FlavorPlugin(), name="fake-flavor")
    monkeypatch.setattr(manager_module, "get_plugin_manager", lambda: pm)
    try:
        assert trackline.fakeflavor.log_model() == "logged"
        import trackline.fakeflavor as imported  # noqa: PLC0415  (the import hook under test)

        assert imported is flavor_module
        with pytest.raises(AttributeError):
            trackline.no_such_flavor  # noqa: B018
    finally:
        sys.modules.pop("fake_flavor_impl", None)
        sys.modules.pop("trackline.fakeflavor", None)
        trackline.__dict__.pop("fakeflavor", None)


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("postgresql+psycopg://u@h/db", "postgresql"),
        ("sqlite:///x.db", "sqlite"),
        ("/abs/path", "file"),
        ("relative/path", "file"),
        ("file:///abs", "file"),
        ("C:\\Users\\x", "file"),
        ("S3://Bucket/x", "s3"),
    ],
)
def test_uri_scheme(uri, scheme):
    assert uri_scheme(uri) == scheme
