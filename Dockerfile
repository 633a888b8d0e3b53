# Tavoli in a container: SQLite under /app/data by default; set DATABASE_URL for PostgreSQL.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Pango and fonts for WeasyPrint's PDF minutes.
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir . && useradd --create-home tavoli && mkdir data && chown tavoli data
USER tavoli
EXPOSE 8000
# --proxy-headers trusts X-Forwarded-Proto/-For from 127.0.0.1 only: behind a proxy in another
# container, set FORWARDED_ALLOW_IPS to its address or network (docs/deploy.md).
CMD ["sh", "-c", "alembic upgrade head && python -m app.cli links && exec uvicorn --factory app.main:create_app --host 0.0.0.0 --port 8000 --proxy-headers"]
