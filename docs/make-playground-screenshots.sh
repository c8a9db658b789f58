#!/usr/bin/env bash
# Remake the screenshots in docs/playground.md: the playground's browser tests save them as they walk the main loop.
# Needs Chromium from the OS packages (apt-get install chromium chromium-driver) and `pip install -e ".[test]"`.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYGROUND_SCREENSHOTS=docs/images .venv/bin/pytest -q tests/playground/test_browser.py -k "from_idea_through_its_gate"
