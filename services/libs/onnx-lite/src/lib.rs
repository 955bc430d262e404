//! A small ONNX runtime for the digits models, for the web app.
//!
//! [`Model::from_onnx`] reads the same `model.onnx` the inference service
//! runs with tract, checks that it takes one `[N, C, H, W]` image and that
//! every operator is one this crate knows, and keeps its weights;
//! [`Model::run`] computes the logits of one image. The operators are those a
//! small convolutional network exported from PyTorch uses: `Conv`, `Gemm`,
//! `MatMul`, `Relu`, `MaxPool`, `AveragePool`, `GlobalAveragePool`,
//! `BatchNormalization`, `Flatten`, `Reshape`, `Add`, `Sub`, `Mul`, `Div`,
//! `Constant`, `Identity` and `Dropout`. A model with another operator is
//! refused at load ([`LoadError::Unsupported`]), so a page falls back to the
//! server instead of answering wrongly.
//!
//! Why not tract, which the server runs: compiled to wasm it weighs 1.6-2 MB
//! gzip before the model, where this crate adds a few dozen kilobytes.

mod ops;
pub mod proto;
mod tensor;

use std::collections::HashMap;

use prost::Message;

use crate::ops::{Arithmetic, Op, Window};
pub use crate::tensor::Tensor;

/// The model file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not an ONNX protobuf.
    #[error("not an ONNX model: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The file has no graph, or the graph no input or output.
    #[error("the model has {0}")]
    Structure(&'static str),
    /// An operator this runtime does not run.
    #[error("operator {0} is not supported here")]
    Unsupported(String),
    /// An operator's attributes or constant inputs are not what it needs.
    #[error("{op}: {problem}")]
    Attribute {
        /// The operator.
        op: String,
        /// What is wrong.
        problem: String,
    },
    /// A node reads a value nothing produces.
    #[error("{0} is used before anything produces it")]
    Missing(String),
    /// The input is not one image `[N, C, H, W]` of floats.
    #[error("the input is {0}, not [N, C, H, W] floats")]
    Input(String),
    /// The model fails on a blank image.
    #[error("the model does not run: {0}")]
    Run(#[from] RunError),
}

/// Running failed: the input has the wrong size, or an operator met shapes
/// it cannot combine (a model that loaded but is inconsistent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// Shapes do not fit.
    #[error("shapes: {0}")]
    Shape(String),
}

/// Where a node's input comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// A value computed at run time (its slot).
    Slot(usize),
    /// A constant (its index).
    Constant(usize),
}

#[derive(Debug, Clone)]
struct Step {
    op: Op,
    inputs: Vec<Source>,
    output: usize,
}

/// A loaded model, ready to run one image at a time.
#[derive(Debug, Clone)]
pub struct Model {
    steps: Vec<Step>,
    constants: Vec<Tensor>,
    slots: usize,
    output: usize,
    input_shape: [usize; 3],
}

impl Model {
    /// Reads an ONNX model and checks it can be run here.
    ///
    /// # Errors
    /// See [`LoadError`].
    pub fn from_onnx(bytes: &[u8]) -> Result<Self, LoadError> {
        let model = proto::ModelProto::decode(bytes)?;
        let graph = model.graph.ok_or(LoadError::Structure("no graph"))?;
        let mut constants: Vec<Tensor> = Vec::new();
        let mut known: HashMap<String, Source> = HashMap::new();
        let mut int_constants: HashMap<String, Vec<i64>> = HashMap::new();
        for init in &graph.initializer {
            add_constant(init, &init.name, &mut constants, &mut known, &mut int_constants)?;
        }
        let input =
            graph.input.iter().find(|i| !known.contains_key(&i.name)).ok_or(LoadError::Structure("no input"))?;
        let input_shape = image_input(input)?;
        known.insert(input.name.clone(), Source::Slot(0));
        let mut slots = 1;
        let mut steps = Vec::new();
        for node in &graph.node {
            if !(node.domain.is_empty() || node.domain == "ai.onnx") {
                return Err(LoadError::Unsupported(format!("{}:{}", node.domain, node.op_type)));
            }
            let output = node.output.first().ok_or(LoadError::Structure("a node without output"))?;
            if node.op_type == "Constant" {
                let value =
                    attribute(node, "value").and_then(|a| a.t.as_ref()).ok_or_else(|| bad(node, "no tensor value"))?;
                add_constant(value, output, &mut constants, &mut known, &mut int_constants)?;
                continue;
            }
            let source = |name: &String| known.get(name).copied().ok_or_else(|| LoadError::Missing(name.clone()));
            let (op, inputs) = build(node, &constants, &int_constants, &source)?;
            steps.push(Step { op, inputs, output: slots });
            known.insert(output.clone(), Source::Slot(slots));
            slots += 1;
        }
        let output = graph.output.first().ok_or(LoadError::Structure("no output"))?;
        let Some(Source::Slot(output)) = known.get(&output.name).copied() else {
            return Err(LoadError::Missing(output.name.clone()));
        };
        let model = Self { steps, constants, slots, output, input_shape };
        model.run(&vec![0.0; model.input_len()])?;
        Ok(model)
    }

    /// The values one image has: channels x height x width (784 for MNIST).
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// The output of one image (the logits), from its `input_len()` values.
    ///
    /// # Errors
    /// When `image` has the wrong size, or the graph meets shapes it cannot
    /// combine.
    pub fn run(&self, image: &[f32]) -> Result<Vec<f32>, RunError> {
        if image.len() != self.input_len() {
            return Err(RunError::Shape(format!("{} values, the model takes {}", image.len(), self.input_len())));
        }
        let [c, h, w] = self.input_shape;
        let mut values: Vec<Option<Tensor>> = vec![None; self.slots];
        values[0] = Some(Tensor::new(vec![1, c, h, w], image.to_vec())?);
        for step in &self.steps {
            let inputs = step
                .inputs
                .iter()
                .map(|s| match s {
                    Source::Slot(i) => values[*i].as_ref().ok_or_else(|| RunError::Shape("an unset value".into())),
                    Source::Constant(i) => Ok(&self.constants[*i]),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = step.op.apply(&inputs)?;
            values[step.output] = Some(out);
        }
        let out = values[self.output].take().ok_or_else(|| RunError::Shape("no output".into()))?;
        Ok(out.data)
    }
}

fn bad(node: &proto::NodeProto, problem: &str) -> LoadError {
    LoadError::Attribute { op: node.op_type.clone(), problem: problem.into() }
}

fn attribute<'a>(node: &'a proto::NodeProto, name: &str) -> Option<&'a proto::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn int_attr(node: &proto::NodeProto, name: &str, default: i64) -> i64 {
    attribute(node, name).map_or(default, |a| a.i)
}

fn ints_attr(node: &proto::NodeProto, name: &str) -> Option<Vec<i64>> {
    attribute(node, name).map(|a| a.ints.clone())
}

/// The `[C, H, W]` of a `[N, C, H, W]` float input.
fn image_input(input: &proto::ValueInfoProto) -> Result<[usize; 3], LoadError> {
    let tensor = input.r#type.as_ref().and_then(|t| t.tensor_type.as_ref());
    let describe = || format!("{:?}", tensor.and_then(|t| t.shape.as_ref()).map(|s| &s.dim));
    let tensor = tensor.filter(|t| t.elem_type == proto::FLOAT).ok_or_else(|| LoadError::Input(describe()))?;
    let dims = tensor.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or_default();
    let sizes: Vec<usize> =
        dims.iter().skip(1).filter_map(|d| usize::try_from(d.dim_value).ok()).filter(|&v| v > 0).collect();
    match sizes[..] {
        [c, h, w] if dims.len() == 4 => Ok([c, h, w]),
        _ => Err(LoadError::Input(describe())),
    }
}

fn add_constant(
    t: &proto::TensorProto,
    name: &str,
    constants: &mut Vec<Tensor>,
    known: &mut HashMap<String, Source>,
    ints: &mut HashMap<String, Vec<i64>>,
) -> Result<(), LoadError> {
    let shape: Vec<usize> = t.dims.iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
    let invalid = |problem: &str| LoadError::Attribute { op: format!("constant {name}"), problem: problem.into() };
    match t.data_type {
        proto::FLOAT => {
            let data = if t.raw_data.is_empty() {
                t.float_data.clone()
            } else {
                t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
            };
            let tensor = Tensor::new(shape, data).map_err(|e| invalid(&e.to_string()))?;
            known.insert(name.to_owned(), Source::Constant(constants.len()));
            constants.push(tensor);
        }
        proto::INT64 => {
            let data = if t.raw_data.is_empty() {
                t.int64_data.clone()
            } else {
                t.raw_data
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                    .collect()
            };
            ints.insert(name.to_owned(), data);
        }
        other => return Err(invalid(&format!("element type {other} is not float or int64"))),
    }
    Ok(())
}

/// The window attributes of a convolution or pooling node.
fn window(node: &proto::NodeProto, kernel: [usize; 2]) -> Result<Window, LoadError> {
    let pair = |name: &str| -> Result<[usize; 2], LoadError> {
        match ints_attr(node, name).as_deref() {
            None => Ok([1, 1]),
            Some(&[a, b]) if a > 0 && b > 0 => Ok([a as usize, b as usize]),
            Some(other) => Err(bad(node, &format!("{name} {other:?}"))),
        }
    };
    let pads = match ints_attr(node, "pads").as_deref() {
        None => [0; 4],
        // ONNX orders them: top, left, bottom, right.
        Some(&[t, l, b, r]) if [t, l, b, r].iter().all(|&p| p >= 0) => [t as usize, l as usize, b as usize, r as usize],
        Some(other) => return Err(bad(node, &format!("pads {other:?}"))),
    };
    let auto_pad = attribute(node, "auto_pad").is_some();
    if auto_pad || int_attr(node, "ceil_mode", 0) != 0 {
        return Err(bad(node, "auto_pad and ceil_mode are not supported"));
    }
    Ok(Window { kernel, strides: pair("strides")?, dilations: pair("dilations")?, pads })
}

type Built = (Op, Vec<Source>);

fn build(
    node: &proto::NodeProto,
    constants: &[Tensor],
    ints: &HashMap<String, Vec<i64>>,
    source: &dyn Fn(&String) -> Result<Source, LoadError>,
) -> Result<Built, LoadError> {
    let inputs = |n: usize| -> Result<Vec<Source>, LoadError> {
        node.input.iter().filter(|i| !i.is_empty()).take(n).map(source).collect()
    };
    let constant = |i: usize| -> Result<&Tensor, LoadError> {
        match node.input.get(i).map(source).transpose()? {
            Some(Source::Constant(c)) => Ok(&constants[c]),
            _ => Err(bad(node, &format!("input {i} must be a constant"))),
        }
    };
    let op = node.op_type.as_str();
    Ok(match op {
        "Conv" => {
            let weight = constant(1)?.clone();
            let [m, _, kh, kw] = weight.shape[..] else { return Err(bad(node, "weights are not [M, C, kh, kw]")) };
            if let Some(kernel) = ints_attr(node, "kernel_shape")
                && kernel != [kh as i64, kw as i64]
            {
                return Err(bad(node, "kernel_shape differs from the weights"));
            }
            let bias = if node.input.len() > 2 && !node.input[2].is_empty() {
                let b = constant(2)?;
                if b.len() != m {
                    return Err(bad(node, "bias size"));
                }
                Some(b.data.clone())
            } else {
                None
            };
            let group = usize::try_from(int_attr(node, "group", 1)).ok().filter(|&g| g > 0 && m % g == 0);
            let group = group.ok_or_else(|| bad(node, "group"))?;
            (Op::Conv { weight, bias, window: window(node, [kh, kw])?, group }, inputs(1)?)
        }
        "Gemm" => {
            let op = Op::Gemm {
                alpha: attribute(node, "alpha").map_or(1.0, |a| a.f),
                beta: attribute(node, "beta").map_or(1.0, |a| a.f),
                trans_a: int_attr(node, "transA", 0) != 0,
                trans_b: int_attr(node, "transB", 0) != 0,
            };
            (op, inputs(3)?)
        }
        "MatMul" => (Op::MatMul, inputs(2)?),
        "Relu" => (Op::Relu, inputs(1)?),
        "Identity" | "Dropout" => (Op::Identity, inputs(1)?),
        "Flatten" => {
            let axis = usize::try_from(int_attr(node, "axis", 1)).map_err(|_| bad(node, "negative axis"))?;
            (Op::Flatten(axis), inputs(1)?)
        }
        "Reshape" => {
            let spec = node
                .input
                .get(1)
                .and_then(|name| ints.get(name))
                .ok_or_else(|| bad(node, "shape must be a constant"))?;
            (Op::Reshape(spec.clone()), inputs(1)?)
        }
        "MaxPool" | "AveragePool" => {
            let kernel = match ints_attr(node, "kernel_shape").as_deref() {
                Some(&[h, w]) if h > 0 && w > 0 => [h as usize, w as usize],
                _ => return Err(bad(node, "kernel_shape")),
            };
            if int_attr(node, "count_include_pad", 0) != 0 {
                return Err(bad(node, "count_include_pad is not supported"));
            }
            let w = window(node, kernel)?;
            (if op == "MaxPool" { Op::MaxPool(w) } else { Op::AveragePool(w) }, inputs(1)?)
        }
        "GlobalAveragePool" => (Op::GlobalAveragePool, inputs(1)?),
        "BatchNormalization" => {
            let eps = attribute(node, "epsilon").map_or(1e-5, |a| a.f);
            let (gamma, beta, mean, var) = (constant(1)?, constant(2)?, constant(3)?, constant(4)?);
            let n = gamma.len();
            if [beta.len(), mean.len(), var.len()] != [n; 3] {
                return Err(bad(node, "parameter sizes differ"));
            }
            let scale: Vec<f32> = (0..n).map(|c| gamma.data[c] / (var.data[c] + eps).sqrt()).collect();
            let shift = (0..n).map(|c| beta.data[c] - mean.data[c] * scale[c]).collect();
            (Op::BatchNorm { scale, shift }, inputs(1)?)
        }
        "Add" | "Sub" | "Mul" | "Div" => {
            let kind = match op {
                "Add" => Arithmetic::Add,
                "Sub" => Arithmetic::Sub,
                "Mul" => Arithmetic::Mul,
                _ => Arithmetic::Div,
            };
            (Op::Arithmetic(kind), inputs(2)?)
        }
        other => return Err(LoadError::Unsupported(other.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model of one Conv, with the given input shape dims.
    fn tiny(dims: &[(i64, &str)], op: &str) -> Vec<u8> {
        let dim = |(v, p): &(i64, &str)| proto::Dimension { dim_value: *v, dim_param: (*p).to_owned() };
        let weight = proto::TensorProto {
            dims: vec![1, 1, 1, 1],
            data_type: proto::FLOAT,
            float_data: vec![2.0],
            name: "w".into(),
            ..Default::default()
        };
        let graph = proto::GraphProto {
            node: vec![proto::NodeProto {
                input: vec!["x".into(), "w".into()],
                output: vec!["y".into()],
                op_type: op.into(),
                ..Default::default()
            }],
            initializer: vec![weight],
            input: vec![proto::ValueInfoProto {
                name: "x".into(),
                r#type: Some(proto::TypeProto {
                    tensor_type: Some(proto::TypeTensor {
                        elem_type: proto::FLOAT,
                        shape: Some(proto::TensorShapeProto { dim: dims.iter().map(dim).collect() }),
                    }),
                }),
            }],
            output: vec![proto::ValueInfoProto { name: "y".into(), r#type: None }],
        };
        proto::ModelProto { ir_version: 8, graph: Some(graph), opset_import: Vec::new() }.encode_to_vec()
    }

    #[test]
    fn a_one_node_model_loads_and_runs() {
        let model = Model::from_onnx(&tiny(&[(0, "N"), (1, ""), (2, ""), (2, "")], "Conv")).expect("loads");
        assert_eq!(model.input_len(), 4);
        assert_eq!(model.run(&[1.0, 2.0, 3.0, 4.0]).expect("runs"), [2.0, 4.0, 6.0, 8.0]);
        assert!(model.run(&[1.0]).is_err(), "the wrong input size is an error, not a panic");
    }

    #[test]
    fn unknown_operators_odd_inputs_and_garbage_are_refused() {
        let unknown = Model::from_onnx(&tiny(&[(0, "N"), (1, ""), (2, ""), (2, "")], "LSTM"));
        assert!(matches!(unknown, Err(LoadError::Unsupported(op)) if op == "LSTM"));
        let flat = Model::from_onnx(&tiny(&[(0, "N"), (4, "")], "Conv"));
        assert!(matches!(flat, Err(LoadError::Input(_))), "{flat:?}");
        assert!(Model::from_onnx(b"not a model at all").is_err());
        assert!(Model::from_onnx(&[]).is_err());
    }
}
