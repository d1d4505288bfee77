# One image with every k3sync binary: producer, worker, ctl and kingdee-mock, built with the
# `image` profile of Cargo.toml (release, stripped of debug info and symbols).
#
#   docker build -t k3sync:local \
#     --build-arg REVISION="$(git rev-parse HEAD)" --build-arg CREATED="$(date -u +%FT%TZ)" .
#   docker run --rm k3sync:local ctl --help
#
# Settings: /etc/k3sync/k3sync.toml (the demo defaults from config/), overridden by
# K3SYNC__SECTION__KEY environment variables; mount another folder on /etc/k3sync for your own.
# Inside the container the metrics/health addresses and the mock listen on 0.0.0.0 (set below);
# the binaries' own defaults stay on the loopback for bare-metal hosts.

FROM rust:1-bookworm AS builder
WORKDIR /src

# Dependency layer: the manifests and the lock file with stub sources, so that the third-party
# crates are compiled once and reused until a Cargo.toml or Cargo.lock changes. Every workspace
# member's manifest must be listed here (Cargo refuses a workspace with one missing).
COPY Cargo.toml Cargo.lock ./
COPY common/Cargo.toml common/
COPY producer/Cargo.toml producer/
COPY worker/Cargo.toml worker/
COPY ctl/Cargo.toml ctl/
COPY kingdee-mock/Cargo.toml kingdee-mock/
COPY tests/Cargo.toml tests/
COPY bench/Cargo.toml bench/
# A stub for the conventional targets and for every target path a manifest names; the stubs are
# deleted again, so the real sources below never see them.
RUN set -eux; \
    for manifest in */Cargo.toml; do \
        crate=${manifest%/Cargo.toml}; \
        for target in src/lib.rs src/main.rs $(sed -n 's/^path *= *"\([^"]*\.rs\)".*/\1/p' "$manifest"); do \
            mkdir -p "$crate/$(dirname "$target")"; \
            echo 'fn main() {}' > "$crate/$target"; \
        done; \
    done; \
    cargo build --profile image --locked -p producer -p worker -p ctl -p kingdee-mock; \
    for manifest in */Cargo.toml; do rm -rf "${manifest%/Cargo.toml}"; done

# The real sources. COPY keeps the files' own modification times, which can be older than the
# stub build above; touching them makes Cargo rebuild the workspace crates.
COPY . .
RUN set -eux; \
    find common producer worker ctl kingdee-mock -name '*.rs' -exec touch {} +; \
    cargo build --profile image --locked -p producer -p worker -p ctl -p kingdee-mock; \
    mkdir -p /out; \
    cp target/image/producer target/image/worker target/image/ctl target/image/kingdee-mock /out/

FROM debian:bookworm-slim AS runtime
# ca-certificates unpinned on purpose: it should be the newest the base image's release has.
# hadolint ignore=DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10001 k3sync; \
    useradd --system --uid 10001 --gid k3sync --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin k3sync
COPY --from=builder /out/ /usr/local/bin/
# A tiny HTTP probe for container health checks (the image carries no curl).
COPY deploy/http-probe /usr/local/bin/http-probe
RUN chmod 0755 /usr/local/bin/http-probe
COPY config/ /etc/k3sync/
ENV K3SYNC_CONFIG=/etc/k3sync/k3sync.toml \
    K3SYNC__PRODUCER__LISTEN=0.0.0.0:9101 \
    K3SYNC__WORKER__LISTEN=0.0.0.0:9102 \
    KINGDEE_MOCK_LISTEN=0.0.0.0:8090 \
    RUST_LOG=info
# Build facts (override with --build-arg); the rest describes the image.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="k3sync" \
      org.opencontainers.image.description="Kingdee K3Cloud master data into a CRM's MySQL through RabbitMQ: producer, worker, ctl and kingdee-mock" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
# Numeric, so that runtimes can check it is not root (Kubernetes runAsNonRoot).
USER 10001:10001
# producer /metrics, worker /metrics, kingdee-mock
EXPOSE 9101 9102 8090
CMD ["worker"]
