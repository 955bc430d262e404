//! No acknowledged prediction is lost: the gateway binary answers 500
//! predictions while the logging service is down, is killed with SIGKILL,
//! restarts, and once logging is back every one of the 500 is stored.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use digits_test_postgres::TestDatabase;
use digits_test_support::process::{ChildGuard, wait_until_async};
use digits_test_support::{TempDir, free_port};
use support::{Backend, canvas_png, loopback, test_digits};

const MINUTE: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_digits-gateway");

struct Ports {
    http: u16,
    grpc: u16,
    inference: u16,
    logging: u16,
}

fn start_gateway(ports: &Ports, spool: &std::path::Path) -> ChildGuard {
    ChildGuard(
        Command::new(BIN)
            .env("DIGITS_GATEWAY_ADDR", format!("127.0.0.1:{}", ports.http))
            .env("DIGITS_GATEWAY_GRPC_ADDR", format!("127.0.0.1:{}", ports.grpc))
            .env("DIGITS_INFERENCE_URL", format!("http://127.0.0.1:{}", ports.inference))
            .env("DIGITS_LOGGING_URL", format!("http://127.0.0.1:{}", ports.logging))
            .env("DIGITS_LOG_SPOOL_DIR", spool)
            .env("DIGITS_RATE_LIMIT", "100000")
            .env("DIGITS_RATE_BURST", "100000")
            .env("DIGITS_ADDRESS_RATE_LIMIT", "100000")
            .env("DIGITS_ADDRESS_RATE_BURST", "100000")
            .env("DIGITS_WEB_DIR", std::env::temp_dir().join("digits-no-web-app"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the gateway starts"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictions_acknowledged_before_a_kill_9_are_all_stored_after_the_restart() {
    let db = TestDatabase::new();
    let inference = Backend::inference(loopback(), "only");
    let ports = Ports { http: free_port(), grpc: free_port(), inference: inference.addr.port(), logging: free_port() };
    let spool = TempDir::new("crash-spool");
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", ports.http);

    let mut gateway = start_gateway(&ports, spool.path());
    // Predictions are answered as soon as a replica is known; logging is down.
    let png = canvas_png(&test_digits(1)[0].0);
    wait_until_async("the gateway answers", MINUTE, async || {
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
    gateway.0.kill().expect("SIGKILL");
    gateway.0.wait().expect("reaped");

    // Restart the gateway, then bring logging up.
    let gateway = start_gateway(&ports, spool.path());
    let logging = Backend::logging(format!("127.0.0.1:{}", ports.logging).parse().expect("addr"), db.url());
    let rows = || db.psql("SELECT count(DISTINCT request_id) FROM predictions").expect("psql").trim().to_owned();
    wait_until_async("every acknowledged prediction stored", MINUTE, async || rows() == "500").await;
    println!("crash test: {acknowledged} answered 201, SIGKILL, restart: {} rows stored", rows());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(db.psql("SELECT count(*) FROM predictions").expect("psql").trim(), "500", "no duplicates");
    drop(gateway);
    drop(logging);
}
