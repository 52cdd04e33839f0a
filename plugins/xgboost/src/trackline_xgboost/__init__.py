"""trackline-xgboost: the XGBoost model flavor (``trackline.xgboost``).

The flavor's functions live in ``trackline_xgboost.flavor``; importing this package does not
import XGBoost.
"""
