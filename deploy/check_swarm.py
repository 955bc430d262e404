"""Checks the rules the Swarm stack must keep: docker-compose.yml with
swarm.yml on top, as `docker stack config` merged them (stdin), with
DIGITS_REGISTRY=registry.example.com/digits and DIGITS_TAG=1.0.0.

Used by `cargo xtask test`; exits non-zero naming every broken rule. That
`docker stack config` takes the files at all is the first rule: it refuses
what a Swarm cannot run (profiles, mem_limit, depends_on conditions).
"""

import re
from pathlib import Path

from check_compose import OUR_SERVICES, limits, seconds, volume_source, volume_target
from rules import main

REGISTRY, TAG = "registry.example.com/digits", "1.0.0"
DOCKERFILE = Path(__file__).with_name("Dockerfile")


def rolling(deploy, order):
    """Whether updates go one task at a time, in `order`, and roll back on failure."""
    update = deploy.get("update_config", {})
    return (update.get("parallelism") == 1 and update.get("order") == order
            and update.get("failure_action") == "rollback")


def spread(deploy):
    placement = deploy.get("placement", {})
    return ({"spread": "node.id"} in placement.get("preferences", [])
            and placement.get("max_replicas_per_node", 0) >= 1)


def problems(config):
    services = config["services"]
    networks = config.get("networks", {})
    found = []

    def need(ok, message):
        if not ok:
            found.append(message)

    # The four services of docker-compose.yml; Caddy and Prometheus have files of their own.
    need(set(services) == {"postgres", "logging", "inference", "gateway"}, f"services {sorted(services)}")
    for name in OUR_SERVICES:
        service = services[name]
        deploy = service.get("deploy", {})
        need(service.get("image") == f"{REGISTRY}/digits-{name}:{TAG}",
             f"{name} is not pulled from DIGITS_REGISTRY: {service.get('image')}")
        need(deploy.get("restart_policy", {}).get("condition") == "any", f"{name} is not restarted after a failure")
        need({"memory", "pids"} <= set(limits(service)), f"{name} has no memory or pids limit")
        need(service.get("read_only") is True and service.get("cap_drop") == ["ALL"], f"{name} is not locked down")
        # Found through DNS, one address per task: no virtual IP (and no IPVS) on the way.
        need(deploy.get("endpoint_mode") == "dnsrr", f"{name} is not endpoint_mode: dnsrr")
    # Health checks gate the updates: each image declares one.
    stages = re.split(r"^FROM ", DOCKERFILE.read_text(), flags=re.M)
    for name in OUR_SERVICES:
        stage = next((s for s in stages if re.match(rf"\S+ AS {name}\b", s)), "")
        need("HEALTHCHECK" in stage, f"the {name} image has no HEALTHCHECK to gate its updates")

    inference = services["inference"]["deploy"]
    need(inference.get("replicas", 1) >= 2 and spread(inference), "inference replicas are not spread over the nodes")
    need(rolling(inference, "start-first"), "inference updates do not start the new task first, or do not roll back")
    logging = services["logging"]["deploy"]
    need(logging.get("replicas", 1) >= 2 and spread(logging), "logging has fewer than two replicas spread over nodes")
    need(rolling(logging, "start-first"), "logging updates do not start the new task first, or do not roll back")

    # The gateway: one per node, on the node's own ports; two cannot hold
    # one node's port, so its updates stop the old task first.
    gateway = services["gateway"]
    need(gateway["deploy"].get("mode") == "global", "the gateway is not on every node (mode: global)")
    ports = {(p.get("target"), p.get("published"), p.get("mode")) for p in gateway.get("ports", [])}
    need(ports == {(8080, 8080, "host"), (50050, 50050, "host")},
         f"the gateway does not publish 8080 and 50050 in host mode: {ports}")
    need(rolling(gateway["deploy"], "stop-first"), "gateway updates are not one node at a time with a rollback")
    env = gateway.get("environment", {})
    spool = env.get("DIGITS_LOG_SPOOL_DIR")
    named = set(config.get("volumes", {}))
    need(bool(spool) and any(volume_source(v) in named and volume_target(v) == spool
                             for v in gateway.get("volumes", [])),
         "the gateway's spool is not on a volume of its node")
    flush = int(env.get("DIGITS_LOG_FLUSH_TIMEOUT_S", 10))
    need(seconds(gateway.get("stop_grace_period", "10s")) >= flush + 10,
         "the gateway's stop grace period leaves no time to drain its log queue")

    # PostgreSQL: on the node with its volume, never two at once, its password a secret.
    postgres = services["postgres"]
    deploy = postgres.get("deploy", {})
    need(deploy.get("replicas", 1) == 1, "more than one PostgreSQL")
    need("node.labels.digits.postgres == true" in deploy.get("placement", {}).get("constraints", []),
         "PostgreSQL is not pinned to the node labelled digits.postgres=true")
    need(deploy.get("update_config", {}).get("order") == "stop-first", "a PostgreSQL update could run two servers")
    need("healthcheck" in postgres, "postgres has no healthcheck")
    need(bool(config.get("secrets", {}).get("postgres_password", {}).get("file")),
         "the PostgreSQL password is not a Docker secret")
    for name in ("postgres", "logging"):
        mounted = [s.get("source") if isinstance(s, dict) else s for s in services[name].get("secrets", [])]
        need(mounted == ["postgres_password"], f"{name} does not get the postgres_password secret")
    need("POSTGRES_PASSWORD" not in postgres.get("environment", {}), "the password is an environment value")

    need(networks.get("backend", {}).get("driver") == "overlay" and networks["backend"].get("internal") is True,
         "the backend network is not an internal overlay")
    need(networks.get("frontend", {}).get("driver") == "overlay", "the frontend network is not an overlay")
    return found


if __name__ == "__main__":
    main("swarm.yml", problems, count=lambda config: f"{len(config['services'])} services")
