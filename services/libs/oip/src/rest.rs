//! The protocol's REST forms, served by the gateway under `/v2`: JSON, plus
//! the binary tensor data extension (`binary_tensor_data`) that tritonclient
//! uses by default. With it, the body is the JSON header, whose length is in
//! the `Inference-Header-Content-Length` header, followed by the tensors'
//! raw bytes, in input order; each input says how many are its own in
//! `parameters.binary_data_size`. Outputs are sent the same way when the
//! request asks for it (`binary_data_output`, or `binary_data` per output).

use digits_proto::inference::v1 as native;
use digits_proto::oip as pb;
use pb::model_infer_request::{InferInputTensor, InferRequestedOutputTensor};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::call::raw_bytes;
use crate::{Call, OipError};

/// The header that gives the length of the JSON part of a binary body.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

#[derive(Deserialize)]
struct InferRequestJson {
    #[serde(default)]
    id: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    inputs: Vec<InputJson>,
    #[serde(default)]
    outputs: Vec<OutputJson>,
}

#[derive(Deserialize)]
struct InputJson {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    data: Option<Value>,
}

#[derive(Deserialize)]
struct OutputJson {
    name: String,
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// Which outputs go back as binary data.
#[derive(Debug, Clone, Default)]
pub struct BinaryOutputs {
    all: bool,
    named: Vec<(String, bool)>,
}

impl BinaryOutputs {
    fn wants(&self, output: &str) -> bool {
        self.named.iter().find(|(name, _)| name == output).map_or(self.all, |(_, binary)| *binary)
    }
}

fn flag(parameters: &Map<String, Value>, name: &str) -> Option<bool> {
    parameters.get(name).and_then(Value::as_bool)
}

/// A parsed `POST /v2/models/{model}[/versions/{version}]/infer`: the call
/// (answering in `contents`), its native batch, and the binary outputs.
///
/// # Errors
/// [`OipError::Invalid`] for a body that is not an inference request, or
/// whose binary part does not add up; then what [`Call::parse`] refuses.
pub fn parse_infer(
    model: &str,
    version: &str,
    body: &[u8],
    header_length: Option<usize>,
) -> Result<(Call, native::PredictBatchRequest, BinaryOutputs), OipError> {
    let (header, mut binary) = match header_length {
        None => (body, &[][..]),
        Some(length) if length <= body.len() => body.split_at(length),
        Some(length) => {
            return Err(OipError::Invalid(format!(
                "{HEADER_LENGTH} is {length}, beyond the body's {} bytes",
                body.len()
            )));
        }
    };
    let request: InferRequestJson = serde_json::from_slice(header)
        .map_err(|e| OipError::Invalid(format!("the body is not an inference request: {e}")))?;
    let outputs = BinaryOutputs {
        all: flag(&request.parameters, "binary_data_output").unwrap_or(false),
        named: request
            .outputs
            .iter()
            .filter_map(|o| flag(&o.parameters, "binary_data").map(|b| (o.name.clone(), b)))
            .collect(),
    };
    let mut inputs = Vec::with_capacity(request.inputs.len());
    let mut raw_input_contents = Vec::new();
    for input in request.inputs {
        let mut tensor =
            InferInputTensor { name: input.name, datatype: input.datatype, shape: input.shape, ..Default::default() };
        match input.parameters.get("binary_data_size") {
            Some(size) => {
                let size =
                    size.as_u64().and_then(|s| usize::try_from(s).ok()).filter(|s| *s <= binary.len()).ok_or_else(
                        || {
                            OipError::Invalid(format!(
                                "binary_data_size of '{}' is {size}, beyond the {} binary bytes left",
                                tensor.name,
                                binary.len()
                            ))
                        },
                    )?;
                let (data, rest) = binary.split_at(size);
                raw_input_contents.push(data.to_vec());
                binary = rest;
            }
            None => tensor.contents = Some(contents(&tensor, input.data.as_ref())?),
        }
        inputs.push(tensor);
    }
    if !binary.is_empty() {
        return Err(OipError::Invalid(format!("{} bytes of binary data belong to no input", binary.len())));
    }
    if !raw_input_contents.is_empty() && raw_input_contents.len() != inputs.len() {
        return Err(OipError::Invalid("send every input as binary data, or none".into()));
    }
    let request = pb::ModelInferRequest {
        model_name: model.into(),
        model_version: version.into(),
        id: request.id,
        parameters: Default::default(),
        inputs,
        outputs: request
            .outputs
            .into_iter()
            .map(|o| InferRequestedOutputTensor { name: o.name, ..Default::default() })
            .collect(),
        raw_input_contents,
    };
    let (mut call, batch) = Call::parse(request)?;
    call.answer_in_contents();
    Ok((call, batch, outputs))
}

/// The JSON `data` of an input as tensor contents: flattened, row-major.
/// Only the datatypes of the model's inputs are read; another datatype is
/// refused by [`Call::parse`] with the input's name.
fn contents(input: &InferInputTensor, data: Option<&Value>) -> Result<pb::InferTensorContents, OipError> {
    let mut contents = pb::InferTensorContents::default();
    let Some(data) = data else { return Ok(contents) };
    let mut elements = Vec::new();
    flatten(data, &mut elements);
    let wrong = |what: &str| OipError::Invalid(format!("the data of '{}' must be {what}", input.name));
    match input.datatype.as_str() {
        "FP32" => {
            contents.fp32_contents = elements
                .into_iter()
                .map(|v| v.as_f64().map(|f| f as f32).ok_or_else(|| wrong("numbers")))
                .collect::<Result<_, _>>()?;
        }
        "BYTES" => {
            contents.bytes_contents = elements
                .into_iter()
                .map(|v| v.as_str().map(|s| s.as_bytes().to_vec()).ok_or_else(|| wrong("strings")))
                .collect::<Result<_, _>>()?;
        }
        _ => {}
    }
    Ok(contents)
}

fn flatten<'a>(value: &'a Value, into: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| flatten(item, into)),
        other => into.push(other),
    }
}

/// The body of an inference answer, and the length of its JSON part when
/// binary data follow it (for [`HEADER_LENGTH`]).
pub fn infer_body(response: &pb::ModelInferResponse, binary: &BinaryOutputs) -> (Vec<u8>, Option<usize>) {
    let mut tail = Vec::new();
    let outputs: Vec<Value> = response
        .outputs
        .iter()
        .map(|output| {
            let contents = output.contents.clone().unwrap_or_default();
            let mut tensor = json!({ "name": output.name, "datatype": output.datatype, "shape": output.shape });
            if binary.wants(&output.name) {
                let bytes = raw_bytes(&contents);
                tensor["parameters"] = json!({ "binary_data_size": bytes.len() });
                tail.extend(bytes);
            } else {
                tensor["data"] = match output.datatype.as_str() {
                    "FP32" => json!(contents.fp32_contents),
                    "INT32" => json!(contents.int_contents),
                    _ => json!(contents.bytes_contents.iter().map(|b| String::from_utf8_lossy(b)).collect::<Vec<_>>()),
                };
            }
            tensor
        })
        .collect();
    let mut header = json!({
        "model_name": response.model_name,
        "model_version": response.model_version,
        "outputs": outputs,
    });
    if !response.id.is_empty() {
        header["id"] = json!(response.id);
    }
    let mut body = header.to_string().into_bytes();
    if tail.is_empty() {
        (body, None)
    } else {
        let length = body.len();
        body.extend(tail);
        (body, Some(length))
    }
}

/// `GET /v2`: the server's metadata as JSON.
pub fn server_metadata(metadata: &pb::ServerMetadataResponse) -> Value {
    json!({ "name": metadata.name, "version": metadata.version, "extensions": metadata.extensions })
}

/// `GET /v2/models/{model}`: the model's metadata as JSON.
pub fn model_metadata(metadata: &pb::ModelMetadataResponse) -> Value {
    let tensors = |tensors: &[pb::model_metadata_response::TensorMetadata]| {
        tensors.iter().map(|t| json!({ "name": t.name, "datatype": t.datatype, "shape": t.shape })).collect::<Vec<_>>()
    };
    json!({
        "name": metadata.name,
        "versions": metadata.versions,
        "platform": metadata.platform,
        "inputs": tensors(&metadata.inputs),
        "outputs": tensors(&metadata.outputs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_data_may_be_nested_and_binary_data_follow_the_header() {
        let pixels = vec![vec![vec![0.0_f32; 28]; 28]];
        let body = json!({ "inputs": [{ "name": "image", "datatype": "FP32", "shape": [1, 1, 28, 28],
            "data": [pixels] }] });
        let (_, batch, binary) = parse_infer("mnist", "", body.to_string().as_bytes(), None).expect("nested data");
        assert_eq!(batch.images.len(), 1);
        assert!(!binary.wants("digit"));

        let header = json!({ "inputs": [{ "name": "image", "datatype": "FP32", "shape": [1, 1, 28, 28],
            "parameters": { "binary_data_size": 784 * 4 } }],
            "outputs": [{ "name": "digit", "parameters": { "binary_data": true } }] })
        .to_string();
        let mut body = header.clone().into_bytes();
        body.extend(vec![0; 784 * 4]);
        let (call, _, binary) = parse_infer("mnist", "", &body, Some(header.len())).expect("binary input");
        let mut extra = body.clone();
        extra.push(0);
        assert!(matches!(parse_infer("mnist", "", &extra, Some(header.len())), Err(OipError::Invalid(_))));
        assert!(binary.wants("digit"));
        let prediction = native::Prediction { digit: 3, probabilities: vec![0.1; 10], ..Default::default() };
        let (answer, length) = infer_body(&call.respond("1.3.0", &[prediction]), &binary);
        let length = length.expect("binary output");
        assert_eq!(&answer[length..], 3i32.to_le_bytes());
        let answer: Value = serde_json::from_slice(&answer[..length]).expect("json header");
        assert_eq!(answer["outputs"][0]["parameters"]["binary_data_size"], 4);

        assert!(matches!(parse_infer("mnist", "", b"{}", Some(10)), Err(OipError::Invalid(_))));
        assert!(matches!(parse_infer("mnist", "", b"not json", None), Err(OipError::Invalid(_))));
    }
}
