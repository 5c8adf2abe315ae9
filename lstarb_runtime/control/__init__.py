"""The control plane: the kill switch's persistent state, its commands, the control API.

- :mod:`~lstarb_runtime.control.state`: the halted state in the ``control`` key-value bucket
  (the one source of truth every service watches) and :func:`command`, which writes it and
  audits the command on SYSTEM;
- :mod:`~lstarb_runtime.control.settings`: ``[control]`` and ``[breakers]``;
- :mod:`~lstarb_runtime.control.breakers`: the circuit breakers' rules, without I/O;
- :mod:`~lstarb_runtime.control.api`: the local HTTP control API (``--control-port``);
- :mod:`~lstarb_runtime.control.cli`: ``lstarb kill`` and ``lstarb resume``.
"""
