"""trackline-sklearn: the scikit-learn model flavor (``trackline.sklearn``).

The flavor's functions live in ``trackline_sklearn.flavor``; importing this package imports
neither scikit-learn nor skops.
"""
