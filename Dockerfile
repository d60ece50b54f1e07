# One image for the three services and the migration step (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --system --uid 10001 --home /app cxloop

COPY pyproject.toml README.md requirements.lock ./
# Exact versions first (a cached layer while the lock is unchanged), then the project without resolving again.
RUN pip install --no-cache-dir -r requirements.lock
COPY shared ./shared
COPY services ./services
COPY cxloop ./cxloop
COPY migrations ./migrations
# Editable, so `cxloop migrate` finds ./migrations beside the code.
RUN pip install --no-cache-dir --no-deps -e . && chown -R cxloop /app

USER cxloop
EXPOSE 8001 8002 8003
CMD ["cxloop", "serve", "all", "--host", "0.0.0.0"]
