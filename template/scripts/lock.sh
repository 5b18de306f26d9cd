#!/bin/sh
# Pin every dependency of pyproject.toml (all extras, and the build backend with what `pip install -e .`
# needs) to one version with its hashes, in requirements/lock.txt. CI installs that and nothing else:
#   pip install --require-hashes --no-deps -r requirements/lock.txt
#   pip install --no-deps --no-build-isolation -e .
# Rerun it after changing a dependency (tests/test_pins.py fails until you do); Dependabot's pull
# requests update the file in between. Needs uv (in the dev extra). torch is PyTorch's CPU build from
# its own index, pinned to TORCH (default 2.13.0); TORCH_WHEELS=DIR takes torch's wheels from a folder
# instead, on a machine that cannot reach that index (only the wheels found there are hashed).
# Resolved for every platform and every Python from the project's lowest (requires-python) up.
set -eu
cd "$(dirname "$0")/.."
torch="torch==${TORCH:-2.13.0}+cpu"
python=$(sed -n 's/^requires-python = ">=\([0-9.]*\)"$/\1/p' pyproject.toml)
overrides=$(mktemp)
trap 'rm -f "$overrides"' EXIT
echo "$torch" >"$overrides"
if [ -n "${TORCH_WHEELS:-}" ]; then
    source_of_torch="--find-links $TORCH_WHEELS"
else
    source_of_torch="--torch-backend cpu"
fi
# shellcheck disable=SC2086  # source_of_torch is two words
printf "hatchling>=1.24\neditables>=0.3\n" | uv pip compile pyproject.toml - --all-extras --universal --python-version "$python" \
    --override "$overrides" $source_of_torch --no-emit-find-links --generate-hashes --no-annotate \
    --custom-compile-command "scripts/lock.sh" --quiet -o "$overrides.txt"
mkdir -p requirements
{
    sed -n '1,/^$/p' "$overrides.txt" | grep '^#'
    echo "--extra-index-url https://download.pytorch.org/whl/cpu"
    # a git-pinned requirement (a models repository's core) cannot be hashed: CI installs it from pyproject.toml
    sed -e '/^#/d' -e '/ @ git+/d' "$overrides.txt"
} >requirements/lock.txt
rm -f "$overrides.txt"
echo "requirements/lock.txt: $(grep -c '==' requirements/lock.txt) packages"
