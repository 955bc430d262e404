"""The compose stack as an operator runs it: scenarios 1-8 of the container
issue, in order, on one project that the last scenario takes down.

Run by `cargo xtask containers` (and so by `cargo xtask test`), which builds
the images first and points DIGITS_DOCKER / DIGITS_COMPOSE / DOCKER_HOST at
the engine.
"""

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time

import pytest

from stack import DOCKER, OUR_SERVICES, PROJECT, ROOT, Load, Stack, docker, mnist_digits

ALL = ("postgres", "logging", "inference", "gateway")


def report(line):
    """A figure worth reading in the output (the runner passes -s)."""
    print(f"\nstack: {line}", flush=True)


@pytest.fixture(scope="module")
def stack():
    s = Stack()
    s.compose("down", "-v", "--remove-orphans", https=True, monitoring=True)  # a previous run's leftovers
    yield s
    s.compose("down", "-v", "--remove-orphans", https=True, monitoring=True)
    shutil.rmtree(s.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def digits():
    return mnist_digits(20)


def test_1_cold_up_is_healthy_within_60_s_and_serves_and_stores(stack, digits):
    started = time.monotonic()
    stack.compose("up", "-d", "--no-build")
    stack.wait_healthy(ALL, timeout=120)
    cold = time.monotonic() - started
    report(f"cold up -> all 4 services healthy in {cold:.1f} s")
    assert cold <= 60, f"cold start took {cold:.1f} s"

    status, headers, page = stack.http("GET", "/")
    assert status == 200 and b"<html" in page.lower(), page[:200]
    assert "text/html" in headers.get("content-type", "")

    label, image = digits[0]
    status, headers, body = stack.http("POST", "/api/predictions", image, {"Content-Type": "image/png"})
    assert status == 201, body
    prediction = json.loads(body)
    assert prediction["digit"] == label and len(prediction["input"]) == 784
    assert prediction["verdict"] == "digit" and prediction["number"] == str(label)

    wrong = (label + 1) % 10
    status, _, body = stack.http("PUT", f"/api/predictions/{prediction['id']}/feedback",
                                 json.dumps({"true_label": wrong}), {"Content-Type": "application/json"})
    assert status == 200, body
    assert json.loads(body)["true_label"] == wrong

    rows = stack.psql("SELECT predicted_digit, true_label, octet_length(input), model_version, source "
                      f"FROM predictions WHERE request_id = '{prediction['id']}'")
    assert rows == [[str(label), str(wrong), "784", prediction["model_version"], "web"]]


def test_2_scaled_inference_shares_load_survives_a_kill_and_takes_in_a_new_replica(stack, digits):
    stack.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "inference=3")
    stack.wait_healthy(["inference"])
    replicas = {c[:12] for c in stack.containers("inference")}
    assert len(replicas) == 3
    wait_for_replicas(stack, 3)

    shared = Load(stack, digits, workers=8, requests=600).start().wait()
    report(f"3 replicas, 600 requests: {sorted(shared.replicas.values(), reverse=True)} per replica, "
           f"{len(shared.failures)} failed")
    assert not shared.failures
    assert set(shared.replicas) == replicas, shared.replicas

    victim = stack.containers("inference")[1]
    with Load(stack, digits, workers=8) as load:
        time.sleep(2)
        docker("kill", victim)
        time.sleep(4)
    killed = load.result
    report(f"docker kill of one replica mid-load: {killed.total} requests, {len(killed.failures)} failed; "
           f"per replica {killed.replicas}")
    assert killed.total > 100
    assert not killed.failures, killed.failures[:5]

    before = {c[:12] for c in stack.containers("inference", all_states=True)}
    with Load(stack, digits, workers=8) as load:
        time.sleep(1)
        stack.compose("up", "-d", "--no-build", "--no-recreate", "--scale", "inference=4")
        new = {c[:12]: stack.started_at(c) for c in stack.containers("inference") if c[:12] not in before}
        assert new, "scaling to 4 started no new container"
        # Its own start-up (the model loads in well under a second), then one refresh period.
        deadline = max(new.values()) + stack.refresh_ms / 1000 + 3
        while time.time() < deadline and not all(r in load.result.first_seen for r in new):
            time.sleep(0.05)
        time.sleep(1)
    seen = load.result
    delays = {r: round(seen.first_seen[r] - new[r], 2) for r in new if r in seen.first_seen}
    report(f"scaled to 4 under load: new {sorted(new)} answered {delays} s after it started "
           f"(refresh {stack.refresh_ms} ms); per replica {seen.replicas}; {len(seen.failures)} failed")
    assert set(delays) == set(new), f"new replicas {new} got no traffic in time: {seen.replicas}"
    assert not seen.failures
    stack.wait_healthy(["inference"])


def test_2c_a_version_published_to_the_models_volume_is_promoted_and_rolled_back_under_load(stack, digits):
    """An operator's loop without a rebuild or a restart: a new version copied
    into the models volume (aside, then renamed), promoted by serving.json,
    then rolled back, while the replicas take load: 0 failed requests."""
    release = ROOT / "services/inference/models/mnist/2.0.0"
    new = stack.dir / "2.1.0"
    new.mkdir()
    card = json.loads((release / "model.json").read_text())
    card["version"] = "2.1.0"
    (new / "model.json").write_text(json.dumps(card))
    for name in ("model.onnx", "golden.json"):
        shutil.copy(release / name, new / name)
    models = "/models/digits-mnist-cnn"

    def in_volume(script, *mounts):
        # The logging image has a shell; the inference image has none.
        docker("run", "--rm", "--user", "root", "--entrypoint", "sh", "-v", f"{PROJECT}_models:/models", *mounts,
               f"digits-logging:{os.environ.get('DIGITS_TAG', 'latest')}", "-c", script)

    def serving(policy):
        in_volume(f"mkdir -p {models} && echo '{json.dumps(policy)}' > {models}/.serving.json "
                  f"&& mv {models}/.serving.json {models}/serving.json")

    def until_all_answer(load, version, timeout=20):
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            recent = [v for t, v in load.result.versions[-80:]]
            if len(recent) == 80 and set(recent) == {version} and load.result.versions[-80][0] > started:
                return time.monotonic() - started
            time.sleep(0.1)
        raise AssertionError(f"not all answers from {version} after {timeout} s: {load.result.versions[-20:]}")

    replicas = {c: stack.started_at(c) for c in stack.containers("inference")}
    with Load(stack, digits, workers=8) as load:
        time.sleep(1)
        in_volume(f"mkdir -p {models} && cp -r /new {models}/.2.1.0.partial && mv {models}/.2.1.0.partial {models}/2.1.0",
                  "-v", f"{new}:/new:ro")
        serving({"current": "2.1.0"})
        promoted = until_all_answer(load, "2.1.0")
        serving({"current": "2.0.0"})
        rolled_back = until_all_answer(load, "2.0.0")
    result = load.result
    report(f"{len(replicas)} replicas under load: 2.1.0 published and promoted in {promoted:.1f} s, rolled back "
           f"in {rolled_back:.1f} s (poll 1 s); {result.total} requests, {len(result.failures)} failed")
    assert not result.failures, result.failures[:5]
    assert {c: stack.started_at(c) for c in stack.containers("inference")} == replicas, "no replica restarted"
    status, _, body = stack.http("GET", "/api/model")
    versions = {v["version"]: v["role"] for v in json.loads(body)["versions"]}
    assert status == 200 and versions == {"2.1.0": "available", "2.0.0": "current"}, versions


def test_3_restarting_postgres_then_logging_under_load_loses_and_doubles_nothing(stack, digits):
    stack.wait_log_queue_empty()  # the logs of the scenarios before are all written
    before = sum(stack.stored().values())
    with Load(stack, digits, workers=4) as load:
        time.sleep(2)
        stack.compose("restart", "postgres")
        stack.wait_healthy(["postgres"])
        time.sleep(2)
        stack.compose("restart", "logging")
        stack.wait_healthy(["logging"])
        time.sleep(2)
    result = load.result
    queue = stack.wait_log_queue_empty()
    stored = stack.stored()
    created = set(result.created)
    report(f"postgres then logging restarted under load: {len(result.created)} answered 201, "
           f"{len(result.failures)} failed; rows added {sum(stored.values()) - before}; "
           f"queue dropped {queue['dropped']}")
    assert len(created) == len(result.created) > 100
    assert not result.failures, result.failures[:5]
    missing = created - set(stored)
    assert not missing, f"{len(missing)} answered predictions not stored"
    assert all(stored[i] == 1 for i in created)
    assert sum(stored.values()) - before == len(created)
    assert queue["dropped"] == 0


def test_4_sigterm_to_the_gateway_mid_load_stores_every_answered_prediction(stack, digits):
    (gateway,) = stack.containers("gateway")
    with Load(stack, digits, workers=8) as load:
        time.sleep(3)
        sigterm_at = time.monotonic()
        stack.compose("stop", "-t", "30", "gateway")  # SIGTERM, SIGKILL only after 30 s
        time.sleep(0.5)
    result = load.result
    exit_code = docker("inspect", "-f", "{{.State.ExitCode}}", gateway).strip()
    stored = stack.stored()
    created = set(result.created)
    missing = created - set(stored)
    report(f"gateway stopped by SIGTERM mid-load: {len(created)} answered 201 before the stop, "
           f"{len(created) - len(missing)} stored, exit code {exit_code}")
    assert len(created) > 100
    assert exit_code == "0"
    assert not missing, f"{len(missing)} answered predictions lost"
    assert all(t >= sigterm_at for _, t in result.failures), "requests failed before the SIGTERM"

    stack.compose("start", "gateway")
    stack.wait_healthy(["gateway"])
    _, ready = stack.ready()
    report(f"gateway started again: {ready['log_queue']['replayed']} entries replayed from its spool")
    assert ready["log_queue"]["replayed"] == 0, "a clean stop left entries in the spool"


def test_4b_kill_9_of_the_gateway_loses_no_answered_prediction(stack, digits):
    """Logging stopped; 500 predictions answered 201 (spooled on the
    gateway's volume); SIGKILL; the gateway, then logging, come back: 500 rows."""
    stack.wait_log_queue_empty()
    stack.compose("stop", "logging")
    result = Load(stack, digits, workers=8, requests=500).start().wait()
    created = set(result.created)
    assert len(created) == 500, (len(created), result.failures[:5])
    (gateway,) = stack.containers("gateway")
    docker("kill", "-s", "KILL", gateway)
    stack.compose("start", "gateway")
    stack.wait_healthy(["gateway"])
    stack.compose("start", "logging")
    stack.wait_healthy(["logging"])
    deadline = time.monotonic() + 60
    while True:
        stored = stack.stored()
        missing = created - set(stored)
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    report(f"logging stopped, 500 answered 201, kill -9 of the gateway, restart: "
           f"{len(created) - len(missing)} of 500 stored")
    assert not missing, f"{len(missing)} answered predictions lost"
    assert all(stored[i] == 1 for i in created)


def test_5_no_root_processes_only_the_gateway_publishes_and_the_backend_has_no_way_out(stack):
    for service in OUR_SERVICES:
        for container in stack.containers(service):
            uids = process_uids(container)
            assert uids and 0 not in uids, f"{service} runs a process as root: {uids}"
    (pg,) = stack.containers("postgres")
    postgres_uid = int(docker("exec", pg, "id", "-u", "postgres").strip())
    assert process_uids(pg) == {postgres_uid}, process_uids(pg)
    report("every container: no-new-privileges, memory and pids limits, no password in its environment; "
           "ours: read-only root, no capabilities")
    report(f"process uids: gateway/inference/logging {sorted(set().union(*(process_uids(c) for s in OUR_SERVICES for c in stack.containers(s))))}, "
           f"postgres {postgres_uid}")

    password = stack.password_file.read_text().strip()
    for service in ALL:
        for container in stack.containers(service):
            env = docker("inspect", "-f", "{{json .Config.Env}}", container)
            assert password not in env, f"{service} has the database password in its environment"
            host = json.loads(docker("inspect", "-f", "{{json .HostConfig}}", container))
            assert "no-new-privileges:true" in (host["SecurityOpt"] or []), f"{service}: {host['SecurityOpt']}"
            assert host["Memory"] > 0 and host["PidsLimit"] > 0, f"{service} is unbounded"
            if service in OUR_SERVICES:
                assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"], f"{service} is not locked down"
            ports = json.loads(docker("inspect", "-f", "{{json .NetworkSettings.Ports}}", container))
            published = {k: v for k, v in (ports or {}).items() if v}
            if service == "gateway":
                assert set(published) == {"8080/tcp", "50050/tcp"}, published
            else:
                assert not published, f"{service} publishes {published}"

    backend, frontend = f"{PROJECT}_backend", f"{PROJECT}_frontend"
    outside = socket.gethostbyname("deb.debian.org")
    # The control: the same probe reaches the outside from the frontend network.
    assert probe(frontend, outside, 80), "the probe cannot reach the outside even from the frontend network"
    assert probe(backend, "postgres", 5432), "the probe does not reach postgres on the backend network"
    assert not probe(backend, outside, 80), "a container on the backend network reached the outside"
    report(f"backend network: postgres reachable, {outside}:80 unreachable (reachable from frontend)")


def test_6_the_https_file_serves_the_app_and_grpc_over_tls_through_caddy(stack, digits):
    stack.compose("up", "-d", "--no-build", "caddy", https=True)
    (caddy,) = stack.containers("caddy")
    caddy_user = docker("inspect", "-f", "{{.Config.User}}", caddy).strip()
    expected = 0 if caddy_user in ("", "root", "0") else int(caddy_user.split(":")[0])
    assert process_uids(caddy) == {expected}
    published = {k for k, v in json.loads(docker("inspect", "-f", "{{json .NetworkSettings.Ports}}", caddy)).items() if v}
    assert published == {"80/tcp", "443/tcp", "443/udp"}, published
    host = json.loads(docker("inspect", "-f", "{{json .HostConfig}}", caddy))
    assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"] and host["CapAdd"] == ["NET_BIND_SERVICE"], host

    root_ca = retry(lambda: docker("exec", caddy, "cat", "/data/caddy/pki/authorities/local/root.crt"), 30)
    ca_file = stack.dir / "root.crt"
    ca_file.write_text(root_ca)

    def negotiated_protocol():
        offer_h2 = ssl.create_default_context(cafile=str(ca_file))
        offer_h2.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", stack.https_port), timeout=10) as raw:
            with offer_h2.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.selected_alpn_protocol()
    alpn = retry(negotiated_protocol, 30)
    assert alpn == "h2", alpn

    context = ssl.create_default_context(cafile=str(ca_file))
    conn = http.client.HTTPSConnection("localhost", stack.https_port, context=context, timeout=10)
    conn.request("GET", "/")
    resp = conn.getresponse()
    page = resp.read()
    assert resp.status == 200 and b"<html" in page.lower()
    assert resp.getheader("strict-transport-security", "").startswith("max-age="), resp.getheaders()
    assert "frame-ancestors 'none'" in resp.getheader("content-security-policy", "")

    label, image = digits[1]
    digit, replica = grpc_predict_over_tls(stack.https_port, root_ca.encode(), image, stack.dir / "stubs")
    assert digit == label
    report(f"compose.https.yml: page over TLS (ALPN {alpn}) with HSTS and the CSP, gRPC Predict over TLS through Caddy -> {digit} "
           f"from replica {replica}")


def test_6b_the_monitoring_file_scrapes_every_service_with_the_shipped_rules(stack):
    stack.compose("up", "-d", "--no-build", "prometheus", monitoring=True)
    took = stack.wait_healthy(["prometheus"], timeout=90)
    (prometheus,) = stack.containers("prometheus")
    assert process_uids(prometheus) == {65534}, "prometheus runs as nobody"
    published = {k for k, v in json.loads(docker("inspect", "-f", "{{json .NetworkSettings.Ports}}", prometheus)).items() if v}
    assert published == {"9090/tcp"}, published

    def api(path):
        conn = http.client.HTTPConnection("127.0.0.1", stack.prometheus_port, timeout=10)
        conn.request("GET", path)
        body = json.loads(conn.getresponse().read())
        assert body["status"] == "success", body
        return body["data"]

    replicas = len(stack.containers("inference"))

    def every_target_up():
        up = api("/api/v1/query?query=up")["result"]
        jobs = {}
        for series in up:
            assert series["value"][1] == "1", series
            jobs[series["metric"]["job"]] = jobs.get(series["metric"]["job"], 0) + 1
        assert jobs == {"gateway": 1, "inference": replicas, "logging": 1}, jobs
        return jobs
    # The first scrape comes within one 15 s interval.
    jobs = retry(every_target_up, 60)
    rules = [r["name"] for g in api("/api/v1/rules")["groups"] for r in g["rules"]]
    assert len(rules) == 6, rules
    served = retry(lambda: api("/api/v1/query?query=sum(digits_http_requests_total)")["result"][0]["value"][1], 30)
    report(f"compose.monitoring.yml: healthy in {took:.1f} s; targets up {jobs}; {len(rules)} alert rules; "
           f"the gateway counted {served} requests")


def test_7_down_v_leaves_nothing_behind(stack):
    stack.compose("down", "-v", "--remove-orphans", https=True, monitoring=True)
    label = f"label=com.docker.compose.project={PROJECT}"
    assert docker("ps", "-aq", "--filter", label).split() == []
    assert docker("network", "ls", "-q", "--filter", label).split() == []
    assert docker("volume", "ls", "-q", "--filter", label).split() == []
    report("down -v: no container, network or volume left")


# --- helpers -------------------------------------------------------------------

def wait_for_replicas(stack, count, timeout=30):
    """Waits until the gateway's discovery sees `count` inference replicas."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, body = stack.ready()
        if body.get("inference", {}).get("replicas") == count:
            return
        time.sleep(0.2)
    raise AssertionError(f"the gateway does not see {count} replicas: {stack.ready()}")


def process_uids(container):
    """The effective uids of every process in the container."""
    out = docker("top", container, "-eo", "uid,pid")  # docker top needs the pid column
    return {int(line.split()[0]) for line in out.splitlines()[1:] if line.strip()}


def probe(network, host, port):
    """Whether a throwaway container on `network` can open a TCP connection."""
    result = subprocess.run(
        [DOCKER, "run", "--rm", "--network", network, "debian:bookworm-slim",
         "timeout", "5", "bash", "-c", f"echo > /dev/tcp/{host}/{port}"],
        capture_output=True, text=True, timeout=60,
    )
    return result.returncode == 0


def retry(attempt, seconds):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return attempt()
        except Exception:  # noqa: BLE001 - retried until the deadline, then raised
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def grpc_predict_over_tls(port, root_ca, image, out):
    """Calls Inference.Predict through Caddy over TLS with stubs generated
    from proto/ into `out`; returns (digit, replica)."""
    import grpc
    from grpc_tools import protoc

    out.mkdir()
    proto = "digits/inference/v1/inference.proto"
    assert protoc.main(["protoc", f"-I{ROOT / 'proto'}", f"--python_out={out}", f"--grpc_python_out={out}", proto]) == 0
    sys.path.insert(0, str(out))
    from digits.inference.v1 import inference_pb2, inference_pb2_grpc

    credentials = grpc.ssl_channel_credentials(root_certificates=root_ca)
    options = [("grpc.ssl_target_name_override", "localhost"), ("grpc.default_authority", "localhost")]
    with grpc.secure_channel(f"ipv4:127.0.0.1:{port}", credentials, options=options) as channel:
        stub = inference_pb2_grpc.InferenceStub(channel)
        response, call = stub.Predict.with_call(
            inference_pb2.PredictRequest(image=inference_pb2.Image(encoded=image)), timeout=10)
        replica = dict(call.initial_metadata()).get("digits-replica", "?")
    return response.prediction.digit, replica
