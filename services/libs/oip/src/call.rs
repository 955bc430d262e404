//! One `ModelInfer` call: the protocol's tensors in, a native batch out, and
//! the native answers back as the protocol's output tensors.

use digits_proto::inference::v1 as native;
use digits_proto::oip as pb;
use pb::model_infer_request::InferInputTensor;
use pb::model_infer_response::InferOutputTensor;
use pb::model_metadata_response::TensorMetadata;

use crate::{ENCODED_INPUT, IMAGE_INPUT, MODEL, OipError, PLATFORM};

/// Pixels in one 28x28 image.
const PIXELS: usize = 28 * 28;
/// The digits the probabilities are over.
const DIGITS: usize = 10;

/// One of the model's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `probabilities`, FP32 `[N, 10]`: P(digit) for 0 to 9.
    Probabilities,
    /// `not_a_digit`, FP32 `[N]`: P(not a digit).
    NotADigit,
    /// `digit`, INT32 `[N]`: the most probable digit.
    Digit,
    /// `number`, BYTES `[N]`: the digits read left to right, empty when the
    /// drawing is not a digit.
    Number,
}

impl Output {
    /// Every output, in the order they are returned.
    pub const ALL: [Self; 4] = [Self::Probabilities, Self::NotADigit, Self::Digit, Self::Number];

    /// Its name in the protocol.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Probabilities => "probabilities",
            Self::NotADigit => "not_a_digit",
            Self::Digit => "digit",
            Self::Number => "number",
        }
    }

    /// Its datatype in the protocol.
    pub const fn datatype(self) -> &'static str {
        match self {
            Self::Probabilities | Self::NotADigit => "FP32",
            Self::Digit => "INT32",
            Self::Number => "BYTES",
        }
    }

    /// Its shape for a batch of `n` (`-1`: any batch).
    fn shape(self, n: i64) -> Vec<i64> {
        match self {
            Self::Probabilities => vec![n, DIGITS as i64],
            _ => vec![n],
        }
    }

    fn by_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }

    /// Its values for `predictions`.
    fn contents(self, predictions: &[native::Prediction]) -> pb::InferTensorContents {
        let mut contents = pb::InferTensorContents::default();
        match self {
            Self::Probabilities => {
                contents.fp32_contents = predictions
                    .iter()
                    .flat_map(|p| p.probabilities.iter().copied().chain(std::iter::repeat(0.0)).take(DIGITS))
                    .collect();
            }
            Self::NotADigit => contents.fp32_contents = predictions.iter().map(|p| p.not_a_digit).collect(),
            Self::Digit => {
                contents.int_contents =
                    predictions.iter().map(|p| i32::try_from(p.digit).unwrap_or(i32::MAX)).collect();
            }
            Self::Number => contents.bytes_contents = predictions.iter().map(|p| p.number.clone().into()).collect(),
        }
        contents
    }
}

/// The values of `contents` as the protocol's raw bytes for `datatype`:
/// little-endian numbers; BYTES elements each after their length (4 bytes,
/// little-endian).
pub(crate) fn raw_bytes(contents: &pb::InferTensorContents) -> Vec<u8> {
    let mut raw = Vec::new();
    raw.extend(contents.fp32_contents.iter().flat_map(|v| v.to_le_bytes()));
    raw.extend(contents.int_contents.iter().flat_map(|v| v.to_le_bytes()));
    for element in &contents.bytes_contents {
        raw.extend(u32::try_from(element.len()).unwrap_or(u32::MAX).to_le_bytes());
        raw.extend_from_slice(element);
    }
    raw
}

/// One `ModelInfer` call, checked.
#[derive(Debug, Clone)]
pub struct Call {
    id: String,
    version: Option<String>,
    outputs: Vec<Output>,
    raw: bool,
}

impl Call {
    /// Checks `request` and turns its input into a native batch.
    ///
    /// # Errors
    /// [`OipError::UnknownModel`] for another model; [`OipError::Invalid`]
    /// when the request does not hold exactly one known input with its
    /// datatype, shape and byte count, or asks for an unknown output.
    pub fn parse(request: pb::ModelInferRequest) -> Result<(Self, native::PredictBatchRequest), OipError> {
        if request.model_name != MODEL {
            return Err(OipError::UnknownModel(request.model_name));
        }
        let version = Some(request.model_version).filter(|v| !v.is_empty());
        let mut outputs = Vec::new();
        for asked in &request.outputs {
            let output = Output::by_name(&asked.name).ok_or_else(|| {
                let known: Vec<_> = Output::ALL.iter().map(|o| o.name()).collect();
                OipError::Invalid(format!("unknown output '{}'; the outputs are {}", asked.name, known.join(", ")))
            })?;
            if !outputs.contains(&output) {
                outputs.push(output);
            }
        }
        if outputs.is_empty() {
            outputs = Output::ALL.to_vec();
        }
        let raw = !request.raw_input_contents.is_empty();
        let [mut input] = <[InferInputTensor; 1]>::try_from(request.inputs).map_err(|inputs| {
            OipError::Invalid(format!(
                "{} inputs: send exactly one, '{IMAGE_INPUT}' (FP32 [N,1,28,28]) or '{ENCODED_INPUT}' (BYTES [N])",
                inputs.len()
            ))
        })?;
        let data = match (raw, request.raw_input_contents.len()) {
            (false, _) => Data::Contents(input.contents.take().unwrap_or_default()),
            (true, 1) => {
                if input.contents.is_some() {
                    return Err(OipError::Invalid(
                        "the input has both contents and raw_input_contents; send one of them".into(),
                    ));
                }
                Data::Raw(request.raw_input_contents.into_iter().next().unwrap_or_default())
            }
            (true, n) => {
                return Err(OipError::Invalid(format!("{n} raw_input_contents for 1 input; send one per input")));
            }
        };
        let images = match input.name.as_str() {
            IMAGE_INPUT => pixel_images(&input, data)?,
            ENCODED_INPUT => encoded_images(&input, data)?,
            other => {
                return Err(OipError::Invalid(format!(
                    "unknown input '{other}'; the inputs are '{IMAGE_INPUT}' (FP32 [N,1,28,28], 0.0 paper to 1.0 \
                     ink) and '{ENCODED_INPUT}' (BYTES [N], PNG or JPEG files)"
                )));
            }
        };
        let batch = native::PredictBatchRequest {
            images,
            model_version: version.clone().unwrap_or_default(),
            routing_key: String::new(),
        };
        Ok((Self { id: request.id, version, outputs, raw }, batch))
    }

    /// The version the call named, if any: the native batch asks for it.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The outputs the call asked for (all when it named none).
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// Answers with the values in `contents`, whatever form the request
    /// used (the REST endpoints' choice).
    pub fn answer_in_contents(&mut self) {
        self.raw = false;
    }

    /// The protocol's answer from the native one: one row per prediction,
    /// in `raw_output_contents` when the request used raw inputs;
    /// `model_version` is the version that answered.
    pub fn respond(&self, model_version: &str, predictions: &[native::Prediction]) -> pb::ModelInferResponse {
        let n = i64::try_from(predictions.len()).unwrap_or(i64::MAX);
        let mut raw_output_contents = Vec::new();
        let outputs = self
            .outputs
            .iter()
            .map(|output| {
                let contents = output.contents(predictions);
                let contents = if self.raw {
                    raw_output_contents.push(raw_bytes(&contents));
                    None
                } else {
                    Some(contents)
                };
                InferOutputTensor {
                    name: output.name().into(),
                    datatype: output.datatype().into(),
                    shape: output.shape(n),
                    parameters: Default::default(),
                    contents,
                }
            })
            .collect();
        pb::ModelInferResponse {
            model_name: MODEL.into(),
            model_version: model_version.into(),
            id: self.id.clone(),
            parameters: Default::default(),
            outputs,
            raw_output_contents,
        }
    }
}

/// Checks that a request names the model this server serves. (Versions are
/// the native server's to check: it answers `NOT_FOUND` for one it does not
/// serve.)
///
/// # Errors
/// [`OipError::UnknownModel`].
pub fn check_model(name: &str) -> Result<(), OipError> {
    if name == MODEL { Ok(()) } else { Err(OipError::UnknownModel(name.into())) }
}

/// Where an input's values are.
enum Data {
    Contents(pb::InferTensorContents),
    Raw(Vec<u8>),
}

/// The batch size of an input of `shape`, which must be `[N, rest...]`.
fn batch_of(input: &InferInputTensor, rest: &[i64], form: &str) -> Result<usize, OipError> {
    match input.shape.split_first() {
        Some((&n, tail)) if n >= 1 && tail == rest => usize::try_from(n).map_err(|_| too_large(&input.name)),
        _ => Err(OipError::Invalid(format!(
            "input '{}' has shape {:?}; it must be {form} with N >= 1",
            input.name, input.shape
        ))),
    }
}

fn too_large(name: &str) -> OipError {
    OipError::Invalid(format!("input '{name}' is too large"))
}

fn check_datatype(input: &InferInputTensor, datatype: &str) -> Result<(), OipError> {
    if input.datatype == datatype {
        Ok(())
    } else {
        Err(OipError::Invalid(format!(
            "input '{}' has datatype '{}'; it must be {datatype}",
            input.name, input.datatype
        )))
    }
}

/// `image`: FP32 `[N, 1, 28, 28]`, each pixel 0.0 to 1.0, as ready 28x28
/// images (quantized to 1/255, as MNIST is).
fn pixel_images(input: &InferInputTensor, data: Data) -> Result<Vec<native::Image>, OipError> {
    check_datatype(input, "FP32")?;
    let n = batch_of(input, &[1, 28, 28], "[N,1,28,28]")?;
    let count = n.checked_mul(PIXELS).ok_or_else(|| too_large(&input.name))?;
    let values: Vec<f32> = match data {
        Data::Raw(bytes) => {
            if Some(bytes.len()) != count.checked_mul(4) {
                return Err(OipError::Invalid(format!(
                    "raw_input_contents of '{}' holds {} bytes; FP32 {:?} is {} bytes",
                    input.name,
                    bytes.len(),
                    input.shape,
                    count.saturating_mul(4)
                )));
            }
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        }
        Data::Contents(contents) => {
            if contents.fp32_contents.len() != count {
                return Err(OipError::Invalid(format!(
                    "input '{}' holds {} FP32 values (fp32_contents); shape {:?} is {count}",
                    input.name,
                    contents.fp32_contents.len(),
                    input.shape
                )));
            }
            contents.fp32_contents
        }
    };
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !(0.0..=1.0).contains(*v)) {
        return Err(OipError::Invalid(format!(
            "input '{}' holds {v} at element {i}: pixels are 0.0 (paper) to 1.0 (ink), before any normalisation",
            input.name
        )));
    }
    let bytes: Vec<u8> = values.iter().map(|v| (v * 255.0).round() as u8).collect();
    Ok(bytes
        .chunks_exact(PIXELS)
        .map(|pixels| native::Image { source: Some(native::image::Source::Mnist(pixels.to_vec())) })
        .collect())
}

/// `encoded`: BYTES `[N]` (or `[N, 1]`), each a PNG or JPEG file.
fn encoded_images(input: &InferInputTensor, data: Data) -> Result<Vec<native::Image>, OipError> {
    check_datatype(input, "BYTES")?;
    let n = match input.shape.as_slice() {
        [_, 1] => batch_of(input, &[1], "[N] or [N,1]")?,
        _ => batch_of(input, &[], "[N] or [N,1]")?,
    };
    let files = match data {
        Data::Contents(contents) => contents.bytes_contents,
        Data::Raw(bytes) => split_bytes(&input.name, &bytes)?,
    };
    if files.len() != n {
        return Err(OipError::Invalid(format!(
            "input '{}' holds {} elements; shape {:?} is {n}",
            input.name,
            files.len(),
            input.shape
        )));
    }
    Ok(files.into_iter().map(|file| native::Image { source: Some(native::image::Source::Encoded(file)) }).collect())
}

/// The elements of raw BYTES data: each a 4-byte little-endian length, then
/// that many bytes.
pub(crate) fn split_bytes(name: &str, mut raw: &[u8]) -> Result<Vec<Vec<u8>>, OipError> {
    let mut elements = Vec::new();
    while !raw.is_empty() {
        let malformed = || {
            OipError::Invalid(format!(
                "raw data of '{name}' is malformed: each BYTES element is a 4-byte little-endian length, then \
                 that many bytes"
            ))
        };
        let (length, rest) = raw.split_first_chunk::<4>().ok_or_else(malformed)?;
        let length = usize::try_from(u32::from_le_bytes(*length)).map_err(|_| malformed())?;
        if rest.len() < length {
            return Err(malformed());
        }
        let (element, rest) = rest.split_at(length);
        elements.push(element.to_vec());
        raw = rest;
    }
    Ok(elements)
}

fn tensor(name: &str, datatype: &str, shape: &[i64]) -> TensorMetadata {
    TensorMetadata { name: name.into(), datatype: datatype.into(), shape: shape.to_vec() }
}

/// The model's metadata, serving `version`.
pub fn model_metadata(version: &str) -> pb::ModelMetadataResponse {
    pb::ModelMetadataResponse {
        name: MODEL.into(),
        versions: vec![version.into()],
        platform: PLATFORM.into(),
        inputs: vec![tensor(IMAGE_INPUT, "FP32", &[-1, 1, 28, 28]), tensor(ENCODED_INPUT, "BYTES", &[-1])],
        outputs: Output::ALL.iter().map(|o| tensor(o.name(), o.datatype(), &o.shape(-1))).collect(),
    }
}

/// The server's metadata: Digits at `version`, with `extensions`.
pub fn server_metadata(version: &str, extensions: &[&str]) -> pb::ServerMetadataResponse {
    pb::ServerMetadataResponse {
        name: "digits".into(),
        version: version.into(),
        extensions: extensions.iter().map(|e| (*e).into()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_request(shape: Vec<i64>, values: Vec<f32>) -> pb::ModelInferRequest {
        pb::ModelInferRequest {
            model_name: MODEL.into(),
            inputs: vec![InferInputTensor {
                name: IMAGE_INPUT.into(),
                datatype: "FP32".into(),
                shape,
                contents: Some(pb::InferTensorContents { fp32_contents: values, ..Default::default() }),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn invalid(request: pb::ModelInferRequest) -> String {
        match Call::parse(request) {
            Err(OipError::Invalid(message)) => message,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn pixels_become_mnist_bytes_and_raw_data_match_contents() {
        let mut values = vec![0.0; 2 * PIXELS];
        values[0] = 1.0;
        values[PIXELS + 1] = 0.5;
        let (call, batch) = Call::parse(image_request(vec![2, 1, 28, 28], values.clone())).expect("valid");
        assert_eq!(call.outputs(), Output::ALL);
        let pixels: Vec<&[u8]> = batch
            .images
            .iter()
            .map(|i| match &i.source {
                Some(native::image::Source::Mnist(p)) => p.as_slice(),
                _ => panic!("mnist"),
            })
            .collect();
        assert_eq!((pixels[0][0], pixels[1][1], pixels[1][0]), (255, 128, 0));

        let mut raw = image_request(vec![2, 1, 28, 28], Vec::new());
        raw.inputs[0].contents = None;
        raw.raw_input_contents = vec![values.iter().flat_map(|v| v.to_le_bytes()).collect()];
        assert_eq!(Call::parse(raw).expect("valid raw").1, batch);
    }

    #[test]
    fn bad_tensors_are_refused_with_what_is_wrong() {
        assert!(invalid(image_request(vec![1, 28, 28], vec![0.0; PIXELS])).contains("[N,1,28,28]"));
        assert!(invalid(image_request(vec![1, 1, 28, 28], vec![0.0; 10])).contains("holds 10 FP32 values"));
        assert!(invalid(image_request(vec![0, 1, 28, 28], Vec::new())).contains("N >= 1"));
        assert!(invalid(image_request(vec![i64::MAX, 1, 28, 28], Vec::new())).contains("too large"));
        let mut wrong_type = image_request(vec![1, 1, 28, 28], vec![0.0; PIXELS]);
        wrong_type.inputs[0].datatype = "INT64".into();
        assert!(invalid(wrong_type).contains("must be FP32"));
        let mut normalised = vec![0.0; PIXELS];
        normalised[3] = -0.42;
        assert!(invalid(image_request(vec![1, 1, 28, 28], normalised)).contains("-0.42 at element 3"));
        let mut short_raw = image_request(vec![1, 1, 28, 28], Vec::new());
        short_raw.inputs[0].contents = None;
        short_raw.raw_input_contents = vec![vec![0; 100]];
        assert!(invalid(short_raw).contains("holds 100 bytes"));
        let mut unknown = image_request(vec![1, 1, 28, 28], vec![0.0; PIXELS]);
        unknown.inputs[0].name = "input__0".into();
        assert!(invalid(unknown).contains("unknown input 'input__0'"));
        let mut output = image_request(vec![1, 1, 28, 28], vec![0.0; PIXELS]);
        output.outputs =
            vec![pb::model_infer_request::InferRequestedOutputTensor { name: "logits".into(), ..Default::default() }];
        assert!(invalid(output).contains("unknown output 'logits'"));
        let mut other = image_request(vec![1, 1, 28, 28], vec![0.0; PIXELS]);
        other.model_name = "resnet".into();
        assert!(Call::parse(other).expect_err("unknown model").is_not_found());
    }

    #[test]
    fn encoded_files_come_length_prefixed_or_as_bytes_contents() {
        let files = vec![b"\x89PNG one".to_vec(), b"two".to_vec()];
        let raw = raw_bytes(&pb::InferTensorContents { bytes_contents: files.clone(), ..Default::default() });
        assert_eq!(split_bytes("encoded", &raw).expect("valid"), files);
        assert!(split_bytes("encoded", &raw[..raw.len() - 1]).is_err(), "a truncated element");
        assert!(split_bytes("encoded", &[1, 0]).is_err(), "a truncated length");
    }

    #[test]
    fn answers_follow_the_request_form_and_version() {
        let (call, _) = Call::parse(image_request(vec![1, 1, 28, 28], vec![0.0; PIXELS])).expect("valid");
        let prediction = native::Prediction {
            digit: 7,
            probabilities: vec![0.1; 10],
            not_a_digit: 0.01,
            number: "7".into(),
            ..Default::default()
        };
        let answer = call.respond("1.3.0", std::slice::from_ref(&prediction));
        assert!(answer.raw_output_contents.is_empty());
        assert_eq!(answer.outputs[0].shape, vec![1, 10]);
        assert_eq!(answer.outputs[2].contents.as_ref().expect("contents").int_contents, vec![7]);

        let mut raw = image_request(vec![1, 1, 28, 28], Vec::new());
        raw.inputs[0].contents = None;
        raw.raw_input_contents = vec![vec![0; PIXELS * 4]];
        raw.model_version = "9.9.9".into();
        let (call, batch) = Call::parse(raw).expect("valid");
        assert_eq!(
            (call.version(), batch.model_version.as_str()),
            (Some("9.9.9"), "9.9.9"),
            "the version is asked for"
        );
        let mut raw = image_request(vec![1, 1, 28, 28], Vec::new());
        raw.inputs[0].contents = None;
        raw.raw_input_contents = vec![vec![0; PIXELS * 4]];
        let answer = Call::parse(raw).expect("valid").0.respond("1.3.0", &[prediction]);
        assert_eq!(answer.raw_output_contents[2], 7i32.to_le_bytes());
        assert_eq!(answer.raw_output_contents[3], [1, 0, 0, 0, b'7']);
    }
}
