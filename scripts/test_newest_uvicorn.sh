#!/usr/bin/env bash
# tests/test_wire.py against the newest uvicorn on the package index, so a release that changes
# what app/live/wire.py or app/protocol.py extend is known the day it lands (`make test` runs
# this; CI too, through .ci/run).
#
# Cheap: the wheel comes through pip's cache, goes into a throwaway directory with --no-deps
# (only a requirement the environment does not meet is added there), and that directory is put
# first on PYTHONPATH for the test run and the servers it starts; .venv is never changed. When
# the newest is the installed one, the suite has just run against it and nothing more runs.
# Without a registry (offline) it says "skipped: no registry" and succeeds.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
say() { printf 'newest uvicorn: %s\n' "$*"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --timeout/--retries: an offline machine answers in seconds, not after pip's retries.
if ! "$PYTHON" -m pip download --quiet --no-deps --only-binary :all: --timeout 15 --retries 1 \
    --dest "$work/wheel" uvicorn >"$work/pip.log" 2>&1; then
    say "skipped: no registry ($(grep -v '^WARNING' "$work/pip.log" | tail -n 1))"
    exit 0
fi
wheel=$(ls "$work"/wheel/uvicorn-*.whl)
newest=${wheel##*/uvicorn-}
newest=${newest%%-*}
installed=$("$PYTHON" -c 'import uvicorn; print(uvicorn.__version__)')
if [ "$newest" = "$installed" ]; then
    say "$newest, the newest the package index offers, is the one installed: the suite ran against it"
    exit 0
fi

"$PYTHON" -m pip install --quiet --no-deps --target "$work/site" "$wheel" 2>&1 | grep -v '^WARNING' || true
# The requirements of uvicorn[standard] this environment does not meet, if any, go there too.
unmet=$(PYTHONPATH="$work/site" "$PYTHON" - <<'EOF'
from importlib.metadata import PackageNotFoundError, requires, version

from packaging.requirements import Requirement

for line in requires("uvicorn") or []:
    requirement = Requirement(line)
    if requirement.marker and not requirement.marker.evaluate({"extra": "standard"}):
        continue
    try:
        if version(requirement.name) in requirement.specifier:
            continue
    except PackageNotFoundError:
        pass
    print(f"{requirement.name}{requirement.specifier}")
EOF
)
if [ -n "$unmet" ]; then
    say "adding what uvicorn $newest needs and this environment lacks: $(echo $unmet)"
    # shellcheck disable=SC2086
    "$PYTHON" -m pip install --quiet --no-deps --target "$work/site" $unmet 2>&1 | grep -v '^WARNING' || true
fi
running=$(PYTHONPATH="$work/site" "$PYTHON" -c 'import uvicorn; print(uvicorn.__version__)')
if [ "$running" != "$newest" ]; then
    say "uvicorn $newest was installed but $running is imported"
    exit 1
fi

say "tests/test_wire.py against uvicorn $newest (this environment has $installed)"
PYTHONPATH="$work/site" "$PYTHON" -m pytest -q -p no:randomly -n 0 tests/test_wire.py
