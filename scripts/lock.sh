#!/bin/sh
# The lock file each tracking option's project ships (template/requirements/): renders a project per
# option, at the lowest Python the template offers, and runs that project's own scripts/lock.sh.
# Rerun after changing template/pyproject.toml.jinja. TORCH_WHEELS=DIR as in that script; PYTHON=3.11 where
# those wheels are for Python 3.11 only (then a project answering 3.10 must rerun its own scripts/lock.sh).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for tracking in mlflow wandb none; do
    copier copy --defaults --quiet --vcs-ref HEAD --data tracking="$tracking" --data python_version="${PYTHON:-3.10}" \
        "$root" "$work/$tracking"
    (cd "$work/$tracking" && sh scripts/lock.sh)
    cp "$work/$tracking/requirements/lock.txt" "$root/template/requirements/{% if tracking == '$tracking' %}lock.txt{% endif %}"
done
