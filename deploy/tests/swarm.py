"""A Docker Swarm of three machines, for the Swarm scenarios.

Each machine is a container of the test's engine running its own `dockerd`
(the image DIGITS_NODE_IMAGE: Debian bookworm with Debian's docker.io), on a
private network of the test's; a registry (DIGITS_REGISTRY_IMAGE) on that
network serves the images. The three engines join one Swarm as managers,
and the stack is deployed from the real compose files with a current Docker
CLI (DIGITS_STACK_DOCKER), exactly as DEPLOYMENT.md tells operators.

The load reaches the gateways through the ports each node container
publishes on 127.0.0.1, as a load balancer in front of the nodes would.

Everything made here carries the label digits.test=swarm, and
`Cluster.remove()` takes it all away again.
"""

import http.client
import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from stack import DOCKER, ROOT, Workers, run

STACK_DOCKER = os.environ.get("DIGITS_STACK_DOCKER", "docker")
NODE_IMAGE = os.environ.get("DIGITS_NODE_IMAGE", "digits-swarm-node:stand-in")
REGISTRY_IMAGE = os.environ.get("DIGITS_REGISTRY_IMAGE", "digits-registry:stand-in")
TAG = os.environ.get("DIGITS_TAG", "latest")
LABEL = "digits.test=swarm"
PREFIX = "digits-swarm"
STACK = "digits"
NODES = ("node1", "node2", "node3")
# The node that holds PostgreSQL's volume; the others may be drained or lost.
DATABASE_NODE = "node1"
REFRESH_MS = 2000
OUR_SERVICES = ("gateway", "inference", "logging")


def outer(*args, **kwargs):
    """The test's own engine, which runs the node containers."""
    return run(DOCKER, *args, **kwargs)


def parse_time(stamp):
    """A Docker timestamp (RFC 3339 with nanoseconds) as a Unix time."""
    seconds, _, fraction = stamp.strip().rstrip("Z").partition(".")
    return datetime.fromisoformat(seconds).replace(tzinfo=timezone.utc).timestamp() + float(f"0.{fraction or 0}")


class Cluster:
    """Three engine nodes in one Swarm, a registry, and the deployed stack."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="digits-swarm-"))
        self.network = f"{PREFIX}-net"
        self.registry = f"{PREFIX}-registry"
        self.http_ports = {}
        self.grpc_ports = {}
        self.registry_port = None
        self.password_file = self.dir / "postgres_password"
        self.password_file.write_text(secrets.token_hex(16) + "\n")
        self.password_file.chmod(0o600)

    # --- the machines ----------------------------------------------------------

    def container(self, node):
        return f"{PREFIX}-{node}"

    def docker(self, node, *args, timeout=180, check=True, env=None):
        """A command of `node`'s own engine, through the socket it shares with the test."""
        environment = {**os.environ, "DOCKER_HOST": f"unix://{self.dir / node / 'docker.sock'}", **(env or {})}
        return run(STACK_DOCKER, *args, timeout=timeout, check=check, env=environment)

    def manager(self, *args, **kwargs):
        """A command of the Swarm, through the node that is never taken away."""
        return self.docker(DATABASE_NODE, *args, **kwargs)

    def start_node(self, node):
        (self.dir / node).mkdir(exist_ok=True)
        outer("volume", "create", "--label", LABEL, self.container(node))
        outer(
            "run", "-d", "--name", self.container(node), "--hostname", node, "--label", LABEL,
            # What a nested dockerd needs here: all capabilities but the one
            # this sandbox withholds (so no --privileged), and the cgroups.
            "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
            "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
            "--security-opt", "systempaths=unconfined",
            "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            # The node's disk: images, volumes and its Swarm state survive a kill.
            "-v", f"{self.container(node)}:/var/lib/docker",
            # Pid files and sockets do not: a restarted engine starts clean.
            "--tmpfs", "/run",
            "-v", f"{self.dir / node}:/run/host",
            "--network", self.network,
            "-p", "127.0.0.1::8080", "-p", "127.0.0.1::50050",
            NODE_IMAGE,
            "dockerd", "--host", "unix:///var/run/docker.sock", "--host", "unix:///run/host/docker.sock",
            # The test's registry: plain HTTP on the private network, and the
            # mirror of Docker Hub, so official images come from it too.
            "--insecure-registry", "registry:5000", "--registry-mirror", "http://registry:5000",
            # What DEPLOYMENT.md asks of every node's daemon.json.
            "--no-new-privileges",
            # Published ports by iptables alone: no proxy process to outlive a task.
            "--userland-proxy=false",
        )
        self.wait_engine(node)
        self.read_ports(node)

    def wait_engine(self, node, timeout=60):
        deadline = time.monotonic() + timeout
        while self.docker(node, "info", "-f", "{{.ServerVersion}}", check=False, timeout=10).strip() == "":
            if time.monotonic() > deadline:
                raise AssertionError(f"{node}'s engine did not answer in {timeout} s:\n"
                                     + outer("logs", "--tail", "30", self.container(node), check=False))
            time.sleep(0.5)

    def read_ports(self, node):
        ports = json.loads(outer("inspect", "-f", "{{json .NetworkSettings.Ports}}", self.container(node)))
        self.http_ports[node] = int(ports["8080/tcp"][0]["HostPort"])
        self.grpc_ports[node] = int(ports["50050/tcp"][0]["HostPort"])

    def address(self, node):
        return outer("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{self.network}\").IPAddress}}}}",
                     self.container(node)).strip()

    def create(self):
        """The network, the registry, three engines, one Swarm of three managers."""
        outer("network", "create", "--label", LABEL, self.network)
        outer("run", "-d", "--name", self.registry, "--label", LABEL, "--network", self.network,
              "--network-alias", "registry", "-p", "127.0.0.1::5000", REGISTRY_IMAGE)
        ports = json.loads(outer("inspect", "-f", "{{json .NetworkSettings.Ports}}", self.registry))
        self.registry_port = int(ports["5000/tcp"][0]["HostPort"])
        for node in NODES:
            self.start_node(node)
        first = self.address(NODES[0])
        self.docker(NODES[0], "swarm", "init", "--advertise-addr", first)
        token = self.docker(NODES[0], "swarm", "join-token", "-q", "manager").strip()
        for node in NODES[1:]:
            self.docker(node, "swarm", "join", "--token", token, f"{first}:2377")
        self.manager("node", "update", "--label-add", "digits.postgres=true", DATABASE_NODE)

    def push_images(self, tag=TAG, source_tag=TAG):
        """The three images (from `digits-*:source_tag`) as registry:5000/digits-*:tag,
        and the PostgreSQL image under its Docker Hub name for the mirror."""
        pushed = {}
        images = {f"digits-{s}:{source_tag}": f"digits-{s}:{tag}" for s in OUR_SERVICES}
        images["postgres:16-bookworm"] = "library/postgres:16-bookworm"
        for local, remote in images.items():
            target = f"127.0.0.1:{self.registry_port}/{remote}"
            outer("tag", local, target)
            out = outer("push", target, timeout=600)
            digest = next(line.split("digest: ")[1].split()[0] for line in out.splitlines() if "digest: " in line)
            pushed[remote] = digest
            outer("rmi", target)
        return pushed

    # --- the stack ----------------------------------------------------------------

    def deploy_env(self, tag=TAG):
        return {
            "DIGITS_REGISTRY": "registry:5000",
            "DIGITS_TAG": tag,
            "DIGITS_POSTGRES_PASSWORD_FILE": str(self.password_file),
            "DIGITS_BACKEND_REFRESH_MS": str(REFRESH_MS),
            # The load generators are a few clients sending far faster than
            # people; the rate limits have their own tests.
            "DIGITS_RATE_LIMIT": "100000",
            "DIGITS_RATE_BURST": "100000",
            "DIGITS_ADDRESS_RATE_LIMIT": "100000",
            "DIGITS_ADDRESS_RATE_BURST": "100000",
            "DIGITS_MAX_CONCURRENT": "1024",
        }

    def deploy(self, tag=TAG):
        """`docker stack deploy -c docker-compose.yml -c swarm.yml digits`, as an operator runs it."""
        return self.manager(
            "stack", "deploy", "--detach=true",
            "-c", str(ROOT / "deploy/docker-compose.yml"), "-c", str(ROOT / "deploy/swarm.yml"), STACK,
            env=self.deploy_env(tag), timeout=300,
        )

    def services(self):
        """service -> (tasks running, tasks wanted). Counted from the tasks
        meant to run, not from `docker service ls`, which also counts the
        tasks of a lost node as running, since nobody can tell it otherwise."""
        out = self.manager("service", "ls", "--filter", f"label=com.docker.stack.namespace={STACK}",
                           "--format", "{{.Name}} {{.Replicas}}")
        wanted = {line.split()[0].removeprefix(f"{STACK}_"): int(line.split()[1].split("/")[1].split()[0])
                  for line in out.splitlines()}
        tasks = self.manager("stack", "ps", STACK, "--filter", "desired-state=running",
                             "--format", "{{.Name}} {{.CurrentState}}")
        running = dict.fromkeys(wanted, 0)
        for line in tasks.splitlines():
            name, state = line.split()[:2]
            service = name.split(".")[0].removeprefix(f"{STACK}_")
            if state == "Running" and service in running:
                running[service] += 1
        return {service: (running[service], n) for service, n in wanted.items()}

    def updated(self, service, image):
        """Whether the last update of `service` completed and every task it
        meant to run runs `image` (a name:tag, pinned to a digest by the Swarm)."""
        state = self.manager("service", "inspect", "-f", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
                             f"{STACK}_{service}").strip()
        images = {t["image"].split("@")[0] for t in self.tasks(service)}
        return state in ("completed", "rollback_completed", "") and images == {image}

    def tasks(self, service):
        """The running tasks of a service: dicts with node, slot, container, since, image."""
        ids = self.manager("service", "ps", "-q", "--filter", "desired-state=running", f"{STACK}_{service}").split()
        if not ids:
            return []
        nodes = {line.split()[0]: line.split()[1]
                 for line in self.manager("node", "ls", "--format", "{{.ID}} {{.Hostname}}").splitlines()}
        tasks = []
        for task in json.loads(self.manager("inspect", "--type", "task", *ids)):
            if task["Status"]["State"] != "running":
                continue
            tasks.append({
                "node": nodes.get(task["NodeID"], task["NodeID"]),
                "slot": task.get("Slot"),
                "container": task["Status"].get("ContainerStatus", {}).get("ContainerID", ""),
                "since": parse_time(task["Status"]["Timestamp"]),
                "image": task["Spec"]["ContainerSpec"]["Image"],
            })
        return tasks

    def placement(self):
        """service -> {node: running tasks}."""
        placed = {}
        for service in ("postgres", *OUR_SERVICES):
            per_node = {}
            for task in self.tasks(service):
                per_node[task["node"]] = per_node.get(task["node"], 0) + 1
            placed[service] = dict(sorted(per_node.items()))
        return placed

    def node_states(self):
        out = self.manager("node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}}")
        return {line.split()[0]: tuple(line.split()[1:3]) for line in out.splitlines()}

    def gateway_nodes(self):
        """The nodes whose gateway answers /readyz with every backend in sight."""
        ready = {}
        for node, port in self.http_ports.items():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
                conn.request("GET", "/readyz")
                resp = conn.getresponse()
                ready[node] = (resp.status, json.loads(resp.read()))
                conn.close()
            except (OSError, http.client.HTTPException, ValueError):
                continue
        return ready

    def whole(self, inference=3, logging=2, nodes=NODES):
        """Whether every service runs all its replicas, and the gateway of
        each of `nodes` is ready and sees them all."""
        services = self.services()
        wanted = {"postgres": 1, "logging": logging, "inference": inference, "gateway": len(nodes)}
        if any(services.get(s) != (n, n) for s, n in wanted.items()):
            return False
        ready = self.gateway_nodes()
        return all(
            node in ready and ready[node][0] == 200
            and ready[node][1]["inference"]["replicas"] == inference
            and ready[node][1]["logging"]["replicas"] == logging
            for node in nodes
        )

    def wait_whole(self, timeout=240, **wanted):
        """Waits until `whole(**wanted)`; returns the seconds it took."""
        start = time.monotonic()
        while not self.whole(**wanted):
            if time.monotonic() - start > timeout:
                raise AssertionError(f"the stack is not whole after {timeout} s: {self.services()}, "
                                     f"{self.placement()}, gateways {self.gateway_nodes()}, "
                                     f"nodes {self.node_states()}")
            time.sleep(0.5)
        return time.monotonic() - start

    def psql(self, sql):
        """SQL as the application's role, in the PostgreSQL task; rows as lists."""
        (pg,) = self.docker(DATABASE_NODE, "ps", "-q", "--filter",
                            f"label=com.docker.swarm.service.name={STACK}_postgres").split()
        out = self.docker(DATABASE_NODE, "exec", pg, "psql", "-U", "digits", "-d", "digits", "-At", "-F", "\t",
                          "-c", sql)
        return [line.split("\t") for line in out.splitlines() if line]

    def stored(self):
        """request_id -> number of rows."""
        return {rid: int(n) for rid, n in self.psql("SELECT request_id, count(*) FROM predictions GROUP BY 1")}

    # --- the end --------------------------------------------------------------

    def remove(self):
        """Removes the nodes (and so the Swarm), the registry, the network,
        the volumes and the test's folder."""
        self.remove_objects()
        shutil.rmtree(self.dir, ignore_errors=True)

    def remove_objects(self):
        """Removes every container, volume and network labelled as the test's
        (an interrupted run's too)."""
        containers = outer("ps", "-aq", "--filter", f"label={LABEL}", check=False).split()
        if containers:
            outer("rm", "-f", "-v", *containers, check=False, timeout=300)
        volumes = outer("volume", "ls", "-q", "--filter", f"label={LABEL}", check=False).split()
        if volumes:
            outer("volume", "rm", "-f", *volumes, check=False)
        networks = outer("network", "ls", "-q", "--filter", f"label={LABEL}", check=False).split()
        if networks:
            outer("network", "rm", *networks, check=False)

    def leftovers(self):
        return {
            kind: outer(kind, "ls", "-q", "--filter", f"label={LABEL}", check=False).split()
            for kind in ("volume", "network")
        } | {"container": outer("ps", "-aq", "--filter", f"label={LABEL}", check=False).split()}


# --- load ----------------------------------------------------------------------

@dataclass
class FleetResult:
    """What a load run over the nodes saw."""
    sent: int = 0
    created: list = field(default_factory=list)      # prediction ids answered 201
    by_node: dict = field(default_factory=dict)      # node whose gateway answered -> ids
    replicas: dict = field(default_factory=dict)     # inference replica -> answers
    first_seen: dict = field(default_factory=dict)   # inference replica -> wall-clock time of its first answer
    failures: list = field(default_factory=list)     # (node, status or error, wall-clock time)
    retried: int = 0                                 # requests sent again to another node (no answer at all)

    def summary(self):
        return (f"{self.sent} sent, {len(self.created)} answered 201, {len(self.failures)} failed, "
                f"{self.retried} sent again to another node")


class Fleet(Workers):
    """POSTs predictions to the gateways of every node from `workers` threads,
    the way a load balancer in front of the nodes does: round robin over the
    nodes it believes up, a node that refuses connections or closes them
    without an answer is skipped for a moment, and a request that got no
    answer at all (refused, or closed before the first byte of a response)
    goes to the next node. Every other outcome counts: an error status, a
    timeout, a connection cut after the answer began."""

    def __init__(self, cluster, images, workers=8):
        super().__init__(workers, FleetResult())
        self.cluster, self.images = cluster, images
        self.down_until = {}
        self.turn = 0

    def _pick(self, avoid=None):
        with self.lock:
            nodes = list(self.cluster.http_ports)
            now = time.monotonic()
            for _ in range(len(nodes)):
                node = nodes[self.turn % len(nodes)]
                self.turn += 1
                if node != avoid and self.down_until.get(node, 0) <= now:
                    return node
            return next((n for n in nodes if n != avoid), nodes[0])

    def _mark_down(self, node):
        with self.lock:
            self.down_until[node] = time.monotonic() + 1.0

    def _worker(self):
        connections = {}
        while not self.stopping.is_set():
            with self.lock:
                self.result.sent += 1
                image = self.images[self.result.sent % len(self.images)][1]
            node, attempts = self._pick(), 0
            while True:
                attempts += 1
                outcome = self._send(connections, node, image)
                if outcome != "no answer":
                    break
                self._mark_down(node)
                if attempts == 3 or self.stopping.is_set():
                    with self.lock:
                        self.result.failures.append((node, "no answer", time.time()))
                    break
                with self.lock:
                    self.result.retried += 1
                node = self._pick(avoid=node)
        for conn in connections.values():
            conn.close()

    def _send(self, connections, node, image):
        port = self.cluster.http_ports[node]
        conn = connections.get(node)
        if conn is None:
            conn = connections[node] = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        try:
            conn.request("POST", "/api/predictions", body=image, headers={"Content-Type": "image/png"})
            resp = conn.getresponse()
        except ConnectionError:
            # Refused, reset or closed before any byte of an answer
            # (http.client.RemoteDisconnected is a ConnectionResetError).
            conn.close()
            connections.pop(node, None)
            return "no answer"
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            connections.pop(node, None)
            return self._fail(node, type(e).__name__)
        try:
            data = resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            connections.pop(node, None)
            return self._fail(node, f"cut mid-answer: {type(e).__name__}")
        if resp.status != 201:
            return self._fail(node, f"{resp.status} {error_code(data)}")
        answer = json.loads(data)
        replica = resp.getheader("x-digits-replica", "?")
        with self.lock:
            self.result.created.append(answer["id"])
            self.result.by_node.setdefault(node, []).append(answer["id"])
            self.result.replicas[replica] = self.result.replicas.get(replica, 0) + 1
            self.result.first_seen.setdefault(replica, time.time())
        return "answered"

    def _fail(self, node, what):
        with self.lock:
            self.result.failures.append((node, what, time.time()))
        return "failed"


def error_code(body):
    """The API's stable error code in an answer's JSON body ("overloaded",
    "logging_unavailable", ...), or what the body was when it has none."""
    try:
        return json.loads(body)["code"]
    except (ValueError, KeyError, TypeError):
        return f"(no code: {body[:80]!r})"


def wait_for(condition, timeout, what, interval=0.5):
    """Polls `condition` until it holds; returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - start


def derived_image(base, tag, revision):
    """A new image of the same program (another digest): `base` with a label."""
    context = Path(tempfile.mkdtemp(prefix="digits-derived-"))
    try:
        (context / "Dockerfile").write_text(f"FROM {base}\nLABEL digits.test.revision=\"{revision}\"\n")
        outer("build", "-q", "-t", tag, str(context))
    finally:
        shutil.rmtree(context, ignore_errors=True)
