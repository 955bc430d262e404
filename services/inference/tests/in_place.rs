//! A lone image runs in place, on the task that received the call, while a
//! core is free; never more run at once than there are workers. (Its own
//! test binary: the timing of `engine.rs`'s test must not share the cores.)

mod support;

use std::time::{Duration, Instant};

use digits_inference::config::ModelSource;
use digits_inference::engine::Engine;
use digits_inference::model::Model;
use digits_preprocess::Limits;
use support::{large_band, stroke};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_image_runs_in_place_while_a_core_is_free_and_no_more_run_than_there_are_workers() {
    let model = Model::load(&ModelSource::Embedded).expect("model loads");
    let engine = std::sync::Arc::new(Engine::start(1, 64, Limits::default()).expect("engine"));
    let answer = engine.score(&model, vec![stroke()], None).await.expect("runs");
    assert_eq!((answer.readings.len(), engine.ran_in_place()), (1, 1), "idle: run in place");
    engine.score(&model, vec![stroke(); 3], None).await.expect("runs");
    assert_eq!(engine.ran_in_place(), 1, "a batch goes to the workers");

    // One worker: while a large image runs in place, the only core is taken,
    // so the next lone image waits in the queue for the worker instead.
    let running = {
        let (engine, model) = (engine.clone(), model.clone());
        tokio::spawn(async move { engine.score(&model, vec![large_band()], None).await })
    };
    let started = Instant::now();
    while engine.ran_in_place() < 2 {
        assert!(started.elapsed() < Duration::from_secs(5), "the large image was not run in place");
        tokio::task::yield_now().await;
    }
    engine.score(&model, vec![stroke()], None).await.expect("queued, then run by the worker");
    let in_place_while_busy = engine.ran_in_place();
    running.await.expect("task").expect("the large image runs");
    assert_eq!(in_place_while_busy, 2, "the second lone image went to the worker");
    engine.score(&model, vec![stroke()], None).await.expect("runs");
    assert_eq!(engine.ran_in_place(), 3, "the core is free again");
}
