# Tavoli in a container: SQLite under /app/data by default; set DATABASE_URL for PostgreSQL,
# and HUB_URL/TAVOLI_LIMITS_URL for Redis when several workers share the tables
# (compose.yaml, docs/deploy.md).

# Build: the package and its dependencies into a virtual environment (all wheels).
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .

# Run: the environment, the migrations and the entry point; no build tools, no sources.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH
# Pango and fonts for WeasyPrint's PDF minutes.
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 tavoli
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations
COPY deploy/entrypoint.sh /usr/local/bin/tavoli-entrypoint
RUN mkdir data && chown tavoli data
USER tavoli
EXPOSE 8000
# /healthz checks the database and the hub (503 when one fails); no curl in the image.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=8)"]
# Migrations once, then uvicorn --proxy-headers with ${WEB_CONCURRENCY:-1} workers. It trusts
# X-Forwarded-Proto/-For from 127.0.0.1 only: behind a proxy in another container, set
# FORWARDED_ALLOW_IPS to its address or network (docs/deploy.md).
ENTRYPOINT ["tavoli-entrypoint"]
