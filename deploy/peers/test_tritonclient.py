"""The Open Inference Protocol, spoken by the real tritonclient.

Run by `cargo xtask oip` (a step of `cargo xtask test`) against the release
binaries: the gateway's REST endpoints (/v2) and public gRPC port, and the
inference service's own gRPC port. The addresses come from the environment:
DIGITS_HTTP (host:port), DIGITS_GATEWAY_GRPC, DIGITS_INFERENCE_GRPC, and the
MNIST test set from DIGITS_MNIST_DIR.
"""

import gzip
import http.client
import json
import os
import struct
import time
import zlib

import grpc
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

HTTP = os.environ["DIGITS_HTTP"]
GATEWAY_GRPC = os.environ["DIGITS_GATEWAY_GRPC"]
INFERENCE_GRPC = os.environ["DIGITS_INFERENCE_GRPC"]
MNIST = os.environ["DIGITS_MNIST_DIR"]
# MNIST test images compared with the native API.
COUNT = 1000
# The gateway's DIGITS_PUBLIC_MAX_BATCH.
BATCH = 16


def mnist(count):
    with gzip.open(os.path.join(MNIST, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:count]
    with gzip.open(os.path.join(MNIST, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    return images, labels


def png(pixels):
    """A greyscale PNG of `pixels` (uint8, rows x columns)."""
    rows = b"".join(b"\0" + row.tobytes() for row in pixels)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def native(body, content_type):
    """The native API's answer for one image: POST /api/predictions?log=false."""
    connection = http.client.HTTPConnection(HTTP, timeout=10)
    connection.request("POST", "/api/predictions?log=false", body, {"Content-Type": content_type})
    response = connection.getresponse()
    assert response.status == 200, response.read()
    return json.loads(response.read())


def clients():
    return {
        "gateway REST": httpclient.InferenceServerClient(HTTP),
        "gateway gRPC": grpcclient.InferenceServerClient(GATEWAY_GRPC),
        "inference gRPC": grpcclient.InferenceServerClient(INFERENCE_GRPC),
    }


def module(client):
    return httpclient if isinstance(client, httpclient.InferenceServerClient) else grpcclient


@pytest.fixture(scope="module")
def version():
    return native(png(mnist(1)[0][0]), "image/png")["model_version"]


@pytest.mark.parametrize("name", ["gateway REST", "gateway gRPC", "inference gRPC"])
def test_health_and_metadata(name, version):
    client = clients()[name]
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("mnist")
    assert client.is_model_ready("mnist", version)
    assert not client.is_model_ready("mnist", "0.0.1")
    assert not client.is_model_ready("resnet50")
    server = client.get_server_metadata()
    model = client.get_model_metadata("mnist")
    if isinstance(server, dict):
        name_, versions, inputs, outputs = model["name"], model["versions"], model["inputs"], model["outputs"]
        assert server["name"] == "digits" and "binary_tensor_data" in server["extensions"]
        shapes = {t["name"]: (t["datatype"], list(t["shape"])) for t in inputs + outputs}
    else:
        name_, versions, inputs, outputs = model.name, model.versions, model.inputs, model.outputs
        assert server.name == "digits"
        shapes = {t.name: (t.datatype, list(t.shape)) for t in list(inputs) + list(outputs)}
    assert (name_, list(versions)) == ("mnist", [version])
    assert shapes == {
        "image": ("FP32", [-1, 1, 28, 28]),
        "encoded": ("BYTES", [-1]),
        "probabilities": ("FP32", [-1, 10]),
        "not_a_digit": ("FP32", [-1]),
        "digit": ("INT32", [-1]),
        "number": ("BYTES", [-1]),
    }
    with pytest.raises(InferenceServerException) as error:
        client.get_model_metadata("resnet50")
    assert "unknown model 'resnet50'" in error.value.message()


def infer_pixels(client, images, **options):
    lib = module(client)
    tensor = lib.InferInput("image", [len(images), 1, 28, 28], "FP32")
    tensor.set_data_from_numpy((images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28))
    return client.infer("mnist", [tensor], **options)


def test_answers_agree_with_the_native_api_on_mnist_test_images(version):
    images, labels = mnist(COUNT)
    answers = [native(image.tobytes(), "application/vnd.digits.mnist") for image in images]
    native_digits = np.array([a["digit"] for a in answers])
    native_probabilities = np.array([a["probabilities"] for a in answers])
    print(f"\nnative API: {np.sum(native_digits == labels)}/{COUNT} right")
    for name, client in clients().items():
        digits, probabilities = [], []
        for start in range(0, COUNT, BATCH):
            result = infer_pixels(client, images[start : start + BATCH])
            response = result.get_response()
            served = response["model_version"] if isinstance(response, dict) else response.model_version
            assert served == version
            digits.extend(result.as_numpy("digit"))
            probabilities.extend(result.as_numpy("probabilities"))
        digits, probabilities = np.array(digits), np.array(probabilities)
        agree = int(np.sum(digits == native_digits))
        print(f"{name}: {agree}/{COUNT} answers agree with the native API; {np.sum(digits == labels)} right")
        assert agree == COUNT
        assert np.allclose(probabilities, native_probabilities, atol=1e-6)


@pytest.mark.parametrize("name", ["gateway REST", "gateway gRPC", "inference gRPC"])
def test_encoded_images_get_the_native_preprocessing(name):
    images, _ = mnist(8)
    files = [png(255 - image) for image in images]  # dark ink on white paper, like a scan
    expected = [native(f, "image/png")["number"] for f in files]
    client = clients()[name]
    lib = module(client)
    tensor = lib.InferInput("encoded", [len(files)], "BYTES")
    tensor.set_data_from_numpy(np.array(files, dtype=np.object_))
    outputs = [lib.InferRequestedOutput("number"), lib.InferRequestedOutput("digit")]
    result = client.infer("mnist", [tensor], outputs=outputs)
    numbers = [n.decode() if isinstance(n, bytes) else n for n in result.as_numpy("number")]
    assert numbers == expected
    assert result.as_numpy("probabilities") is None, "only the outputs asked for"


def test_rest_answers_in_json_when_asked():
    images, _ = mnist(2)
    client = httpclient.InferenceServerClient(HTTP)
    tensor = httpclient.InferInput("image", [2, 1, 28, 28], "FP32")
    tensor.set_data_from_numpy((images.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28), binary_data=False)
    outputs = [httpclient.InferRequestedOutput("digit", binary_data=False)]
    result = client.infer("mnist", [tensor], outputs=outputs, request_id="req-7")
    response = result.get_response()
    assert response["id"] == "req-7"
    assert response["outputs"][0]["data"] == list(result.as_numpy("digit"))


@pytest.mark.parametrize("name", ["gateway REST", "gateway gRPC", "inference gRPC"])
def test_bad_tensors_get_clear_errors(name):
    client = clients()[name]
    lib = module(client)
    images = np.zeros((1, 28, 28), np.float32)

    def refused(tensor, expected):
        with pytest.raises(InferenceServerException) as error:
            client.infer("mnist", [tensor])
        status = error.value.status()
        assert status in ("400", "StatusCode.INVALID_ARGUMENT"), (status, error.value.message())
        assert expected in error.value.message(), error.value.message()

    wrong_shape = lib.InferInput("image", [1, 28, 28], "FP32")
    wrong_shape.set_data_from_numpy(images)
    refused(wrong_shape, "[N,1,28,28]")
    wrong_type = lib.InferInput("image", [1, 1, 28, 28], "FP64")
    wrong_type.set_data_from_numpy(images.astype(np.float64).reshape(1, 1, 28, 28))
    refused(wrong_type, "must be FP32")
    normalised = lib.InferInput("image", [1, 1, 28, 28], "FP32")
    normalised.set_data_from_numpy(np.full((1, 1, 28, 28), -0.4242, np.float32))
    refused(normalised, "0.0 (paper) to 1.0 (ink)")
    unknown = lib.InferInput("input__0", [1, 1, 28, 28], "FP32")
    unknown.set_data_from_numpy(images.reshape(1, 1, 28, 28))
    refused(unknown, "unknown input 'input__0'")
    not_png = lib.InferInput("encoded", [1], "BYTES")
    not_png.set_data_from_numpy(np.array([b"GIF89a not really"], dtype=np.object_))
    with pytest.raises(InferenceServerException) as error:
        client.infer("mnist", [not_png])
    assert error.value.status() in ("422", "StatusCode.INVALID_ARGUMENT"), error.value.status()
    too_many = lib.InferInput("image", [BATCH + 1, 1, 28, 28], "FP32")
    too_many.set_data_from_numpy(np.zeros((BATCH + 1, 1, 28, 28), np.float32))
    if name != "inference gRPC":  # the public limit is the gateway's
        with pytest.raises(InferenceServerException) as error:
            client.infer("mnist", [too_many])
        assert error.value.status() in ("400", "StatusCode.INVALID_ARGUMENT"), error.value.status()
        assert "at most 16" in error.value.message()
    with pytest.raises(InferenceServerException) as error:
        client.infer("resnet50", [wrong_shape])
    assert error.value.status() in ("404", "StatusCode.NOT_FOUND")


@pytest.mark.parametrize("address", [GATEWAY_GRPC, INFERENCE_GRPC])
def test_grpc_raw_contents_with_the_wrong_byte_count(address):
    stub = service_pb2_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(address))
    request = service_pb2.ModelInferRequest(model_name="mnist")
    request.inputs.add(name="image", datatype="FP32", shape=[1, 1, 28, 28])
    request.raw_input_contents.append(b"\0" * 100)
    with pytest.raises(grpc.RpcError) as error:
        stub.ModelInfer(request)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "holds 100 bytes" in error.value.details()


def rest(method, path, body=None, headers=None):
    connection = http.client.HTTPConnection(HTTP, timeout=10)
    connection.request(method, path, body, headers or {})
    response = connection.getresponse()
    return response.status, response.getheader("Set-Cookie"), response.read()


def test_rest_errors_are_json_and_never_5xx():
    cases = [
        ("POST", "/v2/models/mnist/infer", b"not json", {}),
        ("POST", "/v2/models/mnist/infer", b'{"inputs": []}', {}),
        ("POST", "/v2/models/mnist/infer", b'{"inputs": [{"name": "image", "datatype": "FP32", '
         b'"shape": [1, 1, 28, 28], "data": [1, 2, 3]}]}', {}),
        ("POST", "/v2/models/mnist/infer", b'{"inputs": [{"name": "image", "datatype": "FP32", '
         b'"shape": [1, 1, 28, 28], "parameters": {"binary_data_size": 3136}}]}',
         {"Inference-Header-Content-Length": "99"}),
        ("POST", "/v2/models/mnist/infer", b"{}", {"Inference-Header-Content-Length": "-1"}),
        ("POST", "/v2/models/mnist/versions/0.0.1/infer", b"{}", {}),
        ("GET", "/v2/models/resnet50", None, {}),
        ("GET", "/v2/models/mnist/versions/0.0.1", None, {}),
        ("GET", "/v2/nothing/here", None, {}),
    ]
    for method, path, body, headers in cases:
        status, _, answer = rest(method, path, body, headers)
        assert 400 <= status < 500, (path, status, answer)
        assert isinstance(json.loads(answer)["error"], str), answer


def test_rest_predictions_are_logged_for_their_caller():
    images, _ = mnist(3)
    body = json.dumps({"inputs": [{"name": "image", "datatype": "FP32", "shape": [3, 1, 28, 28],
                                   "data": (images / 255.0).flatten().tolist()}]})
    status, cookie, _ = rest("POST", "/v2/models/mnist/infer", body, {"Content-Type": "application/json"})
    assert status == 200 and cookie
    visitor = cookie.split(";")[0]
    for _ in range(50):
        status, _, page = rest("GET", "/api/predictions", None, {"Cookie": visitor})
        if status == 200 and len(json.loads(page)["predictions"]) == 3:
            break
        time.sleep(0.1)
    assert status == 200 and len(json.loads(page)["predictions"]) == 3, page
