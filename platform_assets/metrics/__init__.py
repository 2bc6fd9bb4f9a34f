"""The metrics layer: every metric of the brief (section 4) defined once, in plain pandas.

Report assets are thin wrappers around these functions; nothing else computes a metric. Money
is summed as integer USD cents (each row converted and rounded once in staging, see money.py)
and turned into exact decimals only in the report rows.
"""
