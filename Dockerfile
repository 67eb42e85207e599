# syntax=docker/dockerfile:1
# credcheck: multi-stage, non-root, read-only-root-filesystem friendly; no build tools or pip in the final image.
# BASE: python:3.11-slim by default; the tests build on a local Debian bookworm base (hack/build-base-image.sh).
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY operator ./operator
# runtime dependencies only as locked, hash-checked; then credcheck itself, without dependencies
RUN if [ -f /etc/ssl/certs/ca-certificates.crt ]; then export PIP_CERT=/etc/ssl/certs/ca-certificates.crt; fi \
 && python3 -m venv /opt/credcheck \
 && /opt/credcheck/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes \
      --requirement requirements.lock \
 && /opt/credcheck/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps . \
 && /opt/credcheck/bin/pip uninstall --yes --disable-pip-version-check pip \
 && rm -rf /root/.cache

FROM ${BASE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="credcheck" \
      org.opencontainers.image.description="Checks that KKP's AWS credentials can do what KKP needs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://example.invalid/credcheck"
# kopf names its peering identity after getpass.getuser(): without USER or a passwd entry for the uid (65532 has
# none in the base images) the operator cannot start
RUN echo 'credcheck:x:65532:65532:credcheck:/tmp:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'credcheck:x:65532:' >> /etc/group
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    USER=credcheck \
    HOME=/tmp \
    PATH=/opt/credcheck/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY --from=build /opt/credcheck /opt/credcheck
USER 65532:65532
EXPOSE 8080 8081 9443
ENTRYPOINT ["credcheck", "run"]
