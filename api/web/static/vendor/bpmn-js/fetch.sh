#!/usr/bin/env bash
# Re-vendor bpmn-js from the npm registry: `npm pack` the pinned version and copy the prebuilt bundles,
# their stylesheets/fonts and the licence next to this script. Run from anywhere; commit the result.
set -euo pipefail
VERSION="${1:-17.9.2}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "bpmn-js@$VERSION" >/dev/null && tar xzf "bpmn-js-$VERSION.tgz")
pkg="$work/package"
cp "$pkg/dist/bpmn-modeler.production.min.js" "$pkg/dist/bpmn-navigated-viewer.production.min.js" "$here/"
rm -rf "$here/assets" && cp -r "$pkg/dist/assets" "$here/assets"
cp "$pkg/LICENSE" "$here/LICENSE"
echo "$VERSION" > "$here/VERSION"
echo "bpmn-js $VERSION vendored into $here"
