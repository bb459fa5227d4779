#!/usr/bin/env bash
# The README's test command. On a fresh machine it installs and starts what the tests need, then
# runs every test. Safe to run again: it skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (all features, all targets, doc tests)"
cargo test --all-features --all-targets
cargo test --all-features --doc

echo "== browser end-to-end: the demo page in headless Chromium (installs chromium if missing)"
scripts/browser-test.sh
