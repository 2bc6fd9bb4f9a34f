"""One module per source, found by convention.

A module here named after its source (``pos_transactions.py``) defines ``CONTRACT``, a
``SourceContract``. Nothing else needs editing to add a source: the registry imports every
module in this package, and the raw asset, import command and checks follow from the contract.
Marketing platforms also define ``normalize(raw, business_date)`` returning their rows in the
common marketing-spend and engagement shapes (see ``marketing.py`` in staging).
"""
