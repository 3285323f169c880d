#!/usr/bin/env bash
# Regenerates crates/lookout-template/tests/golden/*.yaml from the real tools:
# amtool 0.25 (`amtool template render`) for tests/cases/am.yaml, and a
# loopback prometheus 2.42 evaluating one alerting rule per case of
# tests/cases/prom.yaml and per templated annotation of the kube-prometheus
# corpus (Debian packages; see .ci/install-deps). The corpus is found like the
# tests find it (../shared/corpus next to the repository, or $LOOKOUT_CORPUS).
# Usage: scripts/regen-goldens.sh [am] [prom]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in amtool prometheus; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
# The goldens record Go 1.19-era behaviour of these exact releases.
amtool --version 2>&1 | grep -q 'version 0\.25\.' || echo "warning: amtool is not 0.25" >&2
prometheus --version 2>&1 | grep -q 'version 2\.42\.' || echo "warning: prometheus is not 2.42" >&2
TZ=UTC exec cargo run -q -p lookout-template --example regen_goldens -- "$@"
