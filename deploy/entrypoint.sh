#!/bin/sh
# The image's entry point. With no arguments: migrate the database once (unless
# TAVOLI_MIGRATE=false, as in compose.yaml, where the one-shot `migrate` service did it before
# any web container started), then run uvicorn with WEB_CONCURRENCY worker processes.
# With arguments, run them instead (`docker run tavoli alembic upgrade head`).
set -eu

if [ "$#" -gt 0 ]; then
    exec "$@"
fi

workers=${WEB_CONCURRENCY:-1}
case "${HUB_URL:-memory://}" in
    memory://*)
        if [ "$workers" != 1 ]; then
            # Each process would hold its own half of every table's life.
            echo "WEB_CONCURRENCY=$workers needs a shared hub: set HUB_URL=redis://…" >&2
            exit 64
        fi
        ;;
esac

if [ "${TAVOLI_MIGRATE:-true}" = true ]; then
    alembic upgrade head
    python -m app.cli links
fi
# Generated secrets (data/) are created before the workers fork, so that they share one.
python -c 'from app.config import get_settings; get_settings().secret_key'

# Pushes are a few hundred bytes: per-message deflate would cost a zlib state per socket
# (~45 KiB) and a fifth of the CPU of every push for little (docs/performance.md). A client
# that stops reading stops answering pings: closed within 20 s, its memory freed.
exec uvicorn --factory app.main:create_app --host 0.0.0.0 --port 8000 --proxy-headers \
    --ws app.live.wire:WebSocketProtocol --ws-per-message-deflate false \
    --ws-ping-interval 10 --ws-ping-timeout 10 \
    --workers "$workers"
