"""The services of a run, all on one base (:mod:`lstarb_runtime.services.base`).

- :mod:`~lstarb_runtime.services.base`: ``Service``, its life cycle and plumbing;
- :mod:`~lstarb_runtime.services.halt`: the kill switch's halted state;
- :mod:`~lstarb_runtime.services.scanner`: data sources -> pool book -> MARKET_DATA, strategies;
- :mod:`~lstarb_runtime.services.system`: the system manager (circuit breakers);
- :mod:`~lstarb_runtime.services.runner`: the roles of one process, signals, the summary.
"""
