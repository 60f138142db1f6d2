# Fenghuo production image: gunicorn serving Django; the same image runs the Celery
# worker and beat (see docker-compose.yml). Configuration comes from the environment:
# DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS...

# --- the source tree, without the developer's local state ----------------------------
FROM python:3.11-slim-bookworm AS source
COPY . /src
RUN cd /src \
    && rm -rf .git .ci .venv var staticfiles build .pytest_cache .ruff_cache .hypothesis \
        ./*.egg-info \
    && find . -name __pycache__ -prune -exec rm -rf {} +

# --- the image ------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBUG=false \
    FENGHUO_DATA_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, from pyproject.toml and the pins in constraints.txt alone, so code
# changes reuse this layer.
COPY pyproject.toml README.md constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY --from=source /src/ /app/
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info

# Translations (when there are any) and static files, collected as in production.
RUN if find . -path '*/LC_MESSAGES/*.po' | grep -q .; then \
        SECRET_KEY=build-only-not-a-secret python manage.py compilemessages; \
    fi \
    && SECRET_KEY=build-only-not-a-secret python manage.py collectstatic --noinput

# Code and static files stay root-owned (read-only to the app); var/ is the app's.
RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home fenghuo \
    && mkdir -p var/media var/broker/queue var/broker/processed \
    && chown -R fenghuo:fenghuo var
USER fenghuo

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-"]
