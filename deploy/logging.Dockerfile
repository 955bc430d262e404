# The logging service (diesel links libpq, so the runtime keeps libpq5).
# Build from the repository root:
#   docker build -f deploy/logging.Dockerfile -t digits-logging .

# --- dependencies, cached while Cargo.lock is unchanged (cargo-chef) --------
FROM rust:1.95-slim-bookworm AS chef
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/* \
    && cargo install cargo-chef --locked --version 0.1.72
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked -p digits-logging --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked -p digits-logging

# --- runtime: slim Debian with libpq, non-root ------------------------------
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/digits --create-home digits
COPY --from=builder /src/target/release/digits-logging /usr/local/bin/digits-logging
ENV DIGITS_LOGGING_ADDR=0.0.0.0:50052
EXPOSE 50052
USER digits
WORKDIR /var/lib/digits
HEALTHCHECK --interval=10s --timeout=4s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/digits-logging", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/digits-logging"]
CMD ["serve"]
