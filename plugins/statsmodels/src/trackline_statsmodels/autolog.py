"""``trackline.statsmodels.autolog()``: log statsmodels fits without changing them.

Patched: ``fit`` of every statsmodels model class (found as subclasses of
``statsmodels.base.model.Model`` once ``statsmodels.api`` is imported). A fit made inside
another (GLM's IRLS fitting WLS…) logs nothing of its own. Logged: the arguments of the
``fit`` call as params, the scalar results (``aic``, ``bic``, ``llf``, ``rsquared``… those
the results object has) as metrics, the coefficient statistics as ``<statistic>_<term>``
metrics (``params_const``, ``pvalues_x1``…), ``model_summary.txt``, and the fitted results
as a logged model named ``model``.

statsmodels is imported when autologging is enabled, never when this module is.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from trackline.autologging import (
    active_session,
    autologging_integration,
    autologging_step,
    safe_patch,
)
from trackline.autologging import utils as alu

logger = logging.getLogger(__name__)

INTEGRATION = "statsmodels"

# Scalar attributes of results objects that are logged as metrics when present.
RESULT_METRICS = (
    "aic",
    "aicc",
    "bic",
    "hqic",
    "llf",
    "llnull",
    "llr",
    "llr_pvalue",
    "deviance",
    "pearson_chi2",
    "prsquared",
    "pseudo_rsquared",
    "rsquared",
    "rsquared_adj",
    "fvalue",
    "f_pvalue",
    "mse_model",
    "mse_resid",
    "mse_total",
    "ssr",
    "ess",
    "centered_tss",
    "uncentered_tss",
    "condition_number",
    "scale",
    "nobs",
    "df_model",
    "df_resid",
)
COEFFICIENT_STATISTICS = ("params", "bse", "pvalues", "tvalues")


@autologging_integration(INTEGRATION)
def autolog(
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Enable (or ``disable=True``: disable) autologging of statsmodels fits (the options
    of ``mlflow.statsmodels.autolog``)."""
    import statsmodels.api  # noqa: F401  (imports the model modules, so their classes exist)
    from statsmodels.base.model import Model

    for owner in _fit_owners(Model):
        safe_patch(INTEGRATION, owner, "fit", _patched_fit, manage_run=True)


def _fit_owners(base: type) -> list[type]:
    """The statsmodels classes that define ``fit`` for some model class."""
    owners: list[type] = []
    pending, seen = [base], set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        owner = next((k for k in cls.__mro__ if "fit" in vars(k)), None)
        if (
            owner is not None
            and owner not in owners
            and owner.__module__.startswith("statsmodels.")
        ):
            owners.append(owner)
    return owners


def _patched_fit(original: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
    session = active_session()
    config = session.config if session is not None else {}
    with autologging_step("logging the fit params"):
        try:
            bound = inspect.signature(type(model).fit).bind(model, *args, **kwargs)
            bound.apply_defaults()  # the defaults the fit used are part of its settings
            arguments = dict(bound.arguments)
        except TypeError:
            arguments = dict(kwargs)
        arguments.pop("self", None)
        extra = arguments.pop("kwargs", None) or {}
        arguments.update(extra if isinstance(extra, dict) else {})
        alu.log_params(arguments)
        alu.log_tags({"model_class": f"{type(model).__module__}.{type(model).__qualname__}"})
    if config.get("log_datasets"):
        with autologging_step("logging the training dataset"):
            data = getattr(model, "data", None)
            frame = getattr(data, "orig_exog", None)
            if frame is not None:
                alu.log_dataset(frame, getattr(data, "orig_endog", None), context="train")

    results = original(model, *args, **kwargs)

    with autologging_step("logging result metrics"):
        alu.log_metrics(_result_metrics(results))
    with autologging_step("logging model_summary.txt"):
        _log_summary(results)
    if config.get("log_models"):
        with autologging_step("logging the model"):
            from trackline_statsmodels.flavor import log_model

            log_model(
                results, name="model", registered_model_name=config.get("registered_model_name")
            )
    return results


def _result_metrics(results: Any) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for name in RESULT_METRICS:
        try:
            value = getattr(results, name)
        except Exception:  # some attributes compute on access and do not apply to every model
            continue
        if callable(value):
            continue
        number = alu.as_metric_value(value)
        if number is not None:
            metrics[name] = number
    names = _term_names(results)
    for statistic in COEFFICIENT_STATISTICS:
        try:
            values = list(getattr(results, statistic))
        except Exception:
            continue
        if names is None or len(names) != len(values):
            continue
        for term, value in zip(names, values, strict=True):
            number = alu.as_metric_value(value)
            if number is not None:
                metrics[f"{statistic}_{term}"] = number
    return metrics


def _term_names(results: Any) -> list[str] | None:
    try:
        names = results.model.exog_names
    except Exception:
        return None
    return None if names is None else [str(n) for n in names]


def _log_summary(results: Any) -> None:
    from trackline.tracking import fluent

    summary = results.summary()
    text = summary.as_text() if hasattr(summary, "as_text") else str(summary)
    fluent._client().log_text(alu.current_run_id(), text, "model_summary.txt")
