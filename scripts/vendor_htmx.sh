#!/usr/bin/env bash
# Refresh the vendored htmx, its WebSocket extension and idiomorph (the morph swap) from npm,
# at pinned versions. htmx.org 2.x also ships dist/ext/ws.js, the old htmx 1 extension: we take
# htmx-ext-ws instead. idiomorph-ext.min.js is idiomorph with its htmx extension ("morph").
set -euo pipefail
HTMX_VERSION=2.0.11
HTMX_WS_VERSION=2.0.4
IDIOMORPH_VERSION=0.8.0
IDIOMORPH_SHA256=5811b9a7eda14878b7dab4378bf60432e1bb6f11fcfb970cc26540642650181e
dest="$(cd "$(dirname "$0")/.." && pwd)/app/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "htmx.org@${HTMX_VERSION}" "htmx-ext-ws@${HTMX_WS_VERSION}" \
  "idiomorph@${IDIOMORPH_VERSION}" >/dev/null
mkdir htmx ws morph
tar xzf "htmx.org-${HTMX_VERSION}.tgz" -C htmx --strip-components=1
tar xzf "htmx-ext-ws-${HTMX_WS_VERSION}.tgz" -C ws --strip-components=1
tar xzf "idiomorph-${IDIOMORPH_VERSION}.tgz" -C morph --strip-components=1
mkdir -p "$dest"
cp htmx/dist/htmx.min.js "$dest/htmx-${HTMX_VERSION}.min.js"
cp htmx/LICENSE "$dest/htmx-LICENSE.txt"
cp ws/dist/ws.min.js "$dest/htmx-ext-ws-${HTMX_WS_VERSION}.min.js"
cp ws/LICENSE "$dest/htmx-ext-ws-LICENSE.txt"
echo "${IDIOMORPH_SHA256}  morph/dist/idiomorph-ext.min.js" | sha256sum --check --quiet
cp morph/dist/idiomorph-ext.min.js "$dest/idiomorph-ext-${IDIOMORPH_VERSION}.min.js"
cp morph/LICENSE "$dest/idiomorph-LICENSE.txt"
echo "vendored htmx ${HTMX_VERSION}, htmx-ext-ws ${HTMX_WS_VERSION} and idiomorph ${IDIOMORPH_VERSION} into ${dest}"
