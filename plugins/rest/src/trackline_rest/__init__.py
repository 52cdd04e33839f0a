"""trackline-rest: talk to a trackline or MLflow tracking server over HTTP(S).

``trackline_rest.store.RestTrackingStore`` serves ``http``/``https`` tracking URIs,
``trackline_rest.artifacts`` the ``mlflow-artifacts``, ``http`` and ``https`` artifact URIs;
``trackline_rest.http`` is the transport both share.
"""

__version__ = "0.1.0"
