#!/usr/bin/env bash
# Run the official Python Array API test suite (data-apis/array-api-tests) against minidiff.
#
#   tests/array_api/run.sh [--numpy] [pytest options...]
#
# Needs git and network access; uses $PYTHON (default: python3), in which minidiff (core,
# numpy backend, linalg pack) must already be installed. It clones the suite at the pinned
# commit into $ARRAY_API_TESTS_DIR (default: a scratch directory), installs the suite's
# requirements into that Python, and runs it the suite's README's way with the deviations
# in tests/array_api/skips.txt skipped. `--numpy` runs the same selection against NumPy
# instead (no skips file), for a count to compare with. Extra options go to pytest
# (e.g. --max-examples=100; the default here is 20). docs/array-api.md has the figures.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${PYTHON:-python3}"
SUITE_COMMIT=55fcc60179efa2680ddd6cd926ddf17b83530e2b   # data-apis/array-api-tests, 2025
dir="${ARRAY_API_TESTS_DIR:-$(mktemp -d)/array-api-tests}"

module=minidiff
skips=(--skips-file "$here/skips.txt")
if [[ "${1:-}" == "--numpy" ]]; then
    module=numpy
    skips=()
    shift
fi

if [[ ! -e "$dir/.git" ]]; then
    git clone --quiet https://github.com/data-apis/array-api-tests.git "$dir"
fi
git -C "$dir" fetch --quiet origin "$SUITE_COMMIT" 2>/dev/null || true
git -C "$dir" checkout --quiet "$SUITE_COMMIT"
if [[ ! -e "$dir/array-api/src" ]]; then
    git -C "$dir" submodule update --init --quiet   # the standard's own signatures (array-api)
fi
"$PYTHON" -m pip install --quiet -r "$dir/requirements.txt"

cd "$dir"
ARRAY_API_TESTS_MODULE="$module" ARRAY_API_TESTS_VERSION=2023.12 \
    exec "$PYTHON" -m pytest array_api_tests/ -p no:cacheprovider -q --max-examples=20 "${skips[@]}" "$@"
