//! `LogPrediction` throughput and latency through the real gRPC server, on
//! a throwaway PostgreSQL cluster (or `DATABASE_URL`) and on SQLite.
//!
//! `cargo bench -p digits-logging --bench log_prediction`. Prints calls/s
//! and percentiles at concurrency 1 and 32. Run it on an idle machine.

use std::time::{Duration, Instant};

use digits_logging::config::Config;
use digits_logging::startup::Application;
use digits_proto::logging::v1 as pb;

fn request(id: String) -> pb::LogPredictionRequest {
    pb::LogPredictionRequest {
        request_id: id,
        predicted_digit: 7,
        confidence: 0.97,
        probabilities: vec![0.003, 0.003, 0.003, 0.003, 0.003, 0.003, 0.003, 0.97, 0.003, 0.006],
        model_version: "1.1.0".into(),
        input: vec![128; 784],
        source: pb::Source::Web as i32,
        latency_us: 500,
        created_at_unix_ms: 0,
        owner: "bench".into(),
        verdict: pb::Verdict::Digit as i32,
        number: "7".into(),
        parts: Vec::new(),
        revision: 0,
        traceparent: String::new(),
    }
}

async fn measure(name: &str, url: String) {
    let config = Config { addr: digits_test_support::loopback(), database_url: url, ..Config::default() };
    let app = Application::build(config).await.expect("server");
    let addr = format!("http://{}", app.local_addr().expect("addr"));
    let server = digits_test_support::Running::spawn(|stop| app.run_until_stopped(stop));
    let channel = tonic::transport::Endpoint::from_shared(addr).expect("url").connect().await.expect("connect");
    for clients in [1usize, 32] {
        let seconds = 5;
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let mut client = pb::logging_client::LoggingClient::new(channel.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut n = 0;
                    while Instant::now() < deadline {
                        let started = Instant::now();
                        client.log_prediction(request(format!("{clients}-{c}-{n}"))).await.expect("logged");
                        latencies.push(started.elapsed());
                        n += 1;
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.expect("client"));
        }
        latencies.sort_unstable();
        let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
        println!(
            "{name:<10} concurrency {clients:>2}: {:>7.0} calls/s  p50 {:>9.2?}  p99 {:>9.2?}",
            latencies.len() as f64 / seconds as f64,
            at(0.5),
            at(0.99)
        );
    }
    server.stop().await;
}

#[tokio::main]
async fn main() {
    let pg = digits_test_postgres::TestDatabase::new();
    measure("PostgreSQL", pg.url().to_owned()).await;
    let dir = digits_test_support::TempDir::new("logging-bench");
    measure("SQLite", format!("sqlite://{}", dir.join("bench.db").display())).await;
}
