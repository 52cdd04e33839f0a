"""The conformance kit: behavioural tests any store or repository implementation can run.

Each module holds a *contract*, a plain pytest test class whose name does not start with
``Test`` (so pytest does not collect it by itself). A plugin runs the contract against its
implementation by subclassing it in its own test suite and providing the fixtures the
contract documents; every test of the contract then runs against that implementation::

    # plugins/<name>/tests/test_conformance.py
    import pytest
    from trackline.testing.artifacts import ArtifactRepositoryContract

    class TestMyRepository(ArtifactRepositoryContract):
        @pytest.fixture
        def repo(self, tmp_path):
            yield MyRepository(str(tmp_path / "root"))

Contracts:

* ``trackline.testing.artifacts.ArtifactRepositoryContract`` — artifact repositories
  (``trackline.store.artifacts.ArtifactRepository``).
* ``trackline.testing.tracking.TrackingStoreContract`` — tracking stores
  (``trackline.store.tracking.AbstractTrackingStore``).
* ``trackline.testing.logged_models.LoggedModelStoreContract`` — the MLflow 3 logged-model
  methods of tracking stores that store logged models (same ``store`` fixture).
* ``trackline.testing.registry.RegistryStoreContract`` — model-registry stores
  (``trackline.store.registry.AbstractRegistryStore``).

Helpers for flavor and autologging plugins: ``trackline.testing.mlflow_reference`` runs the
real MLflow (from its own virtual environment) next to trackline, for compatibility and
parity tests; ``trackline.testing.autologging`` has the ``sqlite_tracking`` fixture.

Fixtures for plugin tests (a fresh plugin manager, throwaway plugins, a temporary tracking
URI) live in the opt-in pytest plugin ``trackline.testing.pytest_plugin``; enable it with
``pytest_plugins = ["trackline.testing.pytest_plugin"]``.

The contracts import pytest; nothing else in trackline imports this package, so pytest
stays a test-only dependency.
"""

try:  # show values in failing contract asserts, as in the author's own tests
    import pytest

    pytest.register_assert_rewrite(
        "trackline.testing.tracking",
        "trackline.testing.artifacts",
        "trackline.testing.registry",
        "trackline.testing.autologging",
        "trackline.testing.mlflow_reference",
    )
except ImportError:  # pragma: no cover - pytest is only needed to run the contracts
    pass
