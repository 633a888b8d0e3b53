#!/usr/bin/env bash
# Refresh the vendored Swagger UI (served by Tavoli at /api/docs, no CDN) from npm, pinned.
# OpenAPI 3.1 needs Swagger UI 5: PyPI's swagger-ui-bundle ships 4.15 and cannot render it.
# We keep the standalone bundle, its stylesheet and the licences; no source maps.
set -euo pipefail
SWAGGER_UI_VERSION=5.35.0
dest="$(cd "$(dirname "$0")/.." && pwd)/app/static/vendor/swagger-ui"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "swagger-ui-dist@${SWAGGER_UI_VERSION}" >/dev/null
mkdir dist
tar xzf "swagger-ui-dist-${SWAGGER_UI_VERSION}.tgz" -C dist --strip-components=1
rm -rf "$dest"
mkdir -p "$dest"
cp dist/swagger-ui-bundle.js dist/LICENSE dist/NOTICE "$dest/"
cp dist/swagger-ui-bundle.js.LICENSE.txt "$dest/"  # the licences of what the bundle includes
# The source maps are not shipped: drop the comment that points browsers at them.
sed '/sourceMappingURL=/d' dist/swagger-ui.css >"$dest/swagger-ui.css"
printf 'swagger-ui-dist %s (npm), vendored by scripts/vendor_swagger.sh\n' \
    "${SWAGGER_UI_VERSION}" >"$dest/VERSION"
echo "vendored swagger-ui-dist ${SWAGGER_UI_VERSION} into ${dest}"
