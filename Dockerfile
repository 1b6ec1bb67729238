# meetq: the collector and the viewer share this image; docker-compose.yml runs both.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MEETQ_DATABASE=/data/meetq.db MEETQ_SECRETS=/secrets/secrets.json MEETQ_LOG_FORMAT=json \
    MEETQ_VIEWER_SECRETS=/viewer/viewer-secrets.json

RUN useradd --create-home --uid 10001 meetq && mkdir -p /data /secrets /viewer && chown meetq:meetq /data /secrets /viewer
WORKDIR /app
COPY pyproject.toml README.md ./
COPY setup.py ./
COPY etl ./etl
COPY viewer ./viewer
COPY config ./config
# Not editable: the image holds the package, the viewer included.
RUN pip install --no-cache-dir .

USER meetq
CMD ["meetq", "run"]
