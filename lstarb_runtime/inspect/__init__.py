"""Looking at a running (or stopped) deployment from a terminal: ``lstarb status`` and
``lstarb explain ID``.

Read-only by design: nothing here creates a stream, moves a durable consumer or writes the
ledger. Streams are read with ephemeral ordered consumers (:mod:`.reading`), the ledger is
opened with ``create=False``.
"""
