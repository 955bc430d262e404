"""Checks the rules docker-compose.yml must keep, on the file as a compose
implementation resolved it (`docker-compose config` output on stdin).

Used by `cargo xtask test`; exits non-zero naming every broken rule.
"""

from rules import main

OUR_SERVICES = ("gateway", "inference", "logging")


def volume_source(volume):
    """The source of a volume entry, short ("src:dst:mode") or long form."""
    return volume.split(":")[0] if isinstance(volume, str) else volume.get("source")


def volume_target(volume):
    return volume.split(":")[1] if isinstance(volume, str) else volume.get("target")


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
    # Start order by health.
    for name, deps in (("logging", ["postgres"]), ("gateway", ["inference", "logging"])):
        for dep in deps:
            condition = services[name].get("depends_on", {}).get(dep, {}).get("condition")
            need(condition == "service_healthy", f"{name} does not wait for {dep} to be healthy")
    for name in OUR_SERVICES:
        env = services[name].get("environment", {})
        need(env.get("DIGITS_LOG_FORMAT") == "json", f"{name} does not log JSON")
        build = services[name].get("build", {})
        need(str(build.get("dockerfile", "")).endswith("deploy/Dockerfile") and build.get("target") == name,
             f"{name} is not built as the {name} target of deploy/Dockerfile")
    gateway_env = services["gateway"]["environment"]
    need(gateway_env.get("DIGITS_INFERENCE_URL") == "http://inference:50051",
         "the gateway does not find inference by its service name")
    bindings = [port_binding(p) for p in services["gateway"].get("ports", [])]
    need({"8080", "50050"} <= {target for _, target in bindings},
         "the gateway does not publish HTTP 8080 and gRPC 50050")
    need(all(ip == "127.0.0.1" for ip, _ in bindings),
         "with .env.example the gateway is published beyond 127.0.0.1: Caddy should be the public entry")
    # Hardening: every service bounded; ours locked down.
    for name, service in services.items():
        need("no-new-privileges:true" in service.get("security_opt", []), f"{name} may gain privileges")
        need("mem_limit" in service and "pids_limit" in service, f"{name} has no memory or pids limit")
    for name in (*OUR_SERVICES, "caddy"):
        need(services[name].get("read_only") is True, f"{name} has a writable root filesystem")
        need(services[name].get("cap_drop") == ["ALL"], f"{name} keeps its capabilities")
    need(services["caddy"].get("profiles") == ["https"], "caddy is not behind the https profile")
    return found


if __name__ == "__main__":
    main("docker-compose.yml", problems, count=lambda config: f"{len(config['services'])} services")
