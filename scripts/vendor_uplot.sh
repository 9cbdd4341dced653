#!/usr/bin/env bash
# Vendor uPlot (MIT) into the package so the dashboard needs no build step and no network.
# Run once after changing UPLOT_VERSION; commit the files it writes.
#   scripts/vendor_uplot.sh            # uses `npm pack` (npm registry), checks the tarball integrity
set -euo pipefail

UPLOT_VERSION="${UPLOT_VERSION:-1.6.32}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/seetrain/server/static/vendor/uplot"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
# npm pack downloads the exact published tarball and verifies it against the registry's integrity hash.
npm pack "uplot@${UPLOT_VERSION}" --silent >/dev/null
tar -xzf "uplot-${UPLOT_VERSION}.tgz"

mkdir -p "$DEST"
cp package/dist/uPlot.esm.js "$DEST/uPlot.esm.js"
cp package/dist/uPlot.min.css "$DEST/uPlot.min.css"
cp package/LICENSE "$DEST/LICENSE"
printf 'uPlot %s from https://www.npmjs.com/package/uplot (MIT, see LICENSE)\nvendored by scripts/vendor_uplot.sh\n' \
  "$UPLOT_VERSION" > "$DEST/VERSION"
echo "vendored uPlot ${UPLOT_VERSION} into ${DEST#"$ROOT"/}"
ls -l "$DEST"
