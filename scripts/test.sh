#!/usr/bin/env bash
# README command 2: the whole test suite (installs what is missing first).
# Also checks lint and types, which are part of "green".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/usr/sbin"
echo "== ruff" && .venv/bin/ruff check .
echo "== mypy" && .venv/bin/mypy
echo "== import-linter" && .venv/bin/lint-imports --no-cache
echo "== pytest" && .venv/bin/pytest "$@"
