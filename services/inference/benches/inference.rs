//! Latency and throughput of the inference path, printed as a table.
//!
//! `cargo bench -p digits-inference --bench inference` (or `cargo xtask bench`,
//! which also runs `training/bench.py` so that tract and onnxruntime are
//! measured in one go). Run it on an idle machine: a build running beside it
//! makes every figure several times worse.

use std::time::{Duration, Instant};

use digits_inference::config::ModelSource;
use digits_inference::engine::Engine;
use digits_inference::model::Model;
use digits_preprocess::{ImageView, Limits, PIXELS, PixelFormat, to_mnist, to_parts};
use digits_proto::inference::v1 as pb;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn time_each(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    // A long warm-up: the first figure of a run is otherwise the slowest.
    for _ in 0..runs / 2 {
        f();
    }
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

/// Prints the p50 and p99 of `samples` under `label`, and records the p50 as `figure`.
fn report(label: &str, figure: &str, mut samples: Vec<Duration>) {
    let (p50, p99) = (percentile(&mut samples, 0.5), percentile(&mut samples, 0.99));
    println!("{:<36}p50 {p50:>8.1?}  p99 {p99:>8.1?}", format!("{label}:"));
    digits_test_support::bench_figure(figure, p50);
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// An MNIST digit drawn 10x larger on a transparent 280x280 canvas, as RGBA.
fn canvas(digit: &[u8; 784]) -> Vec<u8> {
    let mut rgba = vec![0u8; 280 * 280 * 4];
    for y in 0..280 {
        for x in 0..280 {
            rgba[(y * 280 + x) * 4 + 3] = digit[(y / 10) * 28 + x / 10];
        }
    }
    rgba
}

/// The same digit with fine strokes, as a thin pen leaves it: enlarged
/// bilinearly and kept only where it is darkest (as `thin strokes` in
/// training/digits_training/canvas.py), so preprocessing has to thicken it.
fn fine_canvas(digit: &[u8; 784]) -> Vec<u8> {
    let at = |x: isize, y: isize| -> f32 {
        if (0..28).contains(&x) && (0..28).contains(&y) { f32::from(digit[y as usize * 28 + x as usize]) } else { 0.0 }
    };
    let mut rgba = vec![0u8; 280 * 280 * 4];
    for y in 0..280 {
        for x in 0..280 {
            let (sx, sy) = ((x as f32 + 0.5) / 10.0 - 0.5, (y as f32 + 0.5) / 10.0 - 0.5);
            let (x0, y0) = (sx.floor() as isize, sy.floor() as isize);
            let (fx, fy) = (sx - sx.floor(), sy - sy.floor());
            let v = at(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + at(x0 + 1, y0) * fx * (1.0 - fy)
                + at(x0, y0 + 1) * (1.0 - fx) * fy
                + at(x0 + 1, y0 + 1) * fx * fy;
            rgba[(y * 280 + x) * 4 + 3] = if v > 0.75 * 255.0 { 255 } else { 0 };
        }
    }
    rgba
}

fn main() {
    let test = digits_mnist_idx::test_set().expect("MNIST test set (set DIGITS_MNIST_DIR)");
    let rss_before = rss_kib("VmRSS:");
    // DIGITS_MODEL_DIR benchmarks another model (e.g. a training candidate).
    let source = std::env::var_os("DIGITS_MODEL_DIR").map_or(ModelSource::Embedded, |d| ModelSource::Dir(d.into()));
    let model = Model::load(&source).expect("model loads");
    println!(
        "model {} {}: {} parameters, {} multiply-adds/image",
        model.card.name, model.card.version, model.card.size.parameters, model.card.size.multiply_adds_per_image
    );
    println!("RSS: {} KiB before loading, {} KiB after", rss_before, rss_kib("VmRSS:"));

    // Preprocessing.
    let rgba = canvas(&test.images[0]);
    let view = ImageView::new(280, 280, PixelFormat::Rgba8, &rgba).expect("view");
    println!();
    report(
        "preprocess 280x280 RGBA canvas",
        "preprocess_us",
        time_each(2000, || {
            std::hint::black_box(to_mnist(&view, &Limits::default()).expect("digit"));
        }),
    );
    let fine = fine_canvas(&test.images[0]);
    let fine_view = ImageView::new(280, 280, PixelFormat::Rgba8, &fine).expect("view");
    report(
        "preprocess 280x280, fine strokes",
        "preprocess_fine_us",
        time_each(2000, || {
            std::hint::black_box(to_mnist(&fine_view, &Limits::default()).expect("digit"));
        }),
    );
    report(
        "split + preprocess 280x280 RGBA",
        "split_preprocess_us",
        time_each(2000, || {
            std::hint::black_box(to_parts(&view, &Limits::default()).expect("digit"));
        }),
    );
    let mut png = Vec::new();
    image::RgbaImage::from_raw(280, 280, rgba.clone())
        .expect("size")
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let image = pb::Image { source: Some(pb::image::Source::Encoded(png)) };
    report(
        "decode PNG + split + preprocess",
        "decode_preprocess_us",
        time_each(1000, || {
            std::hint::black_box(digits_inference::decode::to_parts(&image, &Limits::default()).expect("digit"));
        }),
    );

    // The model alone, one state on one thread.
    let input: Vec<f32> = test.images[..128].iter().flat_map(|i| i.iter().map(|&p| f32::from(p) / 255.0)).collect();
    let mut session = model.session().expect("session");
    println!();
    report(
        "tract, 1 thread, single image",
        "tract_single_us",
        time_each(3000, || {
            std::hint::black_box(session.run(&input[..PIXELS]).expect("runs"));
        }),
    );
    println!("\n{:<28} {:>10} {:>14}", "tract, 1 thread, batch", "p50", "images/s");
    for batch in [1usize, 8, 32, 128] {
        let runs = (4000 / batch).max(30);
        let mut t = time_each(runs, || {
            std::hint::black_box(session.run(&input[..batch * PIXELS]).expect("runs"));
        });
        let p50 = percentile(&mut t, 0.5);
        println!("{:<28} {:>10.1?} {:>14.0}", batch, p50, batch as f64 / p50.as_secs_f64());
    }

    // The whole engine: every worker, MNIST bytes in, probabilities out.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let engine = Engine::start(workers, 1024, Limits::default()).expect("engine");
    let images: Vec<pb::Image> =
        test.images[..128].iter().map(|i| pb::Image { source: Some(pb::image::Source::Mnist(i.to_vec())) }).collect();
    println!("\n{:<28} {:>10} {:>14}", format!("engine, {workers} workers, batch"), "p50", "images/s");
    for batch in [1usize, 8, 32, 128] {
        let runs = (4000 / batch).max(30);
        let mut t = time_each(runs, || {
            runtime.block_on(engine.score(&model, images[..batch].to_vec(), None)).expect("scores");
        });
        let p50 = percentile(&mut t, 0.5);
        println!("{:<28} {:>10.1?} {:>14.0}", batch, p50, batch as f64 / p50.as_secs_f64());
    }
    // Concurrent single-image calls, as 32 clients would send them.
    let engine = std::sync::Arc::new(engine);
    let (clients, per_client) = (32, 125);
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let (engine, model) = (engine.clone(), model.clone());
                let image = images[c % images.len()].clone();
                tokio::spawn(async move {
                    for _ in 0..per_client {
                        engine.score(&model, vec![image.clone()], None).await.expect("scores");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("client task");
        }
    });
    println!(
        "engine, {workers} workers, {clients} concurrent single-image clients: {:.0} images/s",
        (clients * per_client) as f64 / started.elapsed().as_secs_f64()
    );
    println!("\nRSS: {} KiB now, peak {} KiB", rss_kib("VmRSS:"), rss_kib("VmHWM:"));
}
