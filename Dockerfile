# Prompter API image: one `prompter serve` process per container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed uid so mounted volumes and Kubernetes securityContext can name it.
RUN useradd --create-home --uid 10001 --user-group prompter

WORKDIR /app
# The whole build context (trimmed by .dockerignore) rather than a list of folders: migrations
# and config files next to pyproject.toml stay available at /app without editing this file.
COPY . /app
RUN pip install /app

USER prompter
EXPOSE 8000
CMD ["prompter", "serve", "--host", "0.0.0.0", "--port", "8000"]
