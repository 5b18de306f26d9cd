#!/usr/bin/env bash
# The main job: render a project with the template's defaults, install it, and run its
# train -> bundle -> serve loop (`<package> smoke`), which prints predictions from the endpoint.
#   scripts/demo.sh [DEST]     (default: a new temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bash scripts/setup.sh
dest=${1:-$(mktemp -d)/ml-project}
.venv/bin/scaffold new "$dest"
.venv/bin/python -m pip install --quiet --no-deps -e "$dest"
cd "$dest"
"$repo/.venv/bin/ml_project" smoke classifier
echo "The project is in $dest"
