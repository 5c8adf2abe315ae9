"""The embedded default: what ``lstarb run`` brings along when nothing says where the chain is.

- :mod:`~lstarb_runtime.embedded.settings`: ``[simnet]`` (whether and how the local peer runs);
- :mod:`~lstarb_runtime.embedded.peer`: the local RPC peer (``lstarb simnet --drive``) on a
  thread of this process, and the decision whether a run needs it.
"""
