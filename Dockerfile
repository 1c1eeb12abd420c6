# Small non-root image: migrates the database named by DATABASE_URL, then serves with uvicorn.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY solver ./solver
COPY migrations ./migrations
RUN pip install . && useradd --create-home --uid 10001 wushe && chown wushe /app

USER wushe
ENV WUSHE_ENVIRONMENT=production WUSHE_HOST=0.0.0.0 DATABASE_URL=sqlite:////home/wushe/wushe.db
EXPOSE 8000
CMD ["sh", "-c", "wushe migrate && exec uvicorn service.main:app --host 0.0.0.0 --port 8000 --proxy-headers --no-access-log"]
