# SafeStream production image: the server with the default offline model (CPU torch).
#
# Two stages: the first builds the project's wheel from exactly the files COPYd below, the
# second installs that wheel (with the ml and dash extras) and keeps no source tree, so
# the image runs what tests/e2e/test_wheel_install.py builds, installs and serves.

FROM python:3.11-slim AS wheel
ENV PIP_NO_CACHE_DIR=1
WORKDIR /src
# Everything the wheel build needs: the metadata, the packages and the browser client
# (`ui/` ships as the package safestream.ui).
COPY pyproject.toml README.md ./
COPY actors ./actors
COPY safestream ./safestream
COPY dashboard ./dashboard
COPY ui ./ui
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

# MALLOC_ARENA_MAX=2: glibc gives each thread that allocates its own heap (up to 8 per
# core) and the model's freed activations stay in every heap that ran it; with 2 the
# moderation model's memory levels off lower (docs/benchmarks.md, "Model memory").
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PIP_NO_CACHE_DIR=1 \
    SAFESTREAM_MODE=production \
    APP_HOST=0.0.0.0 \
    APP_PORT=8000 \
    DATA_DIR=/app/data \
    DATABASE_URL=sqlite:////app/data/safestream.db

WORKDIR /app
RUN useradd --create-home --uid 10001 safestream

# The CPU build of torch first, so the ml extra does not pull a CUDA build: pass the
# index that serves CPU wheels, e.g. --build-arg TORCH_PIP_ARGS="--index-url <cpu index>".
ARG TORCH_PIP_ARGS=""
RUN pip install $TORCH_PIP_ARGS torch==2.13.0

COPY --from=wheel /wheels /wheels
RUN wheel="$(ls /wheels/safestream-*.whl)" && pip install "${wheel}[ml,dash,broker]" && rm -rf /wheels

RUN mkdir -p /app/data && chown safestream /app/data
USER safestream
VOLUME ["/app/data"]
EXPOSE 8000
# Asks the port the server listens on (APP_PORT may be overridden at run time); the start
# period leaves time to load the model before failed checks count.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('APP_PORT', '8000'), timeout=4)"]
# JWT_SECRET_KEY must be given at run time: the server refuses to start without it.
CMD ["safestream", "serve"]
