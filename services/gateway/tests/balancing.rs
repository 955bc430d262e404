//! Load balancing over inference replicas, as under `docker compose --scale
//! inference=N`: several real servers share one port on different loopback
//! addresses behind one name (a resolver the test controls stands in for
//! Docker's DNS), and the gateway re-resolves and probes them.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use digits_gateway::config::Config;
use digits_gateway::routes::predictions::REPLICA_HEADER;
use support::{Backend, Gateway, TestResolver, canvas_png, test_digits};

const REFRESH: Duration = Duration::from_millis(300);

/// Sends `total` predictions from `concurrency` callers; returns how many
/// each replica served, and the failures.
async fn load(gateway: &Gateway, total: usize, concurrency: usize) -> (BTreeMap<String, usize>, Vec<String>) {
    let png = Arc::new(canvas_png(&test_digits(1)[0].0));
    let url = gateway.url("/api/predictions?log=false");
    let client = reqwest::Client::new();
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..concurrency {
        let (png, url, client) = (png.clone(), url.clone(), client.clone());
        let calls = total / concurrency + usize::from(caller < total % concurrency);
        callers.spawn(async move {
            let mut served = Vec::new();
            for _ in 0..calls {
                let result =
                    client.post(&url).header("content-type", "image/png").body(png.as_ref().clone()).send().await;
                served.push(match result {
                    Ok(r) if r.status() == 200 => {
                        Ok(r.headers().get(REPLICA_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("?").to_owned())
                    }
                    Ok(r) => Err(format!("{}: {}", r.status(), r.text().await.unwrap_or_default())),
                    Err(e) => Err(e.to_string()),
                });
            }
            served
        });
    }
    let mut per_replica = BTreeMap::new();
    let mut failures = Vec::new();
    while let Some(done) = callers.join_next().await {
        for outcome in done.expect("caller") {
            match outcome {
                Ok(replica) => *per_replica.entry(replica).or_insert(0) += 1,
                Err(e) => failures.push(e),
            }
        }
    }
    (per_replica, failures)
}

fn at(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::from((ip, port))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_is_spread_over_replicas_survives_a_crash_and_reaches_a_new_one() {
    let db = digits_test_postgres::TestDatabase::new();
    let logging = Backend::logging(support::loopback(), db.url());
    let first = Backend::inference(at([127, 0, 0, 1], 0), "replica-1");
    let port = first.addr.port();
    let second = Backend::inference(at([127, 0, 0, 2], port), "replica-2");
    let third = Backend::inference(at([127, 0, 0, 3], port), "replica-3");
    let resolver = TestResolver::default();
    resolver.set(vec![first.addr, second.addr, third.addr]);
    let config = Config { logging_url: logging.url(), backend_refresh: REFRESH, ..Config::default() };
    let gateway = Gateway::start(config, resolver.clone()).await;
    // Wait for all three to be probed healthy, not just the first.
    tokio::time::sleep(REFRESH * 2).await;

    // 1. A fair share for each.
    let (served, failures) = load(&gateway, 600, 8).await;
    println!("three replicas, 600 requests: {served:?}");
    assert!(failures.is_empty(), "{failures:?}");
    for replica in ["replica-1", "replica-2", "replica-3"] {
        let share = served.get(replica).copied().unwrap_or(0);
        assert!(share >= 120, "{replica} served {share} of 600 (a fair share is 200): {served:?}");
    }

    // 2. One crashes in the middle of the load and stays in DNS for a while,
    //    as a container does until Docker notices: no request fails.
    let loaded = load(&gateway, 600, 8);
    let crash = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        second.kill();
    };
    let ((served, failures), ()) = tokio::join!(loaded, crash);
    println!("replica-2 killed during 600 requests: {served:?}");
    assert!(failures.is_empty(), "{} failed requests: {:?}", failures.len(), &failures[..failures.len().min(5)]);
    resolver.set(vec![first.addr, third.addr]);

    // 3. A fourth replica gets traffic within the refresh period.
    let fourth = Backend::inference(at([127, 0, 0, 4], port), "replica-4");
    resolver.set(vec![first.addr, third.addr, fourth.addr]);
    tokio::time::sleep(REFRESH + Duration::from_millis(200)).await;
    let (served, failures) = load(&gateway, 600, 8).await;
    println!("replica-4 added, 600 requests: {served:?}");
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(served.get("replica-2"), None, "the dead replica gets nothing");
    for replica in ["replica-1", "replica-3", "replica-4"] {
        let share = served.get(replica).copied().unwrap_or(0);
        assert!(share >= 120, "{replica} served {share} of 600: {served:?}");
    }
    gateway.stop().await;
    drop((first, third, fourth, logging));
}
