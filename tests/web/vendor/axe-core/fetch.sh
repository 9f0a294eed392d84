#!/usr/bin/env sh
# How tests/web/vendor/axe-core was made: the npm package's minified build and its licences, nothing else.
# axe-core runs only inside the browser tests (injected into each page); the product never serves it.
set -eu
cd "$(dirname "$0")"
VERSION=4.14.1
tmp=$(mktemp -d)
(cd "$tmp" && npm pack "axe-core@$VERSION" >/dev/null && tar xzf "axe-core-$VERSION.tgz")
cp "$tmp/package/axe.min.js" "$tmp/package/LICENSE" "$tmp/package/LICENSE-3RD-PARTY.txt" .
echo "axe-core $VERSION (npm), axe.min.js; MPL-2.0 (LICENSE); fetched with fetch.sh" > VERSION
rm -rf "$tmp"
