# The gateway alone; ClickHouse and Redis run beside it (see compose.yaml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY resolvers resolvers
COPY sql sql
RUN pip install --no-cache-dir .
ENV SPYGLASS_HOST=0.0.0.0 PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["spyglass", "serve", "--host", "0.0.0.0", "--port", "8000"]
