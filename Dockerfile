# One image for both services; the command picks one: `master-data serve` or `cart serve`
# (compose.yaml, deploy/k8s/). Settings come from the environment (README: configuration).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gen ./gen
COPY services ./services
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home kugel \
    && mkdir /data && chown kugel /data

# Never root. SQLite files (the one-machine default) go to /data; replicas use PostgreSQL URLs.
USER 10001
ENV BIND_HOST=0.0.0.0 MASTER_DATA_DB=/data/master_data.db CART_DB=/data/cart.db
EXPOSE 8002 8003 50051

# Ready when the process answers and its database does (/readyz on HTTP_PORT, which both
# services serve; compose and the manifests set HTTP_PORT for each).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HTTP_PORT', '8002') + '/readyz', timeout=2)"]

CMD ["master-data", "serve"]
