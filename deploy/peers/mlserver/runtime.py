"""The MLServer runtime of the bench's peer: Digits' model.onnx in onnxruntime.

One thread per session, as Digits' inference workers run tract; the request
is the same OIP REST call (`POST /v2/models/mnist/infer`, an FP32
`[N, 1, 28, 28]` input named `image`) and the answer the model's logits.
"""

import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri


class OnnxModel(MLModel):
    async def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        path = await get_model_uri(self._settings)
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        image = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32, copy=False)
        (logits,) = self._session.run(None, {self._input: image})
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            outputs=[NumpyCodec.encode_output("logits", logits)],
        )
