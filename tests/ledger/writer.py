"""A ledger writer in a process of its own, for the concurrent-writers test.

    python writer.py URL < trades.json     prints {"stored": N}

Reads trade records as JSON (``dataclasses.asdict`` form), opens the ledger (creating and
migrating it if this writer is first) and records them in the given order.
"""

from __future__ import annotations

import json
import sys

from lstarb_runtime.ledger import Ledger, TradeLeg, TradeRecord


def main() -> None:
    url = sys.argv[1]
    docs = json.load(sys.stdin)
    stored = 0
    with Ledger.open(url) as ledger:
        for doc in docs:
            doc["legs"] = tuple(TradeLeg(**leg) for leg in doc["legs"])
            stored += ledger.record(TradeRecord(**doc))
    print(json.dumps({"stored": stored}))


if __name__ == "__main__":
    main()
