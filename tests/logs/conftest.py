"""The log tests' output: the runtime's handler, configured for JSON into a string, and the
root logger put back as it was afterwards."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from lstarb_runtime import logs


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    handler = logs.configure_logging("DEBUG", "json", service="auditor", stream=stream)
    yield stream
    root.removeHandler(handler)
    for h in before:
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(level)
