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
# The cluster's fault tests (issue #20) start three RabbitMQ nodes beside the machine's own and
# take about 6 minutes on 2 cores: after the main suite, when asked (CI asks).
if [[ ${EDIGW_CLUSTER_TESTS:-0} == 1 ]]; then
    echo "== pytest -m cluster (three-node RabbitMQ cluster, scripts/cluster.sh)"
    .venv/bin/pytest -m cluster tests/cluster
fi
