"""A minimal third-party lstarb plugin."""
