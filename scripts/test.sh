#!/usr/bin/env bash
# Install everything (scripts/setup.sh), then run the whole test suite and the linter.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check voicecoach tests scripts lab
.venv/bin/python -m pytest -q "$@"
