"""Checks the rules the compose files must keep, on docker-compose.yml with
compose.https.yml and compose.monitoring.yml as Docker Compose v2 resolved
them (`docker compose ... config` output on stdin).

Used by `cargo xtask test`; exits non-zero naming every broken rule.
(check_swarm.py holds docker-compose.yml + swarm.yml to the Swarm's rules.)
"""

from rules import main

OUR_SERVICES = ("gateway", "inference", "logging")


def volume_source(volume):
    """The source of a volume entry, short ("src:dst:mode") or long form."""
    return volume.split(":")[0] if isinstance(volume, str) else volume.get("source")


def volume_target(volume):
    return volume.split(":")[1] if isinstance(volume, str) else volume.get("target")


def limits(service):
    return service.get("deploy", {}).get("resources", {}).get("limits", {})


def port_binding(port):
    """(host ip or "", target port) of a ports entry, short or long form."""
    if isinstance(port, dict):
        return port.get("host_ip", ""), str(port.get("target"))
    parts = str(port).split("/")[0].split(":")
    return (parts[0] if len(parts) == 3 else ""), parts[-1]


def problems(config):
    services = config["services"]
    networks = config.get("networks", {})
    found = []

    def need(ok, message):
        if not ok:
            found.append(message)

    need(set(services) >= {"postgres", "gateway", "inference", "logging", "caddy"}, "a service is missing")
    # Scalable services: no fixed name, no fixed host port.
    for name in ("inference", "logging"):
        need("container_name" not in services[name], f"{name} has a container_name: it could not scale")
        need("ports" not in services[name], f"{name} publishes ports: replicas would clash")
    # PostgreSQL only on the internal network, never published.
    need("ports" not in services["postgres"], "postgres publishes a port")
    need(list(services["postgres"]["networks"]) == ["backend"], "postgres is on a network other than backend")
    need(networks.get("backend", {}).get("internal") is True, "the backend network is not internal")
    named = set(config.get("volumes", {}))
    need(any(volume_source(v) in named and volume_target(v) == "/var/lib/postgresql/data"
             for v in services["postgres"].get("volumes", [])), "postgres data is not on a named volume")
    need("healthcheck" in services["postgres"], "postgres has no healthcheck")
    # No start order by health: `docker stack deploy` ignores it, so every
    # service waits for what it needs by itself (depends_on is a plain list).
    for name, service in services.items():
        for dep, how in (service.get("depends_on") or {}).items():
            need(how.get("condition") == "service_started", f"{name} waits for {dep} to be {how.get('condition')}")
    # The database password is a secret file, never an environment value.
    secret = config.get("secrets", {}).get("postgres_password", {})
    need(bool(secret.get("file")), "the PostgreSQL password is not a secret read from a file")
    for name in ("postgres", "logging"):
        mounted = [s.get("source") if isinstance(s, dict) else s for s in services[name].get("secrets", [])]
        need(mounted == ["postgres_password"], f"{name} does not get the postgres_password secret")
    need("POSTGRES_PASSWORD" not in services["postgres"].get("environment", {})
         and services["postgres"]["environment"].get("POSTGRES_PASSWORD_FILE") == "/run/secrets/postgres_password",
         "postgres does not read its password from the secret")
    logging_env = services["logging"].get("environment", {})
    url = logging_env.get("DATABASE_URL", "")
    need(":" not in url.split("://", 1)[-1].split("@", 1)[0] and
         logging_env.get("DIGITS_DATABASE_PASSWORD_FILE") == "/run/secrets/postgres_password",
         "logging's DATABASE_URL carries a password instead of reading the secret")
    for name in OUR_SERVICES:
        env = services[name].get("environment", {})
        need(env.get("DIGITS_LOG_FORMAT") == "json", f"{name} does not log JSON")
        build = services[name].get("build", {})
        need(str(build.get("dockerfile", "")).endswith("deploy/Dockerfile") and build.get("target") == name,
             f"{name} is not built as the {name} target of deploy/Dockerfile")
    gateway_env = services["gateway"]["environment"]
    need(gateway_env.get("DIGITS_INFERENCE_URL") == "http://inference:50051"
         and gateway_env.get("DIGITS_LOGGING_URL") == "http://logging:50052",
         "the gateway does not find inference and logging by their service names")
    bindings = [port_binding(p) for p in services["gateway"].get("ports", [])]
    need({"8080", "50050"} <= {target for _, target in bindings},
         "the gateway does not publish HTTP 8080 and gRPC 50050")
    need(all(ip == "127.0.0.1" for ip, _ in bindings),
         "with .env.example the gateway is published beyond 127.0.0.1: Caddy should be the public entry")
    # Hardening: every service bounded; ours locked down.
    for name, service in services.items():
        need("no-new-privileges:true" in service.get("security_opt", []), f"{name} may gain privileges")
        # Under deploy.resources, the one form both compose and a Swarm take.
        need({"memory", "pids"} <= set(limits(service)), f"{name} has no memory or pids limit")
    for name in (*OUR_SERVICES, "caddy"):
        need(services[name].get("read_only") is True, f"{name} has a writable root filesystem")
        need(services[name].get("cap_drop") == ["ALL"], f"{name} keeps its capabilities")
    # Monitoring: Prometheus scraping the backend, its UI on this machine only.
    prometheus = services.get("prometheus", {})
    need("backend" in prometheus.get("networks", {}), "prometheus cannot reach the services it scrapes")
    need(all(ip == "127.0.0.1" for ip, _ in (port_binding(p) for p in prometheus.get("ports", []))),
         "prometheus is published beyond 127.0.0.1")
    need(prometheus.get("read_only") is True and prometheus.get("cap_drop") == ["ALL"],
         "prometheus is not locked down")
    # Nothing answered is lost: the spool outlives the container, and a stop
    # leaves time to drain the queue (its flush timeout plus 10 s for the requests in flight).
    spool = gateway_env.get("DIGITS_LOG_SPOOL_DIR")
    need(bool(spool) and any(volume_source(v) in named and volume_target(v) == spool
                             for v in services["gateway"].get("volumes", [])),
         "the gateway's log spool is not on a named volume")
    flush = int(gateway_env.get("DIGITS_LOG_FLUSH_TIMEOUT_S", 10))
    need(seconds(services["gateway"].get("stop_grace_period", "10s")) >= flush + 10,
         "the gateway's stop_grace_period leaves no time to drain its log queue")
    # Rate limits see each visitor, not the proxy: with compose.https.yml,
    # Caddy is the one trusted proxy.
    caddy_ip = services["caddy"].get("networks", {}).get("frontend", {}).get("ipv4_address")
    need(caddy_ip is not None and gateway_env.get("DIGITS_TRUSTED_PROXIES") == caddy_ip,
         "the gateway does not trust exactly Caddy's fixed address for X-Forwarded-For")
    return found


def seconds(duration):
    """Seconds of a compose duration such as "30s", "1m30s" or 30."""
    if isinstance(duration, (int, float)):
        return duration
    total, number = 0.0, ""
    for char in str(duration):
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number or 0) * {"h": 3600, "m": 60, "s": 1}.get(char, 0)
            number = ""
    return total + float(number or 0)


if __name__ == "__main__":
    main("docker-compose.yml", problems, count=lambda config: f"{len(config['services'])} services")
