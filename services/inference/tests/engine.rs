//! The worker pool drops work nobody waits for: a job whose deadline has
//! passed, or whose caller went away, is not run.

use std::time::{Duration, Instant};

use digits_inference::config::ModelSource;
use digits_inference::engine::Engine;
use digits_inference::error::InferError;
use digits_inference::model::Model;
use digits_preprocess::Limits;
use digits_proto::inference::v1 as pb;

fn image() -> pb::Image {
    let mut pixels = vec![0u8; 784];
    for y in 6..22 {
        pixels[y * 28 + 14] = 255;
    }
    let raw = pb::RawImage { width: 28, height: 28, format: pb::PixelFormat::Gray8 as i32, pixels };
    pb::Image { source: Some(pb::image::Source::Raw(raw)) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_past_their_deadline_or_abandoned_are_dropped_unrun() {
    let model = Model::load(&ModelSource::Embedded).expect("model loads");
    let engine = Engine::start(1, 64, Limits::default()).expect("engine");
    engine.score(&model, vec![image()], None).await.expect("no deadline: runs");
    let future = Some(Instant::now() + Duration::from_secs(5));
    engine.score(&model, vec![image()], future).await.expect("a deadline ahead: runs");
    assert_eq!(engine.expired(), 0);

    let passed = Some(Instant::now());
    let result = engine.score(&model, vec![image()], passed).await;
    assert!(matches!(result, Err(InferError::Expired)), "{result:?}");
    assert_eq!(engine.expired(), 1);

    // While the only worker is busy with a large job, twenty callers queue
    // theirs and give up: their jobs are skipped when the worker gets to them.
    let engine = std::sync::Arc::new(engine);
    let pixels = (0..2048 * 2048).map(|i| if (900..1150).contains(&(i % 2048)) { 0 } else { 255 }).collect();
    let large = pb::RawImage { width: 2048, height: 2048, format: pb::PixelFormat::Gray8 as i32, pixels };
    let large = pb::Image { source: Some(pb::image::Source::Raw(large)) };
    let busy = {
        let (engine, model) = (engine.clone(), model.clone());
        tokio::spawn(async move { engine.score(&model, vec![large; 12], None).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let (engine, model) = (engine.clone(), model.clone());
            tokio::spawn(async move { engine.score(&model, vec![image(); 8], None).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    for caller in &callers {
        caller.abort();
    }
    busy.await.expect("task").expect("the large job runs");
    // Two images: queued behind the abandoned jobs (a lone one would run in place).
    engine.score(&model, vec![image(); 2], None).await.expect("still serving");
    // (A caller scheduled late may not have queued its job before it gave up.)
    assert!(engine.expired() >= 16, "abandoned jobs dropped: {} of 20", engine.expired() - 1);
}
