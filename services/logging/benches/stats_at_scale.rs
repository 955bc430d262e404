//! The statistics and history pages at a million predictions, through the
//! real gRPC server, on a throwaway PostgreSQL cluster and on SQLite.
//!
//! `cargo bench -p digits-logging --bench stats_at_scale` (rows:
//! `DIGITS_BENCH_ROWS`, default 1,000,000). Fills the table through the
//! store's batch insert (10,000 owners, two model versions, a fifth of the
//! rows labelled), then prints p50/p99 of `GetStats` (everyone's and one
//! owner's) and of the history pages the web app and the admin views ask
//! for, and, for comparison, one full-table count (what the statistics cost
//! before the counts were kept). Run it on an idle machine; it needs about
//! 2.5 GB of disk.

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use digits_logging::config::Config;
use digits_logging::predictions::{self, NewPrediction, Source, Verdict};
use digits_logging::startup::Application;
use digits_proto::logging::v1 as pb;
use tonic::transport::Channel;

const OWNERS: usize = 10_000;
const BATCH: usize = 1_000;
const CALLS: usize = 300;

fn row(i: usize) -> NewPrediction {
    let digit = (i * 7 % 10) as i16;
    let mut probabilities = [0.001f32; 10];
    probabilities[digit as usize] = 0.991;
    NewPrediction {
        request_id: format!("bench-{i}"),
        created_at: Utc::now().naive_utc() - chrono::Duration::seconds(i as i64),
        predicted_digit: digit,
        confidence: 0.991,
        probabilities: probabilities.iter().flat_map(|p| p.to_le_bytes()).collect(),
        model_version: if i.is_multiple_of(3) { "1.0.0" } else { "1.1.0" }.into(),
        input: vec![(i % 251) as u8; 784],
        source: Source::Web,
        latency_us: 700,
        owner: format!("visitor-{}", i % OWNERS),
        verdict: Verdict::Digit,
        number: digit.to_string(),
        parts: None,
        revision: 0,
    }
}

/// Fills `url` with `rows` predictions; returns how long it took.
fn fill(url: &str, rows: usize) -> Duration {
    let started = Instant::now();
    let pool = digits_logging::db::pool(url, 1, Duration::from_secs(30)).expect("database");
    let mut conn = pool.get().expect("connection");
    for start in (0..rows).step_by(BATCH) {
        let batch = (start..(start + BATCH).min(rows)).map(row).collect();
        let logged = predictions::log_many(&mut conn, batch).expect("batch");
        assert!(logged.rejected.is_empty());
    }
    // A fifth labelled, one in four of those wrong, as one statement (longer
    // than the service's statement timeout allows).
    if url.starts_with("postgres") {
        conn.batch_execute("SET statement_timeout = 0").expect("no timeout");
    }
    conn.batch_execute(
        "UPDATE predictions SET feedback_at = created_at, \
         true_label = CASE WHEN id % 20 = 0 THEN (predicted_digit + 1) % 10 ELSE predicted_digit END \
         WHERE id % 5 = 0",
    )
    .expect("labels");
    // PostgreSQL's autovacuum would have gathered the table's statistics by
    // now on a live server; without them the planner guesses its plans.
    if url.starts_with("postgres") {
        conn.batch_execute("ANALYZE predictions").expect("statistics");
    }
    started.elapsed()
}

fn full_count(url: &str) -> Duration {
    let pool = digits_logging::db::pool(url, 1, Duration::from_secs(30)).expect("database");
    let mut conn = pool.get().expect("connection");
    if url.starts_with("postgres") {
        conn.batch_execute("SET statement_timeout = 0").expect("no timeout");
    }
    let started = Instant::now();
    conn.batch_execute(
        "SELECT model_version, predicted_digit, true_label, count(*) FROM predictions \
         WHERE owner <> 'nobody' GROUP BY model_version, predicted_digit, true_label",
    )
    .expect("scan");
    started.elapsed()
}

async fn percentiles<F, Fut>(mut call: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..20 {
        call().await;
    }
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        call().await;
        times.push(started.elapsed());
    }
    times.sort_unstable();
    (times[CALLS / 2], times[CALLS * 99 / 100])
}

async fn measure(name: &str, url: String, rows: usize) {
    let filled = fill(&url, rows);
    println!(
        "{name}: {rows} rows stored in {:.1} s ({:.0} rows/s)",
        filled.as_secs_f64(),
        rows as f64 / filled.as_secs_f64()
    );
    let scan = full_count(&url);

    let config = Config { addr: digits_test_support::loopback(), database_url: url, ..Config::default() };
    let app = Application::build(config).await.expect("server");
    let addr = format!("http://{}", app.local_addr().expect("addr"));
    let server = digits_test_support::Running::spawn(|stop| app.run_until_stopped(stop));
    let channel: Channel =
        tonic::transport::Endpoint::from_shared(addr).expect("url").connect().await.expect("connect");
    let client = pb::logging_client::LoggingClient::new(channel);

    let owner = Some("visitor-4242".to_owned());
    let stats = |owner: Option<String>| {
        let client = client.clone();
        move || {
            let (mut client, owner) = (client.clone(), owner.clone());
            async move {
                let stats = client.get_stats(pb::GetStatsRequest { owner }).await.expect("stats").into_inner();
                assert!(stats.overall.expect("overall").total > 0);
            }
        }
    };
    // A page of predictions, which is `empty` or not.
    let listing = |request: pb::ListPredictionsRequest, empty: bool| {
        let client = client.clone();
        move || {
            let (mut client, request) = (client.clone(), request.clone());
            async move {
                let page = client.list_predictions(request).await.expect("page").into_inner();
                assert_eq!(page.predictions.is_empty(), empty);
            }
        }
    };
    let page = |request| listing(request, false);
    let first = pb::ListPredictionsRequest { limit: 20, ..Default::default() };
    let cases: Vec<(&str, (Duration, Duration))> = vec![
        ("GetStats, everyone", percentiles(stats(None)).await),
        ("GetStats, one owner", percentiles(stats(owner.clone())).await),
        ("history page, one owner", percentiles(page(pb::ListPredictionsRequest { owner, ..first.clone() })).await),
        ("history page, everyone", percentiles(page(first.clone())).await),
        (
            "a page half way back",
            percentiles(page(pb::ListPredictionsRequest { before: Some(rows as i64 / 2), ..first.clone() })).await,
        ),
        (
            "wrong predictions only",
            percentiles(page(pb::ListPredictionsRequest { wrong_only: true, ..first.clone() })).await,
        ),
        (
            "one confusion cell (true 4, predicted 3)",
            percentiles(page(pb::ListPredictionsRequest { digit: Some(3), true_label: Some(4), ..first.clone() }))
                .await,
        ),
        (
            "an empty cell (not a digit, true 4)",
            percentiles(listing(pb::ListPredictionsRequest { digit: Some(10), true_label: Some(4), ..first }, true))
                .await,
        ),
    ];
    let key = name.to_lowercase();
    for (case, figure_name) in
        [(0, "stats_everyone"), (1, "stats_owner"), (2, "history_owner"), (3, "history_everyone")]
    {
        digits_test_support::bench_figure(&format!("{key}_{figure_name}_p50_us"), cases[case].1.0);
    }
    for (case, (p50, p99)) in cases {
        let target = if p50 <= Duration::from_millis(5) { "meets p50 <= 5 ms" } else { "MISSES p50 <= 5 ms" };
        println!("{name:<10} {case:<42} p50 {p50:>9.2?}  p99 {p99:>9.2?}  {target}");
    }
    println!(
        "{name:<10} {:<42} {scan:>13.2?}  (one full count: the statistics before the kept counts)",
        "scan of every row"
    );
    server.stop().await;
}

#[tokio::main]
async fn main() {
    let rows = std::env::var("DIGITS_BENCH_ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(1_000_000);
    let pg = digits_test_postgres::TestDatabase::new();
    measure("PostgreSQL", pg.url().to_owned(), rows).await;
    drop(pg);
    let dir = digits_test_support::TempDir::new("stats-bench");
    measure("SQLite", format!("sqlite://{}", dir.join("bench.db").display()), rows).await;
}
