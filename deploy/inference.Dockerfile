# The inference service: the released model is embedded in the binary.
# Build from the repository root:
#   docker build -f deploy/inference.Dockerfile -t digits-inference .

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
RUN cargo chef cook --release --locked -p digits-inference --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked -p digits-inference

# --- runtime: distroless, no shell, non-root --------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /src/target/release/digits-inference /usr/local/bin/digits-inference
ENV DIGITS_INFERENCE_ADDR=0.0.0.0:50051
EXPOSE 50051
# A newer model can be mounted here and selected with DIGITS_MODEL_DIR.
VOLUME ["/models"]
USER nonroot
HEALTHCHECK --interval=10s --timeout=4s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/digits-inference", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/digits-inference"]
CMD ["serve"]
