# syntax=docker/dockerfile:1
# One image runs either process: `billecta-gateway api` (default) or `billecta-gateway worker`.
# Only the runtime dependencies from uv.lock are installed: no dev tools, no `local` extra.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    UV_PYTHON_DOWNLOADS=never UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_NO_CACHE=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml uv.lock ./
# The uv that made the lock (its version is in the lock's dev group), in a throwaway venv.
RUN python -m venv /opt/uv \
    && /opt/uv/bin/pip install "uv==$(python -c 'import tomllib; print(next(p["version"] for p in tomllib.load(open("uv.lock", "rb"))["package"] if p["name"] == "uv"))')"
# Dependencies first (a layer that survives source changes), then the project itself.
RUN /opt/uv/bin/uv sync --locked --no-dev --no-install-project --no-editable
COPY README.md ./
COPY src ./src
RUN /opt/uv/bin/uv sync --locked --no-dev --no-editable

FROM python:3.11-slim-bookworm AS runtime
# weasyprint renders PDF reports with pango; fonts so reports have glyphs.
RUN apt-get update && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libfontconfig1 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin gateway
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY alembic.ini ./
COPY migrations ./migrations
ENV PATH="/opt/venv/bin:$PATH" PYTHONUNBUFFERED=1 LOG_FORMAT=json
USER gateway
EXPOSE 8000
# Fits the API (the default command). A worker container overrides it with
# `billecta-gateway worker --check` (docker-compose.yml; README "Docker" for Kubernetes).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["billecta-gateway"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
