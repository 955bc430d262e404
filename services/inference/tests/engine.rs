//! The worker pool drops work nobody waits for: a job whose deadline has
//! passed, or whose caller went away, is not run.

mod support;

use std::time::{Duration, Instant};

use digits_inference::config::ModelSource;
use digits_inference::engine::Engine;
use digits_inference::error::InferError;
use digits_inference::model::Model;
use digits_preprocess::Limits;
use support::{large_band, stroke};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_past_their_deadline_or_abandoned_are_dropped_unrun() {
    let model = Model::load(&ModelSource::Embedded).expect("model loads");
    let engine = Engine::start(1, 64, Limits::default()).expect("engine");
    engine.score(&model, vec![stroke()], None).await.expect("no deadline: runs");
    let future = Some(Instant::now() + Duration::from_secs(5));
    engine.score(&model, vec![stroke()], future).await.expect("a deadline ahead: runs");
    assert_eq!(engine.expired(), 0);

    let passed = Some(Instant::now());
    let result = engine.score(&model, vec![stroke()], passed).await;
    assert!(matches!(result, Err(InferError::Expired)), "{result:?}");
    assert_eq!(engine.expired(), 1);

    // While the only worker is busy with a large job, twenty callers queue
    // theirs and give up: their jobs are skipped when the worker gets to them.
    let engine = std::sync::Arc::new(engine);
    let large = large_band();
    let busy = {
        let (engine, model) = (engine.clone(), model.clone());
        tokio::spawn(async move { engine.score(&model, vec![large; 12], None).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let (engine, model) = (engine.clone(), model.clone());
            tokio::spawn(async move { engine.score(&model, vec![stroke(); 8], None).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    for caller in &callers {
        caller.abort();
    }
    busy.await.expect("task").expect("the large job runs");
    // Two images: queued behind the abandoned jobs (a lone one would run in place).
    engine.score(&model, vec![stroke(); 2], None).await.expect("still serving");
    // (A caller scheduled late may not have queued its job before it gave up.)
    assert!(engine.expired() >= 16, "abandoned jobs dropped: {} of 20", engine.expired() - 1);
}
