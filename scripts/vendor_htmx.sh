#!/usr/bin/env bash
# Refresh the vendored htmx and its WebSocket extension from npm, at pinned versions.
# htmx.org 2.x also ships dist/ext/ws.js, the old htmx 1 extension: we take htmx-ext-ws instead.
set -euo pipefail
HTMX_VERSION=2.0.11
HTMX_WS_VERSION=2.0.4
dest="$(cd "$(dirname "$0")/.." && pwd)/app/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "htmx.org@${HTMX_VERSION}" "htmx-ext-ws@${HTMX_WS_VERSION}" >/dev/null
mkdir htmx ws
tar xzf "htmx.org-${HTMX_VERSION}.tgz" -C htmx --strip-components=1
tar xzf "htmx-ext-ws-${HTMX_WS_VERSION}.tgz" -C ws --strip-components=1
mkdir -p "$dest"
cp htmx/dist/htmx.min.js "$dest/htmx-${HTMX_VERSION}.min.js"
cp htmx/LICENSE "$dest/htmx-LICENSE.txt"
cp ws/dist/ws.min.js "$dest/htmx-ext-ws-${HTMX_WS_VERSION}.min.js"
cp ws/LICENSE "$dest/htmx-ext-ws-LICENSE.txt"
echo "vendored htmx ${HTMX_VERSION} and htmx-ext-ws ${HTMX_WS_VERSION} into ${dest}"
