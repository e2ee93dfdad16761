# syntax=docker/dockerfile:1
#
# VIPER container image: one process runs every module (API, dashboard, trading, backtests).
#
#   docker build -t viper .
#   docker run -d --name viper -p 127.0.0.1:8000:8000 \
#       --memory 1g --cpus 2 \
#       -v viper-data:/app/data -v viper-logs:/app/logs \
#       --env-file .env viper
#
# Resource limits
#   Recommended: --memory 1g --cpus 2 (compose: mem_limit / cpus; Kubernetes: limits 1Gi / 2).
#   The process idles under 150 MB. Backtests and optimizer jobs run in worker processes,
#   one per BACKTEST_WORKERS (default 2), and each worker holds its own candle arrays, so
#   memory grows with the workers and the length of the history tested. Keep BACKTEST_WORKERS
#   at or below the CPU limit; raise the memory limit before raising the worker count.
#
# Secrets
#   Never bake secrets into the image (no ENV, ARG or COPY of keys; .dockerignore keeps .env
#   and key files out of the build context). Pass them at run time instead:
#     - environment: VIPER_MASTER_KEY (vault master key), BITGET_API_KEY, BITGET_API_SECRET,
#       BITGET_API_PASSWORD, e.g. `--env-file .env` or a Kubernetes Secret;
#     - or a key file mounted read-only, e.g. `-v "$PWD/master.key:/run/secrets/viper_master_key:ro"`,
#       with the config pointing at that path.
#
# Ports: 8000 serves the API, dashboard, /health and /metrics. With `[server] legacy_ports = true`
# the process also listens on 8001..8016 (8009 unused); publish those ports too if old clients
# need them.

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-slim

# ---------------------------------------------------------------------------------------------
# vendor: the dashboard's chart library from npm (package-lock.json pins it). Only the one
# standalone file leaves this stage; node and node_modules stay behind.
# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS vendor

WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error \
    && mkdir -p /out \
    && cp node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.mjs \
        /out/lightweight-charts.js

# ---------------------------------------------------------------------------------------------
# builder: a virtualenv in /opt/venv with VIPER and its dependencies, all from PyPI.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, in their own layer, so a code change does not reinstall them:
# this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print(*deps, sep='\n')" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt

# Then the package itself. README.md is optional in the context (the wildcard may match nothing).
COPY pyproject.toml README.md* ./
COPY viper ./viper
COPY --from=vendor /out/lightweight-charts.js ./viper/web/static/vendor/lightweight-charts.js
# The installed package must serve the chart library: fail the build here if it was left out.
RUN pip install --no-cache-dir . \
    && viper --help > /dev/null \
    && cd / && python -c "from viper.modules.web.routes import STATIC, VENDOR_FILE; \
assert (STATIC / VENDOR_FILE).is_file(), 'the dashboard chart library is missing from the package'"

# ---------------------------------------------------------------------------------------------
# runtime: the slim base image, the virtualenv, a non-root user and nothing else.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="viper" \
      org.opencontainers.image.description="VIPER: a crypto-futures trading bot in one asyncio process" \
      org.opencontainers.image.licenses="Proprietary"

# In a container the app must bind all interfaces: its default, 127.0.0.1, would be
# unreachable from outside the container (published ports, probes, Prometheus).
# Environment overrides config.toml, so this holds whatever the mounted config says.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONFAULTHANDLER=1 \
    VIPER__SERVER__HOST=0.0.0.0

# Fixed uid/gid 10001, so volume ownership and Kubernetes runAsUser agree across rebuilds.
RUN groupadd --system --gid 10001 viper \
    && useradd --system --uid 10001 --gid viper --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin viper

COPY --from=builder /opt/venv /opt/venv

# State (data/) and logs (logs/) resolve against the working directory. Both directories are
# created and owned by viper *before* VOLUME, so new named volumes inherit that ownership.
WORKDIR /app
RUN mkdir -p /app/data /app/logs \
    && chown -R viper:viper /app

# The default config (paper trading). Owned by root and read-only for the app; replace it by
# mounting another file at /app/config.toml, or override single keys with VIPER__SECTION__KEY.
COPY config.toml /app/config.toml

USER 10001:10001

VOLUME ["/app/data", "/app/logs"]

EXPOSE 8000

# No curl in slim images: probe /health with the standard library. A 503 (a module failed)
# or a refused connection makes urlopen raise, so the check exits non-zero. The proxy handler
# is emptied so an HTTP(S)_PROXY meant for the exchange does not capture the local probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; port = os.environ.get('VIPER__SERVER__PORT') or os.environ.get('API_SERVER_PORT') or '8000'; u.build_opener(u.ProxyHandler({})).open(f'http://127.0.0.1:{port}/health', timeout=4)"]

CMD ["viper", "run", "--config", "/app/config.toml"]
