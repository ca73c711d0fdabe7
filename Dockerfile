# SafeStream production image: the server with the default offline model (CPU torch).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
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

COPY pyproject.toml README.md ./
COPY actors ./actors
COPY safestream ./safestream
COPY dashboard ./dashboard
COPY ui ./ui
RUN pip install ".[ml,dash]"

RUN mkdir -p /app/data && chown safestream /app/data
USER safestream
VOLUME ["/app/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/health'); sys.exit(0)"
# JWT_SECRET_KEY must be given at run time: the server refuses to start without it.
CMD ["safestream", "serve"]
