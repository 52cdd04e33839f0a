"""trackline-statsmodels: the statsmodels model flavor (``trackline.statsmodels``).

The flavor's functions live in ``trackline_statsmodels.flavor``; importing this package does
not import statsmodels.
"""
