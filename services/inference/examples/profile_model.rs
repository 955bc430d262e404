//! Per-operation timings of a model in tract, to see where inference time goes.
//!
//! ```text
//! cargo run --release -p digits-inference --example profile_model -- path/to/model.onnx
//! ```
//!
//! It optimises the graph for one `[1,1,28,28]` image, as the service does,
//! runs it 3,000 times and prints the mean time of each node. This is how the
//! released architecture was chosen: max pooling and a small-K stem
//! convolution cost tract far more than their multiply-adds suggest.

use std::time::{Duration, Instant};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::eval;

fn main() -> TractResult<()> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: profile_model MODEL.onnx");
        std::process::exit(2);
    };
    let plan = tract_onnx::onnx()
        .model_for_path(&path)?
        .with_input_fact(0, f32::fact([1, 1, 28, 28]).into())?
        .into_optimized()?
        .into_runnable()?;
    let mut state = plan.spawn()?;
    let input = Tensor::zero::<f32>(&[1, 1, 28, 28])?;
    let nodes = plan.model().nodes().len();
    let mut spent = vec![Duration::ZERO; nodes];
    let (warm_up, runs) = (300, 3000);
    for i in 0..warm_up + runs {
        state.run_plan_with_eval(tvec!(input.clone().into()), |ctx, op_state, node, inputs| {
            let started = Instant::now();
            let result = eval(ctx, op_state, node, inputs);
            if i >= warm_up {
                spent[node.id] += started.elapsed();
            }
            result
        })?;
    }
    let mut total = 0.0;
    for node in plan.model().nodes() {
        let micros = spent[node.id].as_secs_f64() * 1e6 / f64::from(runs);
        total += micros;
        if micros >= 0.05 {
            println!("{micros:8.1} µs  {:<16} {}", node.op().name(), node.name);
        }
    }
    println!("{total:8.1} µs  total");
    Ok(())
}
