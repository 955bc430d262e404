"""The compose stack under test, and the load the scenarios put on it.

Everything goes through the real `deploy/docker-compose.yml` (with
`compose.https.yml` and `compose.monitoring.yml` where a scenario needs them)
and the images tagged DIGITS_TAG (built by `cargo xtask containers`), with
test values (ports on 127.0.0.1, a random database password in a secret
file) in a throwaway env file.
"""

import gzip
import http.client
import json
import os
import secrets
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKER = os.environ.get("DIGITS_DOCKER", "docker")
COMPOSE = os.environ.get("DIGITS_COMPOSE", "docker-compose")
COMPOSE_FILES = {
    "base": ROOT / "deploy/docker-compose.yml",
    "https": ROOT / "deploy/compose.https.yml",
    "monitoring": ROOT / "deploy/compose.monitoring.yml",
}
PROJECT = "digits-test"
OUR_SERVICES = ("gateway", "inference", "logging")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, check=True, timeout=180, **kwargs):
    """Runs a command, returning its stdout; raises with stderr on failure."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def docker(*args, **kwargs):
    return run(DOCKER, *args, **kwargs)


class Stack:
    """One compose project: `compose(...)`, containers by service, psql."""

    def __init__(self):
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.https_port = free_port()
        self.prometheus_port = free_port()
        self.refresh_ms = 2000
        self.cookie = None
        self.dir = Path(tempfile.mkdtemp(prefix="digits-stack-"))
        # As DEPLOYMENT.md says: the folder is the operator's alone, the file
        # readable by the two containers' users (compose mounts it as it is).
        self.password_file = self.dir / "postgres_password"
        self.password_file.write_text(secrets.token_hex(16) + "\n")
        self.password_file.chmod(0o644)
        self.env_file = self.dir / "test.env"
        self.env_file.write_text(
            "\n".join(
                [
                    f"DIGITS_POSTGRES_PASSWORD_FILE={self.password_file}",
                    f"DIGITS_TAG={os.environ.get('DIGITS_TAG', 'latest')}",
                    f"DIGITS_HTTP_PUBLISH=127.0.0.1:{self.http_port}",
                    f"DIGITS_GRPC_PUBLISH=127.0.0.1:{self.grpc_port}",
                    f"DIGITS_CADDY_HTTP_PUBLISH=127.0.0.1:{free_port()}",
                    f"DIGITS_CADDY_HTTPS_PUBLISH=127.0.0.1:{self.https_port}",
                    f"DIGITS_PROMETHEUS_PUBLISH=127.0.0.1:{self.prometheus_port}",
                    "DIGITS_DOMAIN=localhost",
                    f"DIGITS_BACKEND_REFRESH_MS={self.refresh_ms}",
                    # The load generators are one client sending far faster
                    # than a person; the rate limits have their own tests.
                    "DIGITS_RATE_LIMIT=100000",
                    "DIGITS_RATE_BURST=100000",
                    "DIGITS_ADDRESS_RATE_LIMIT=100000",
                    "DIGITS_ADDRESS_RATE_BURST=100000",
                    "DIGITS_MAX_CONCURRENT=1024",
                    # Versions published to the models volume are seen within a second.
                    "DIGITS_MODEL_POLL_S=1",
                    "",
                ]
            )
        )

    def compose(self, *args, https=False, monitoring=False, timeout=300):
        """docker compose on the project; `https=True` adds Caddy's file,
        `monitoring=True` Prometheus's."""
        files = ["base", *(["https"] if https else []), *(["monitoring"] if monitoring else [])]
        return run(
            COMPOSE, "-p", PROJECT, *(arg for f in files for arg in ("-f", str(COMPOSE_FILES[f]))),
            "--env-file", str(self.env_file), *args, timeout=timeout,
        )

    def containers(self, service, all_states=False):
        """Container ids of a service, oldest first."""
        out = docker(
            "ps", *(["-a"] if all_states else []), "-q", "--no-trunc",
            "--filter", f"label=com.docker.compose.project={PROJECT}",
            "--filter", f"label=com.docker.compose.service={service}",
        )
        ids = out.split()
        if not ids:
            return []
        created = docker("inspect", "-f", "{{.Created}} {{.Id}}", *ids).split("\n")
        return [line.split()[1] for line in sorted(l for l in created if l.strip())]

    def started_at(self, container):
        """When the container's process started, as a Unix time."""
        stamp = docker("inspect", "-f", "{{.State.StartedAt}}", container).strip()
        seconds, _, fraction = stamp.rstrip("Z").partition(".")
        return datetime.fromisoformat(seconds).replace(tzinfo=timezone.utc).timestamp() + float(f"0.{fraction or 0}")

    def health(self, container):
        return docker("inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
                      container).strip()

    def wait_healthy(self, services, timeout=90):
        """Waits until every container of `services` is healthy; returns the seconds it took."""
        start = time.monotonic()
        while True:
            states = {c: self.health(c) for s in services for c in self.containers(s)}
            if states and all(v == "healthy" for v in states.values()) and all(self.containers(s) for s in services):
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise AssertionError(f"not healthy after {timeout} s: {states}")
            time.sleep(0.5)

    def psql(self, sql):
        """Runs SQL in the postgres container as the application's role; rows as lists."""
        (pg,) = self.containers("postgres")
        out = docker("exec", pg, "psql", "-U", "digits", "-d", "digits", "-At", "-F", "\t", "-c", sql)
        return [line.split("\t") for line in out.splitlines() if line]

    def stored(self):
        """request_id -> number of rows."""
        return {rid: int(n) for rid, n in self.psql("SELECT request_id, count(*) FROM predictions GROUP BY 1")}

    def http(self, method, path, body=None, headers=None, timeout=10):
        """One request as one visitor: the gateway's visitor cookie is kept
        and sent back, as a browser does, so feedback finds its prediction."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        headers = dict(headers or {})
        if self.cookie:
            headers.setdefault("Cookie", self.cookie)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            cookie = resp.getheader("Set-Cookie")
            if cookie:
                self.cookie = cookie.split(";", 1)[0]
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def ready(self):
        try:
            status, _, body = self.http("GET", "/readyz", timeout=3)
            return status, json.loads(body)
        except (OSError, http.client.HTTPException, ValueError):
            return None, {}

    def wait_log_queue_empty(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.ready()
            if status == 200 and body["log_queue"]["pending"] == 0:
                return body["log_queue"]
            time.sleep(0.25)
        raise AssertionError(f"log queue not drained after {timeout} s: {self.ready()}")


# --- images to send ----------------------------------------------------------

def png(width, height, pixels):
    """An 8-bit grayscale PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + pixels[y * width:(y + 1) * width] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def mnist_digits(count):
    """The first `count` MNIST test digits as (label, 280x280 PNG canvas): ink
    black on white, ten times the size, as a browser canvas would send them."""
    folder = Path(os.environ["DIGITS_MNIST_DIR"])
    images = gzip.open(folder / "t10k-images-idx3-ubyte.gz").read()[16:]
    labels = gzip.open(folder / "t10k-labels-idx1-ubyte.gz").read()[8:]
    digits = []
    for i in range(count):
        small = images[i * 784:(i + 1) * 784]
        big = bytearray(280 * 280)
        for y in range(280):
            row = small[(y // 10) * 28:(y // 10) * 28 + 28]
            big[y * 280:(y + 1) * 280] = bytes(255 - row[x // 10] for x in range(280))
        digits.append((labels[i], png(280, 280, bytes(big))))
    return digits


# --- load --------------------------------------------------------------------

@dataclass
class LoadResult:
    """What a load run saw."""
    created: list = field(default_factory=list)       # prediction ids answered 201
    replicas: dict = field(default_factory=dict)      # replica -> answers
    failures: list = field(default_factory=list)      # (status or error, time)
    first_seen: dict = field(default_factory=dict)    # replica -> wall-clock time of its first answer
    versions: list = field(default_factory=list)      # (monotonic time, model version) of each answer

    @property
    def total(self):
        return len(self.created) + len(self.failures)


class Workers:
    """Threads running `_worker` until `stop()`: a load generator's life
    (`with Load(...) as load:` starts it, leaving the block stops it)."""

    def __init__(self, workers, result):
        self.result = result
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._worker, daemon=True) for _ in range(workers)]

    def _worker(self):
        raise NotImplementedError

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=60)
        return self.result

    def wait(self, timeout=300):
        for t in self.threads:
            t.join(timeout=timeout)
        return self.result


class Load(Workers):
    """POSTs predictions through the gateway from `workers` threads, each on
    its own keep-alive connection, until `stop()` or `requests` are sent."""

    def __init__(self, stack, images, workers=8, requests=None):
        super().__init__(workers, LoadResult())
        self.stack, self.images, self.limit = stack, images, requests
        self.sent = 0

    def _next(self):
        with self.lock:
            if self.stopping.is_set() or (self.limit is not None and self.sent >= self.limit):
                return None
            self.sent += 1
            return self.images[self.sent % len(self.images)][1]

    def _worker(self):
        conn = None
        while (body := self._next()) is not None:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.stack.http_port, timeout=15)
                conn.request("POST", "/api/predictions", body=body, headers={"Content-Type": "image/png"})
                resp = conn.getresponse()
                data = resp.read()
                now = time.monotonic()
                with self.lock:
                    if resp.status == 201:
                        self.result.created.append(json.loads(data)["id"])
                        replica = resp.getheader("x-digits-replica", "?")
                        self.result.replicas[replica] = self.result.replicas.get(replica, 0) + 1
                        self.result.first_seen.setdefault(replica, time.time())
                        self.result.versions.append((now, json.loads(data)["model_version"]))
                    else:
                        self.result.failures.append((resp.status, now))
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.result.failures.append((type(e).__name__, time.monotonic()))
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
        if conn is not None:
            conn.close()
