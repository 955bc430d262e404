# Stand-in for gcr.io/distroless/cc-debian12:nonroot (tests only; see README.md).
FROM debian:bookworm-slim
# The nonroot user of distroless images, then no shell: a Dockerfile that
# needs one (a shell-form HEALTHCHECK, say) fails here as it would upstream.
RUN groupadd --gid 65532 nonroot \
    && useradd --uid 65532 --gid 65532 --home-dir /home/nonroot --create-home --shell /sbin/nologin nonroot \
    && rm -f /usr/bin/sh /usr/bin/bash /usr/bin/dash /usr/bin/rbash /bin/sh /bin/bash /bin/dash
USER 65532:65532
WORKDIR /home/nonroot
