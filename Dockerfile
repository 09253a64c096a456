# The service image: the pinned runtime dependencies, then this package; reference data is mounted.
FROM python:3.11-slim
WORKDIR /srv/lba
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN pip install --no-cache-dir --no-deps -e .
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["lba", "serve"]
