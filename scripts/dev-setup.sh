#!/usr/bin/env bash
# Create .venv with lstarb, every first-party plugin and the plugin template installed
# editable, plus the development tools. Safe to run again. pip's and setuptools' chatter goes
# to .venv/setup.log, shown only when the set-up fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "lstarb needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
log=.venv/setup.log
args=(-e ".[dev]")
for dir in plugins/*/ examples/plugin-template/; do
  [ -f "$dir/pyproject.toml" ] && args+=(-e "$dir")
done
echo "installing lstarb, $(( ${#args[@]} / 2 - 1 )) plugins and the tools into .venv (editable) ..."
if ! { .venv/bin/python -m pip install --quiet --upgrade pip &&
       .venv/bin/python -m pip install --quiet "${args[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "set-up failed (log above, kept in $log)" >&2
  exit 1
fi
echo "development environment ready: .venv (activate with: source .venv/bin/activate)"
