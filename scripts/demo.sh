#!/usr/bin/env bash
# README command 1: the gateway's main job end to end (installs what is missing first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/edigw demo "$@"
