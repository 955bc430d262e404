"""Checks the rules the Kubernetes manifests must keep, on the objects as
`kubectl kustomize deploy/k8s/overlays/example` rendered them (stdin).

Used by `cargo xtask test`; exits non-zero naming every broken rule.
"""

import yaml

from rules import main

OURS = ("gateway", "inference", "logging")
# (from, to, port): the only pod-to-pod paths the network policies may open.
PATHS = {("gateway", "inference", 50051), ("gateway", "logging", 50052), ("logging", "postgres", 5432)}


def app(selector):
    return (selector or {}).get("matchLabels", {}).get("app.kubernetes.io/name")


# The admin ports that serve /metrics (DIGITS_METRICS_ADDR).
METRICS_PORTS = {9101, 9102}


def problems(objects):
    found = []

    def need(ok, message):
        if not ok:
            found.append(message)

    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    deployments = by_kind.get("Deployment", {})
    services = by_kind.get("Service", {})

    need(set(deployments) == set(OURS), f"Deployments should be exactly {OURS}: {sorted(deployments)}")
    need("postgres" in by_kind.get("StatefulSet", {}), "PostgreSQL is not a StatefulSet")
    for name in ("inference", "logging"):
        need(services.get(name, {}).get("spec", {}).get("clusterIP") == "None",
             f"the {name} Service is not headless: the gateway would see one address")
    for name in (*OURS, "postgres"):
        need(name in services, f"no Service {name}")

    workloads = list(deployments.values()) + list(by_kind.get("StatefulSet", {}).values())
    for w in workloads:
        name = w["metadata"]["name"]
        pod = w["spec"]["template"]["spec"]
        psc = pod.get("securityContext", {})
        need(psc.get("runAsNonRoot") is True, f"{name}: pod may run as root")
        need(psc.get("runAsUser", 0) != 0, f"{name}: runAsUser is root")
        need(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{name}: no RuntimeDefault seccomp")
        need(pod.get("automountServiceAccountToken") is False, f"{name}: mounts a service account token")
        for c in pod["containers"]:
            sc = c.get("securityContext", {})
            need(sc.get("allowPrivilegeEscalation") is False, f"{name}: privilege escalation allowed")
            need(sc.get("readOnlyRootFilesystem") is True, f"{name}: root filesystem writable")
            need(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities not dropped")
            resources = c.get("resources", {})
            for kind in ("requests", "limits"):
                need({"cpu", "memory"} <= set(resources.get(kind, {})), f"{name}: no cpu and memory {kind}")
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                need(probe in c, f"{name}: no {probe}")
                if name in OURS:
                    port = c.get(probe, {}).get("grpc", {}).get("port")
                    ports = {p["containerPort"] for p in c.get("ports", [])}
                    need(port in ports, f"{name}: {probe} is not a native gRPC probe on a served port")
        if name in deployments:
            need(any(app(p["spec"].get("selector")) == name for p in by_kind.get("PodDisruptionBudget", {}).values()),
                 f"{name}: no PodDisruptionBudget")
            # Spread over nodes, and rolled out without dropping below the ready count.
            need(any(t.get("topologyKey") == "kubernetes.io/hostname" and t.get("maxSkew") == 1
                     and app(t.get("labelSelector")) == name for t in pod.get("topologySpreadConstraints", [])),
                 f"{name}: replicas are not spread over nodes")
            rolling = w["spec"].get("strategy", {})
            need(rolling.get("type") == "RollingUpdate"
                 and rolling.get("rollingUpdate", {}).get("maxUnavailable") == 0,
                 f"{name}: a rollout may drop below the ready count")

    gateway_env = {e["name"]: e.get("value") for e in deployments["gateway"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    need(gateway_env.get("DIGITS_INFERENCE_URL") == "http://inference:50051"
         and gateway_env.get("DIGITS_LOGGING_URL") == "http://logging:50052",
         "the gateway does not find inference and logging through their headless Services")
    # Time to drain the log queue after SIGTERM, plus 10 s for the requests in flight.
    grace = deployments["gateway"]["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
    need(grace >= int(gateway_env.get("DIGITS_LOG_FLUSH_TIMEOUT_S") or 10) + 10,
         "the gateway's terminationGracePeriodSeconds leaves no time to drain its log queue")

    hpas = by_kind.get("HorizontalPodAutoscaler", {}).values()
    need(any(h["spec"]["scaleTargetRef"]["kind"] == "Deployment" and h["spec"]["scaleTargetRef"]["name"] == "inference"
             for h in hpas), "no HorizontalPodAutoscaler for inference")

    secrets = by_kind.get("Secret", {})
    refs = set()
    for w in workloads:
        for c in w["spec"]["template"]["spec"]["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.add((w["metadata"]["name"], ref["name"]))
                need("PASSWORD" not in e["name"] or "value" not in e, f"{c['name']}: {e['name']} is written in clear")
    need({w for w, _ in refs} >= {"logging", "postgres"}, "logging and postgres do not take the password from a Secret")
    need(all(s in secrets for _, s in refs), f"a referenced Secret is missing: {refs}")

    backends = set()
    for ing in by_kind.get("Ingress", {}).values():
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                svc = path["backend"]["service"]
                backends.add((svc["name"], svc["port"].get("name") or svc["port"].get("number")))
        need(bool(ing["spec"].get("tls")), f"Ingress {ing['metadata']['name']} has no TLS")
    need({("gateway", "http"), ("gateway", "grpc")} <= backends, f"Ingress does not expose HTTP and gRPC: {backends}")

    policies = by_kind.get("NetworkPolicy", {}).values()
    need(any(p["spec"]["podSelector"] == {} and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
             and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies),
         "no default-deny NetworkPolicy for ingress and egress")
    opened = set()
    for p in policies:
        target = app(p["spec"]["podSelector"])
        for rule in p["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                source = app(peer.get("podSelector"))
                # Prometheus in the monitoring namespace may reach the metrics ports, and nothing else.
                scraper = (peer.get("namespaceSelector", {}).get("matchLabels", {})
                           .get("kubernetes.io/metadata.name") == "monitoring")
                metrics_only = bool(rule.get("ports")) and all(p_["port"] in METRICS_PORTS for p_ in rule["ports"])
                if source is None and target != "gateway" and not (scraper and metrics_only):
                    found.append(f"NetworkPolicy {p['metadata']['name']}: {target} admits traffic from outside the app")
                for port in rule.get("ports", []):
                    if source:
                        opened.add((source, target, port["port"]))
        for rule in p["spec"].get("egress", []):
            for peer in rule.get("to", []):
                dest = app(peer.get("podSelector"))
                is_dns = peer.get("podSelector", {}).get("matchLabels", {}).get("k8s-app") == "kube-dns"
                if dest is None and not is_dns:
                    found.append(f"NetworkPolicy {p['metadata']['name']}: {target} may send outside the app")
                for port in rule.get("ports", []):
                    if dest:
                        opened.add((target, dest, port["port"]))
    need(opened == PATHS, f"pod-to-pod paths opened {sorted(opened)}, expected {sorted(PATHS)}")
    return found


if __name__ == "__main__":
    main("deploy/k8s", problems, load=lambda stream: [o for o in yaml.safe_load_all(stream) if o],
         count=lambda objects: f"{len(objects)} objects")
