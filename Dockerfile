# syntax=docker/dockerfile:1
# credcheck: multi-stage, non-root, read-only-root-filesystem friendly; no build tools in the final image.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip install --no-cache-dir build==1.2.2 \
 && python -m build --wheel --outdir /wheels . \
 && pip wheel --no-cache-dir --wheel-dir /wheels /wheels/credcheck-*.whl

FROM python:3.11-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="credcheck" \
      org.opencontainers.image.description="Checks that KKP's AWS credentials can do what KKP needs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://example.invalid/credcheck"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels credcheck \
 && rm -rf /wheels
USER 65532:65532
EXPOSE 8080 8081 9443
ENTRYPOINT ["credcheck", "run"]
