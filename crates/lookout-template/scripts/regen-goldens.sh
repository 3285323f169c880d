#!/usr/bin/env bash
# Regenerates crates/lookout-template/tests/golden/*.yaml from the real tools
# (amtool 0.25 and prometheus 2.42, Debian packages; see .ci/install-deps).
# Usage: scripts/regen-goldens.sh [am] [prom]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in amtool prometheus; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
TZ=UTC exec cargo run -q -p lookout-template --example regen_goldens -- "$@"
