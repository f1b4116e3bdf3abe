#!/usr/bin/env bash
# Install newsqa with its dev extras (and Chromium for the browser tests when apt is there), then run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e '.[dev]'
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || echo "warning: could not install chromium; browser tests will skip" >&2
fi
python3 -m pytest tests "$@"  # the whole suite (testpaths in pyproject.toml says the same)
