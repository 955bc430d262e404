# The image registry of the Swarm test (tests only; see README.md): Debian's
# docker-registry (the CNCF Distribution registry 2.8), plain HTTP on 5000,
# no authentication. The test's engine nodes pull from it by name.
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends docker-registry \
    && rm -rf /var/lib/apt/lists/*
COPY registry-config.yml /etc/docker/registry/config.yml
VOLUME ["/var/lib/docker-registry"]
EXPOSE 5000
USER docker-registry
ENTRYPOINT ["/usr/bin/docker-registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
