# Slotwise proxy image: `slotwise serve`, configured by SLOTWISE_* variables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SLOTWISE_HOST=0.0.0.0 \
    SLOTWISE_PORT=8000 \
    SLOTWISE_DATA=/data \
    MALLOC_TRIM_THRESHOLD_=268435456 \
    MALLOC_MMAP_THRESHOLD_=268435456

WORKDIR /app
COPY pyproject.toml README.md ./
COPY slotwise ./slotwise
RUN pip install . \
 && useradd --system --uid 10001 --home-dir /data --create-home slotwise

USER slotwise
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import os,urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:%s/_sw/live' % os.environ.get('SLOTWISE_PORT','8000'), timeout=2); sys.exit(0)" || exit 1

ENTRYPOINT ["slotwise"]
CMD ["serve"]
