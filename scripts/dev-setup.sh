#!/usr/bin/env bash
# Create .venv with lstarb, every first-party plugin and the plugin template
# installed editable, plus the development tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "lstarb needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
args=(-e ".[dev]")
for dir in plugins/*/ examples/plugin-template/; do
  [ -f "$dir/pyproject.toml" ] && args+=(-e "$dir")
done
.venv/bin/python -m pip install --quiet "${args[@]}"
echo "development environment ready: .venv (activate with: source .venv/bin/activate)"
