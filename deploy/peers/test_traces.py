"""Traces across the three services, checked with a real OTLP peer.

Run by `cargo xtask traces` (a step of `cargo xtask test`) against the
release binaries, started with OTEL_EXPORTER_OTLP_ENDPOINT pointing at the
OTLP/gRPC trace receiver this module serves (on DIGITS_OTLP_PORT), built
from the OpenTelemetry project's own protocol definitions
(opentelemetry-proto). The services' log files are in DIGITS_LOGS_DIR.
"""

import gzip
import http.client
import os
import secrets
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

HTTP = os.environ["DIGITS_HTTP"]
GATEWAY_GRPC = os.environ["DIGITS_GATEWAY_GRPC"]
OTLP_PORT = os.environ["DIGITS_OTLP_PORT"]
LOGS = os.environ["DIGITS_LOGS_DIR"]
MNIST = os.environ["DIGITS_MNIST_DIR"]
SERVICES = {"gateway", "inference", "logging"}


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps every exported span as (service, trace id, span name)."""

    def __init__(self):
        self.spans = []

    def Export(self, request, context):
        for resource_spans in request.resource_spans:
            service = next(
                (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), ""
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append((service, span.trace_id.hex(), span.name))
        return trace_service_pb2.ExportTraceServiceResponse()

    def services_of(self, trace_id, timeout=20):
        """The services that exported spans of `trace_id`, once all three did or `timeout` passed."""
        deadline = time.time() + timeout
        while True:
            services = {service for service, trace, _ in list(self.spans) if trace == trace_id}
            if services >= SERVICES or time.time() > deadline:
                return services
            time.sleep(0.2)


@pytest.fixture(scope="module")
def receiver():
    server = grpc.server(ThreadPoolExecutor(4))
    receiver = Receiver()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    server.add_insecure_port(f"127.0.0.1:{OTLP_PORT}")
    server.start()
    yield receiver
    server.stop(0)


def mnist_png():
    with gzip.open(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz")) as f:
        pixels = 255 - np.frombuffer(f.read(16 + 784), np.uint8, offset=16).reshape(28, 28)
    rows = b"".join(b"\0" + row.tobytes() for row in pixels)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def predict(headers):
    connection = http.client.HTTPConnection(HTTP, timeout=10)
    connection.request("POST", "/api/predictions", mnist_png(), {"Content-Type": "image/png", **headers})
    response = connection.getresponse()
    response.read()
    assert response.status == 201


def logged_by(trace_id, timeout=10):
    """The services whose log files mention `trace_id`."""
    deadline = time.time() + timeout
    while True:
        found = set()
        for service in SERVICES:
            with open(os.path.join(LOGS, f"{service}.log"), errors="replace") as f:
                if trace_id in f.read():
                    found.add(service)
        if found == SERVICES or time.time() > deadline:
            return found
        time.sleep(0.2)


def test_a_callers_trace_is_continued_by_all_three_services(receiver):
    trace_id = secrets.token_hex(16)
    predict({"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    # The answer comes before the log write: the logging service's part follows.
    assert logged_by(trace_id) == SERVICES
    assert receiver.services_of(trace_id) == SERVICES
    names = {(service, name) for service, trace, name in receiver.spans if trace == trace_id}
    assert ("gateway", "POST /api/predictions") in names, names
    assert ("inference", "POST /digits.inference.v1.Inference/Predict") in names, names
    assert ("logging", "store_prediction") in names, names
    print(f"\ntrace {trace_id}: spans {sorted(names)}")


def test_without_a_traceparent_the_gateway_starts_a_trace(receiver):
    before = len(receiver.spans)
    predict({})
    deadline = time.time() + 20
    while time.time() < deadline:
        new = receiver.spans[before:]
        started = {trace for service, trace, name in new if service == "gateway" and name == "POST /api/predictions"}
        complete = [t for t in started if {s for s, trace, _ in new if trace == t} >= SERVICES]
        if complete:
            assert complete[0] != "0" * 32
            return
        time.sleep(0.2)
    pytest.fail(f"no trace started by the gateway reached all three services: {receiver.spans[before:]}")


def test_the_public_grpc_port_continues_a_trace(receiver):
    trace_id = secrets.token_hex(16)
    client = grpcclient.InferenceServerClient(GATEWAY_GRPC)
    tensor = grpcclient.InferInput("image", [1, 1, 28, 28], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 1, 28, 28), np.float32))
    try:
        client.infer("mnist", [tensor], headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    except Exception:  # an empty image may be refused; the trace is what matters
        pass
    assert {"gateway", "inference"} <= receiver.services_of(trace_id, timeout=10)


def test_a_malformed_traceparent_starts_a_new_trace_and_is_not_an_error(receiver):
    connection = http.client.HTTPConnection(HTTP, timeout=10)
    connection.request("GET", "/api/model", headers={"traceparent": "00-not-a-trace-id-01"})
    assert connection.getresponse().status == 200
