# The gateway, with the built web app inside.
# Build from the repository root:
#   docker build -f deploy/gateway.Dockerfile -t digits-gateway .

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

# --- the web app: wasm32 + wasm-bindgen at the lockfile's version -----------
FROM chef AS web
# Keep in step with wasm-bindgen in Cargo.lock (cargo xtask web checks it).
RUN rustup target add wasm32-unknown-unknown \
    && cargo install wasm-bindgen-cli --version 0.2.130
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --profile wasm-release --locked --target wasm32-unknown-unknown -p digits-web-ui --recipe-path recipe.json
COPY . .
RUN cargo xtask web

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked -p digits-gateway --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked -p digits-gateway

# --- runtime: distroless, no shell, non-root --------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /src/target/release/digits-gateway /usr/local/bin/digits-gateway
COPY --from=web /src/web-ui/dist /srv/web
ENV DIGITS_GATEWAY_ADDR=0.0.0.0:8080 \
    DIGITS_GATEWAY_GRPC_ADDR=0.0.0.0:50050 \
    DIGITS_WEB_DIR=/srv/web
EXPOSE 8080 50050
USER nonroot
HEALTHCHECK --interval=10s --timeout=4s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/digits-gateway", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/digits-gateway"]
CMD ["serve"]
