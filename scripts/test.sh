#!/usr/bin/env bash
# Install everything (scripts/setup.sh), then the linter, the type checker and the whole
# test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check voicecoach tests scripts lab devkit
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
