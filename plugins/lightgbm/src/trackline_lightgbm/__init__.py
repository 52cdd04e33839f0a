"""trackline-lightgbm: the LightGBM model flavor (``trackline.lightgbm``).

The flavor's functions live in ``trackline_lightgbm.flavor``; importing this package imports
neither LightGBM nor skops.
"""
