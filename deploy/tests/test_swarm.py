"""Digits on a Docker Swarm of three engine nodes (swarm.py): the stack of
deploy/docker-compose.yml + deploy/swarm.yml, deployed with `docker stack
deploy` from images the nodes pull from a registry by digest, and the
scenarios of the multi-host issue under continuous load, in order:

  a. spread over every node;  b. rolling updates (and a rollback);
  c. a node drained;  d. a node killed;  e. every prediction answered 201 is
  stored once, the killed node's spool included;  f. inference scaled 3 -> 6;
  and at the end nothing the test made is left.

Run by `cargo xtask swarm` (and so by `cargo xtask test`), which builds the
images and the node and registry stand-ins first.
"""

import json
import threading
import time

import pytest

from stack import mnist_digits
from swarm import (
    DATABASE_NODE, NODES, REFRESH_MS, STACK, TAG, Cluster, Fleet, derived_image, outer, wait_for,
)

# Every prediction answered 201 in any scenario, by scenario and by the node
# whose gateway answered it: test_e and test_f check each is stored once.
ACKED = {}
BY_NODE = {}


def report(line):
    """A figure worth reading in the output (the runner passes -s)."""
    print(f"\nswarm: {line}", flush=True)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    c.remove_objects()  # what an interrupted run left
    try:
        started = time.monotonic()
        c.create()
        report(f"three engine nodes (Docker {c.docker('node1', 'info', '-f', '{{.ServerVersion}}').strip()}) "
               f"joined one Swarm of three managers in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        pushed = c.push_images()
        report(f"images pushed to the registry in {time.monotonic() - started:.1f} s: "
               + ", ".join(f"{name}@{digest[:19]}" for name, digest in pushed.items()))
        c.pushed = pushed
        yield c
    finally:
        c.remove()


@pytest.fixture(scope="module")
def digits():
    return mnist_digits(20)


def load(cluster, digits, seconds, scenario, workers=8):
    """Load for `seconds`; its answers are kept under `scenario`."""
    with Fleet(cluster, digits, workers=workers) as fleet:
        time.sleep(seconds)
    return keep(scenario, fleet.result)


def keep(scenario, result):
    ACKED.setdefault(scenario, []).extend(result.created)
    for node, ids in result.by_node.items():
        BY_NODE.setdefault(node, set()).update(ids)
    return result


def replica_nodes(result):
    """The nodes of the inference replicas that answered ("node2-inference-3" -> node2)."""
    return {replica.split("-inference-")[0] for replica in result.replicas}


def test_a_the_stack_deploys_from_the_registry_by_digest_and_every_node_serves(cluster, digits):
    started = time.monotonic()
    out = cluster.deploy()
    took = cluster.wait_whole(timeout=300)
    report(f"docker stack deploy -c docker-compose.yml -c swarm.yml: whole in {time.monotonic() - started:.1f} s "
           f"(healthy {took:.1f} s after the command returned)")
    assert "Creating service digits_gateway" in out, out

    # Pulled from the registry, pinned by digest.
    for service in ("gateway", "inference", "logging"):
        digest = cluster.pushed[f"digits-{service}:{TAG}"]
        images = {t["image"] for t in cluster.tasks(service)}
        assert images == {f"registry:5000/digits-{service}:{TAG}@{digest}"}, images
    (pg,) = cluster.tasks("postgres")
    assert pg["image"].endswith(cluster.pushed["library/postgres:16-bookworm"]), pg["image"]

    placed = cluster.placement()
    report(f"replicas per node: {placed}")
    assert placed["postgres"] == {DATABASE_NODE: 1}
    assert placed["gateway"] == {n: 1 for n in NODES}
    assert placed["inference"] == {n: 1 for n in NODES}, "inference is not spread over the nodes"
    assert len(placed["logging"]) == 2 and set(placed["logging"].values()) == {1}

    # The database password is a secret: in no service's definition, in the
    # two tasks that need it as a file.
    password = cluster.password_file.read_text().strip()
    for service in ("postgres", "logging", "inference", "gateway"):
        spec = cluster.manager("service", "inspect", f"{STACK}_{service}")
        assert password not in spec, f"the password is in {service}'s definition"
        secrets = json.loads(spec)[0]["Spec"]["TaskTemplate"]["ContainerSpec"].get("Secrets") or []
        wanted = ["postgres_password"] if service in ("postgres", "logging") else []
        assert [s["File"]["Name"] for s in secrets] == wanted, (service, secrets)

    result = load(cluster, digits, 6, "a")
    per_node = {node: len(ids) for node, ids in sorted(result.by_node.items())}
    report(f"a. spread: {result.summary()}; answered per node's gateway {per_node}; "
           f"per inference replica {dict(sorted(result.replicas.items()))}")
    assert not result.failures, result.failures[:5]
    assert set(per_node) == set(NODES), "a node's gateway served nothing"
    assert replica_nodes(result) == set(NODES), "the inference replicas of a node got no request"
    assert len(result.replicas) == 3


def test_b_rolling_updates_of_inference_then_the_gateway_fail_no_request(cluster, digits):
    for service in ("inference", "gateway"):
        derived_image(f"digits-{service}:{TAG}", f"digits-{service}:next", "next")
    pushed = {}
    for service in ("inference", "gateway"):
        target = f"127.0.0.1:{cluster.registry_port}/digits-{service}:next"
        outer("tag", f"digits-{service}:next", target)
        out = outer("push", target, timeout=600)
        pushed[service] = next(l.split("digest: ")[1].split()[0] for l in out.splitlines() if "digest: " in l)
    before = cluster.placement()

    running_inference = []
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            running_inference.append(cluster.services().get("inference", (0, 0))[0])
            time.sleep(0.3)

    timings = {}
    with Fleet(cluster, digits) as fleet:
        time.sleep(2)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        for service in ("inference", "gateway"):
            started = time.monotonic()
            image = f"registry:5000/digits-{service}:next"
            cluster.manager("service", "update", "--detach=false", "--image", image, f"{STACK}_{service}",
                            timeout=600)
            wait_for(lambda: cluster.updated(service, image), 300, f"{service} updated")
            timings[service] = time.monotonic() - started
            if service == "inference":
                sampling.set()
                sampler.join()
        cluster.wait_whole()
        time.sleep(2)
    result = keep("b", fleet.result)
    after = cluster.placement()
    report(f"b. rolling update of inference ({timings['inference']:.0f} s, start-first: "
           f"{min(running_inference)}..{max(running_inference)} inference tasks running throughout), then of the "
           f"gateway ({timings['gateway']:.0f} s, stop-first, node by node): {result.summary()}; "
           f"replicas per node before {before}, after {after}")
    for service in ("inference", "gateway"):
        images = {t["image"] for t in cluster.tasks(service)}
        assert images == {f"registry:5000/digits-{service}:next@{pushed[service]}"}, images
    assert min(running_inference) >= 3, "inference dropped below its replica count during the update"
    assert not result.failures, result.failures[:5]

    # The operator's way back: docker service rollback, under load too.
    with Fleet(cluster, digits) as fleet:
        time.sleep(1)
        started = time.monotonic()
        cluster.manager("service", "rollback", "--detach=false", f"{STACK}_inference", timeout=600)
        wait_for(lambda: cluster.updated("inference", f"registry:5000/digits-inference:{TAG}"), 300, "rolled back")
        took = time.monotonic() - started
        cluster.wait_whole()
    result = keep("b", fleet.result)
    images = {t["image"] for t in cluster.tasks("inference")}
    report(f"b. docker service rollback of inference ({took:.0f} s): {result.summary()}; images {images}")
    assert images == {f"registry:5000/digits-inference:{TAG}@{cluster.pushed[f'digits-inference:{TAG}']}"}
    assert not result.failures, result.failures[:5]


def test_c_a_drained_node_hands_its_tasks_over_without_a_failed_request(cluster, digits):
    drained = "node2"
    before = cluster.placement()
    with Fleet(cluster, digits) as fleet:
        time.sleep(2)
        started = time.monotonic()
        cluster.manager("node", "update", "--availability", "drain", drained)
        survivors = tuple(n for n in NODES if n != drained)
        moved = cluster.wait_whole(nodes=survivors)
        during = cluster.placement()
        time.sleep(2)
        cluster.manager("node", "update", "--availability", "active", drained)
        cluster.wait_whole()
        time.sleep(2)
    result = keep("c", fleet.result)
    report(f"c. drain of {drained}: its tasks moved and the stack whole again in {moved:.1f} s; {result.summary()}; "
           f"replicas per node before {before}, drained {during}, after reactivation {cluster.placement()}")
    assert all(drained not in per_node for per_node in during.values()), during
    assert not result.failures, result.failures[:5]


def test_d_a_node_killed_under_load_is_replaced_and_its_tasks_rescheduled(cluster, digits):
    before = cluster.placement()
    # The victim: a node without PostgreSQL, preferably one with backend tasks.
    candidates = [n for n in NODES if n != DATABASE_NODE]
    victim = max(candidates, key=lambda n: sum(before[s].get(n, 0) for s in ("inference", "logging")))
    survivors = tuple(n for n in NODES if n != victim)
    cluster.victim = victim

    with Fleet(cluster, digits) as fleet:
        time.sleep(2)
        # Logging paused first, so that every gateway holds answered
        # predictions in its spool when the node dies (test_e follows them).
        cluster.manager("service", "scale", "--detach=true", f"{STACK}_logging=0")
        wait_for(lambda: cluster.services()["logging"][0] == 0, 60, "logging scaled to 0")
        spooled = wait_for(lambda: pending(cluster, victim) >= 50, 60, f"{victim}'s gateway spooling")
        at_kill = pending(cluster, victim)
        killed = time.monotonic()
        outer("kill", cluster.container(victim))
        cluster.manager("service", "scale", "--detach=true", f"{STACK}_logging=2")
        down = wait_for(lambda: cluster.node_states().get(victim, ("",))[0] == "Down", 120, f"{victim} seen down")
        cluster.wait_whole(nodes=survivors, timeout=240)
        whole = time.monotonic() - killed
        time.sleep(3)
    result = keep("d", fleet.result)
    after = cluster.placement()
    report(f"d. docker kill of {victim} under load ({at_kill} answered predictions in its gateway's spool, logging "
           f"paused {spooled:.1f} s before): seen down after {down:.1f} s, stack whole again on "
           f"{'+'.join(survivors)} {whole:.1f} s after the kill; {result.summary()}; failures "
           f"{[f[1] for f in result.failures][:10]}; replicas per node before {before}, after {after}")
    assert all(victim not in per_node for per_node in after.values()), after
    assert after["inference"] and sum(after["inference"].values()) == 3
    assert sum(after["logging"].values()) == 2
    # A failed request is a gap to close, not fine: none is allowed.
    assert not result.failures, result.failures[:10]


def pending(cluster, node):
    ready = cluster.gateway_nodes().get(node)
    return ready[1]["log_queue"]["pending"] if ready else 0


def test_e_every_prediction_answered_201_is_stored_once_the_killed_nodes_spool_included(cluster, digits):
    victim = cluster.victim
    acked = {i for ids in ACKED.values() for i in ids}
    assert len(acked) == sum(len(ids) for ids in ACKED.values()), "an id was answered twice"
    survivors = [n for n in NODES if n != victim]
    wait_for(lambda: all(pending(cluster, n) == 0 for n in survivors), 60, "the survivors' queues drained")
    stored = cluster.stored()
    missing = acked - set(stored)
    report(f"e. with {victim} still down: {len(acked)} answered 201 so far, {len(acked) - len(missing)} stored; "
           f"{len(missing)} wait in {victim}'s spool")
    assert missing <= BY_NODE.get(victim, set()), "a prediction answered by a surviving node is not stored"

    started = time.monotonic()
    outer("start", cluster.container(victim))
    cluster.wait_engine(victim)
    cluster.read_ports(victim)
    back = cluster.wait_whole(timeout=240)
    replayed = cluster.gateway_nodes()[victim][1]["log_queue"]["replayed"]
    wait_for(lambda: acked <= set(cluster.stored()), 120, f"{victim}'s spool sent")
    returned = time.monotonic() - started
    stored = cluster.stored()
    extra = sum(stored.values()) - len(acked)
    per_scenario = {s: f"{len(ids)}/{sum(1 for i in ids if stored.get(i) == 1)}" for s, ids in ACKED.items()}
    report(f"e. {victim} started again: its gateway back and the stack whole in {back:.1f} s, {replayed} entries "
           f"replayed from its spool: "
           f"all {len(acked)} answered predictions stored exactly once ({returned:.1f} s after the start); "
           f"answered/stored once per scenario {per_scenario}; {extra} more rows than answers "
           f"(requests whose answer never reached the client)")
    assert all(stored[i] == 1 for i in acked)
    assert replayed >= len(missing), "the returning gateway did not send its spool"


def test_f_inference_scaled_from_3_to_6_takes_traffic_within_the_refresh_period(cluster, digits):
    before = cluster.placement()
    old = {t["container"] for t in cluster.tasks("inference")}
    with Fleet(cluster, digits) as fleet:
        time.sleep(2)
        cluster.manager("service", "scale", "--detach=true", f"{STACK}_inference=6")
        wait_for(lambda: cluster.services()["inference"] == (6, 6), 120, "six inference tasks running")
        new = [t for t in cluster.tasks("inference") if t["container"] not in old]
        names = {f"{t['node']}-inference-{t['slot']}": t["since"] for t in new}
        deadline = max(names.values()) + REFRESH_MS / 1000 + 3
        while time.time() < deadline and not all(n in fleet.result.first_seen for n in names):
            time.sleep(0.1)
        time.sleep(1)
    result = keep("f", fleet.result)
    delays = {n: round(result.first_seen[n] - since, 2) for n, since in names.items() if n in result.first_seen}
    after = cluster.placement()
    report(f"f. inference 3 -> 6 under load: new replicas answered {delays} s after they ran "
           f"(refresh {REFRESH_MS} ms); {result.summary()}; replicas per node before {before}, after {after}")
    assert set(delays) == set(names), f"new replicas {sorted(names)} got no traffic in time: {result.replicas}"
    assert after["inference"] == {n: 2 for n in NODES}, after
    assert not result.failures, result.failures[:5]
    ids = set(result.created)
    wait_for(lambda: ids <= set(cluster.stored()), 60, "the scale scenario's predictions stored")
    stored = cluster.stored()
    assert all(stored[i] == 1 for i in ids)


def test_g_everything_the_test_made_is_removed(cluster):
    cluster.manager("stack", "rm", STACK)
    cluster.remove()
    left = cluster.leftovers()
    report(f"removed: nodes, registry, volumes, network; left {left}")
    assert left == {"volume": [], "network": [], "container": []}, left
