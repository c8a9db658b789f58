# syntax=docker/dockerfile:1
# Initiative Bot: `serve` by default; `scheduler`, `db upgrade` and every other command through the same image.
# CI builds it on a Debian 12 base made with debootstrap (.ci/build-image) and runs it in a chroot; the slim default
# base is not reachable there: docs/operations.md says what is tested and how.

# The base image: any Debian-based image with Python >= 3.11 that can `python3 -m venv` (Debian's own python3 needs
# python3-venv for that): a mirror's copy, or one made in-house.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv holding the bot and its dependencies (all from wheels: no compiler is needed) ----
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/initiative-bot
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
# The Slack emulator ships in the package (`initiative-bot playground` runs against it).
COPY slack_emulator ./slack_emulator
RUN /opt/initiative-bot/bin/pip install . \
    && /opt/initiative-bot/bin/initiative-bot --version

# ---- run: the virtualenv only; no pip cache, no sources, no build tools; a user without privileges ----
FROM ${BASE_IMAGE}
ENV PATH=/opt/initiative-bot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin initiative-bot
COPY --from=build /opt/initiative-bot /opt/initiative-bot
USER 10001
WORKDIR /tmp
EXPOSE 3000
# Liveness only (never the database): python is there, curl is not. (`scheduler` containers override it.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]
# Exec form: the bot is PID 1 and gets SIGTERM itself; gunicorn's master then lets in-flight work finish
# (--graceful-timeout), so give `docker stop` / Kubernetes more than that (docs/operations.md).
STOPSIGNAL SIGTERM
ENTRYPOINT ["initiative-bot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
