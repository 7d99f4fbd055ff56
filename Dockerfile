# deploybot's container image: `docker build -t deploybot .`, then `docker run` (README).
# The builder installs the locked runtime packages and the bot into a venv; the final stage is
# the slim base image with that venv only, run by a user without privileges (uid 10001).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
# uv at the Makefile's version installs exactly what uv.lock pins, every file's hash checked.
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/deploybot
WORKDIR /src
# The packages first, in a layer that changes only with the lock; then the bot itself.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project
COPY README.md ./
COPY bot ./bot
COPY blocks ./blocks
RUN uv sync --locked --no-dev --no-editable

FROM ${PYTHON_IMAGE}
RUN useradd --system --user-group --uid 10001 --create-home --home-dir /var/lib/deploybot \
    deploybot
COPY --from=builder /opt/deploybot /opt/deploybot
# DEPLOYBOT_HOST: a container's port is reached from outside it. SQLite, the default database,
# lands in the working directory: mount a volume there, or set DATABASE_URL to PostgreSQL.
ENV PATH=/opt/deploybot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DEPLOYBOT_HOST=0.0.0.0 \
    PORT=3000
WORKDIR /var/lib/deploybot
USER 10001:10001
EXPOSE 3000
# The slim image has no curl: Python asks the liveness endpoint, and fails on any error or 5xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
CMD ["deploybot"]
