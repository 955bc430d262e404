//! No acknowledged prediction is lost: the gateway binary answers 500
//! predictions while the logging service is down, is killed with SIGKILL,
//! restarts, and once logging is back every one of the 500 is stored.

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use digits_test_postgres::TestDatabase;
use support::{Backend, canvas_png, loopback, test_digits};

const BIN: &str = env!("CARGO_BIN_EXE_digits-gateway");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

struct Ports {
    http: u16,
    grpc: u16,
    inference: u16,
    logging: u16,
}

fn start_gateway(ports: &Ports, spool: &std::path::Path) -> Child {
    Command::new(BIN)
        .env("DIGITS_GATEWAY_ADDR", format!("127.0.0.1:{}", ports.http))
        .env("DIGITS_GATEWAY_GRPC_ADDR", format!("127.0.0.1:{}", ports.grpc))
        .env("DIGITS_INFERENCE_URL", format!("http://127.0.0.1:{}", ports.inference))
        .env("DIGITS_LOGGING_URL", format!("http://127.0.0.1:{}", ports.logging))
        .env("DIGITS_LOG_SPOOL_DIR", spool)
        .env("DIGITS_RATE_LIMIT", "100000")
        .env("DIGITS_RATE_BURST", "100000")
        .env("DIGITS_WEB_DIR", std::env::temp_dir().join("digits-no-web-app"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway starts")
}

async fn wait_until(what: &str, mut ready: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !ready().await {
        assert!(started.elapsed() < Duration::from_secs(60), "{what}: not within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictions_acknowledged_before_a_kill_9_are_all_stored_after_the_restart() {
    let db = TestDatabase::new();
    let inference = Backend::inference(loopback(), "only");
    let ports = Ports { http: free_port(), grpc: free_port(), inference: inference.addr.port(), logging: free_port() };
    let spool = std::env::temp_dir().join(format!("digits-crash-spool-{}", uuid::Uuid::new_v4()));
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", ports.http);

    let mut gateway = start_gateway(&ports, &spool);
    // Predictions are answered as soon as a replica is known; logging is down.
    let png = canvas_png(&test_digits(1)[0].0);
    wait_until("the gateway answers", async || {
        let request = http.post(format!("{base}/api/predictions?log=false")).header("content-type", "image/png");
        request.body(png.clone()).send().await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    let mut acknowledged = 0;
    for chunk in 0..50 {
        let calls: Vec<_> = (0..10)
            .map(|_| {
                let request = http.post(format!("{base}/api/predictions")).header("content-type", "image/png");
                tokio::spawn(request.body(png.clone()).send())
            })
            .collect();
        for call in calls {
            let response = call.await.expect("task").expect("answered");
            assert_eq!(response.status(), 201, "chunk {chunk}");
            acknowledged += 1;
        }
    }
    assert_eq!(acknowledged, 500);
    gateway.kill().expect("SIGKILL");
    gateway.wait().expect("reaped");

    // Restart the gateway, then bring logging up.
    let mut gateway = start_gateway(&ports, &spool);
    let logging = Backend::logging(format!("127.0.0.1:{}", ports.logging).parse().expect("addr"), db.url());
    let rows = || db.psql("SELECT count(DISTINCT request_id) FROM predictions").expect("psql").trim().to_owned();
    wait_until("every acknowledged prediction stored", async || rows() == "500").await;
    println!("crash test: {acknowledged} answered 201, SIGKILL, restart: {} rows stored", rows());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(db.psql("SELECT count(*) FROM predictions").expect("psql").trim(), "500", "no duplicates");
    gateway.kill().expect("stop");
    let _ = gateway.wait();
    drop(logging);
    let _ = std::fs::remove_dir_all(spool);
}
