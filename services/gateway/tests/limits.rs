//! Abuse and overload, against real services on loopback ports: rate limits
//! per client and per API key, load shedding, body and read-time limits,
//! the public batch cap, deadlines, and no replica at all.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use digits_gateway::config::{ApiKey, Config};
use digits_proto::inference::v1 as pb;
use reqwest::StatusCode;
use serde_json::json;
use support::{Stack, canvas_png, grpc_client, post_digit, test_digits, visitor};
use tonic::Code;

fn rate(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("non-zero")
}

async fn post_png(http: &reqwest::Client, stack: &Stack, from: &str) -> reqwest::Response {
    let (image, _) = &test_digits(1)[0];
    http.post(stack.url("/api/predictions?log=false"))
        .header("content-type", "image/png")
        .header("x-forwarded-for", from)
        .body(canvas_png(image))
        .send()
        .await
        .expect("sent")
}

/// `n` requests sent at once from the client `from` (behind the proxy):
/// their statuses and the last `Retry-After`.
async fn burst(stack: &Stack, n: usize, from: &str) -> (Vec<StatusCode>, Option<String>) {
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let request = reqwest::Client::new().get(stack.url("/api/model")).header("x-forwarded-for", from);
            tokio::spawn(request.send())
        })
        .collect();
    let (mut statuses, mut retry_after) = (Vec::new(), None);
    for call in calls {
        let response = call.await.expect("task").expect("sent");
        if let Some(value) = response.headers().get("retry-after") {
            retry_after = Some(value.to_str().expect("ascii").to_owned());
        }
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.json::<serde_json::Value>().await.expect("json")["code"], "rate_limited");
            statuses.push(StatusCode::TOO_MANY_REQUESTS);
        } else {
            statuses.push(response.status());
        }
    }
    (statuses, retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_over_its_rate_gets_429_while_another_address_is_served() {
    // Both clients arrive through a trusted proxy (loopback), as behind
    // Caddy, without cookies: every request a new visitor, so only the
    // address's bucket holds them.
    let config = Config {
        address_rate_limit: rate(1),
        address_rate_burst: rate(5),
        trusted_proxies: vec!["127.0.0.1/32".parse().expect("net")],
        ..Config::default()
    };
    let stack = Stack::with_config(config).await;
    let (statuses, retry_after) = burst(&stack, 20, "198.51.100.1").await;
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(limited >= 13, "{limited} of 20 at once over a burst of 5 were refused: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Another client behind the same proxy is not affected: it is served.
    // (Four at once, not the whole burst of five: the limiter's clock is read
    // on several threads, and a hair of skew between them must not fail the test.)
    let (statuses, _) = burst(&stack, 4, "198.51.100.2").await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    // Through the trusted proxy, the rightmost forwarded address is the
    // client, not one that the client itself put in front: still limited.
    let (statuses, _) = burst(&stack, 10, "203.0.113.7, 198.51.100.1").await;
    let forged_limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(forged_limited >= 7, "{forged_limited} of 10");
}

/// A browser behind `address`: keeps its cookie, as a person's browser does.
struct Person {
    http: reqwest::Client,
    address: String,
}

impl Person {
    fn new(address: &str) -> Self {
        Self { http: visitor(), address: address.to_owned() }
    }

    async fn get(&self, stack: &Stack, path: &str) -> StatusCode {
        let request = self.http.get(stack.url(path)).header("x-forwarded-for", &self.address);
        request.send().await.expect("sent").status()
    }

    /// Opens the page: the files and the first calls of the web app.
    async fn open_page(&self, stack: &Stack) -> Vec<StatusCode> {
        let paths = ["/", "/style.css", "/boot.js", "/simd/digits-web-ui.js", "/simd/digits-web-ui_bg.wasm"];
        let calls = ["/api/model/page", "/api/stats", "/api/predictions?limit=10", "/api/model"];
        let mut statuses = Vec::new();
        for path in paths.iter().chain(&calls) {
            statuses.push(self.get(stack, path).await);
        }
        statuses
    }

    /// Stores a drawing, confirms it, and refreshes the figures.
    async fn draw(&self, stack: &Stack, png: Vec<u8>) -> Vec<StatusCode> {
        let stored = self
            .http
            .post(stack.url("/api/predictions"))
            .header("content-type", "image/png")
            .header("x-forwarded-for", &self.address)
            .body(png)
            .send()
            .await
            .expect("sent");
        let mut statuses = vec![stored.status()];
        let Ok(body) = stored.json::<serde_json::Value>().await else { return statuses };
        let Some(id) = body["id"].as_str() else { return statuses };
        let feedback = self
            .http
            .put(stack.url(&format!("/api/predictions/{id}/feedback")))
            .header("x-forwarded-for", &self.address)
            .json(&json!({ "true_label": body["digit"] }))
            .send()
            .await
            .expect("sent");
        statuses.push(feedback.status());
        statuses.push(self.get(stack, "/api/stats").await);
        statuses.push(self.get(stack, "/api/predictions?limit=10").await);
        statuses
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_class_behind_one_address_draws_unhindered_while_abuse_from_one_address_is_bounded() {
    // The shipped limits: 30/s per person (burst 60), 120/s per address (burst 600).
    let defaults = Config::default();
    assert_eq!((defaults.rate_limit, defaults.address_rate_limit), (rate(30), rate(120)));
    let config = Config { trusted_proxies: vec!["127.0.0.1/32".parse().expect("net")], ..Config::default() };
    let stack = std::sync::Arc::new(Stack::with_limits_as_given(config).await);
    let digits = test_digits(3);

    // Thirty people behind one school's address open the page at once, then
    // each stores and confirms three drawings, a few seconds apart.
    let class: Vec<_> = (0..30)
        .map(|n| {
            let (stack, digits) = (stack.clone(), digits.clone());
            tokio::spawn(async move {
                let person = Person::new("198.51.100.50");
                let mut statuses = person.open_page(&stack).await;
                tokio::time::sleep(Duration::from_millis(100 * n)).await;
                for (image, _) in &digits {
                    statuses.extend(person.draw(&stack, canvas_png(image)).await);
                    tokio::time::sleep(Duration::from_millis(700)).await;
                }
                statuses
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for person in class {
        statuses.extend(person.await.expect("a person"));
    }
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    println!("a class of 30 behind one address: {} requests, {limited} answered 429", statuses.len());
    assert_eq!(limited, 0, "people of one class were refused");

    // One person who sends far faster than anyone draws is held to their own rate.
    let abuser = Person::new("198.51.100.60");
    assert_eq!(abuser.get(&stack, "/api/model").await, StatusCode::OK, "the cookie first");
    let calls = (0..120).map(|_| abuser.http.get(stack.url("/api/model")).header("x-forwarded-for", "198.51.100.60"));
    let refused = count_refused(calls.collect()).await;
    println!("one visitor sending 120 at once: {refused} refused");
    assert!(refused >= 40, "one visitor sent 120 at once, {refused} refused (burst 60)");

    // A flood of new identities (no cookie) from one address is held to the
    // address's rate: what gets through is at most its burst and its rate.
    let started = std::time::Instant::now();
    let flood = (0..1500)
        .map(|_| reqwest::Client::new().get(stack.url("/api/model")).header("x-forwarded-for", "198.51.100.70"));
    let refused = count_refused(flood.collect()).await;
    let elapsed = started.elapsed().as_secs_f64();
    let admitted = 1500 - refused;
    let bound = 600.0 + 120.0 * elapsed;
    println!(
        "a flood of 1,500 new identities from one address in {elapsed:.1} s: {admitted} admitted (bound {bound:.0})"
    );
    assert!(refused > 0 && admitted as f64 <= bound * 1.05, "{admitted} admitted in {elapsed:.1} s");
}

/// Sends the requests all at once; how many were answered 429.
async fn count_refused(requests: Vec<reqwest::RequestBuilder>) -> usize {
    let calls: Vec<_> = requests.into_iter().map(|r| tokio::spawn(r.send())).collect();
    let mut refused = 0;
    for call in calls {
        if call.await.expect("task").expect("sent").status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_shed_with_503_and_retry_after_and_slow_clients_are_cut_off() {
    let config = Config { max_concurrent: 1, read_timeout: Duration::from_secs(1), ..Config::default() };
    let stack = Stack::with_config(config).await;
    let addr = stack.gateway.http;
    // A client that announces a body and never sends it holds the only slot...
    let mut slow = TcpStream::connect(addr).expect("connect");
    slow.write_all(
        b"POST /api/predictions HTTP/1.1\r\nhost: x\r\ncontent-type: image/png\r\ncontent-length: 1000\r\n\r\n",
    )
    .expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...so the next request is shed at once.
    let started = Instant::now();
    let response = visitor().get(stack.url("/api/model")).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.json::<serde_json::Value>().await.expect("json")["code"], "overloaded");
    // The body never comes: after the read timeout the slow client gets 408 and the slot is free.
    let mut answer = String::new();
    slow.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(visitor().get(stack.url("/api/model")).send().await.expect("sent").status(), StatusCode::OK);

    // Headers trickled in slower than the read timeout: the connection is closed.
    let mut trickle = TcpStream::connect(addr).expect("connect");
    trickle.write_all(b"GET /api/model HTTP/1.1\r\nhost: x\r\n").expect("write");
    trickle.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = trickle.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(3), "closed after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_route_has_its_own_body_limit() {
    let stack = Stack::start().await;
    let http = visitor();
    let created = post_digit(&stack, &http).send().await.expect("sent");
    let id = created.json::<serde_json::Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let padded = format!("{{\"true_label\": 1, \"pad\": \"{}\"}}", "x".repeat(2000));
    let response = http
        .put(stack.url(&format!("/api/predictions/{id}/feedback")))
        .header("content-type", "application/json")
        .body(padded)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // One byte over 2 MiB, announced: the gateway answers 413 from the
    // Content-Length alone, without waiting for the body. (Sending the body
    // too races the gateway closing the connection: an HTTP client then
    // reports the broken pipe instead of the answer.)
    let addr = stack.url("").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "POST /api/predictions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: image/png\r\ncontent-length: {}\r\n\r\n",
        (2 << 20) + 1
    );
    let mut answer = Vec::new();
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(head.as_bytes()).await.expect("sent the head");
        let mut chunk = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).await.expect("read the answer");
            assert!(n > 0, "closed without an answer: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&chunk[..n]);
        }
    }
    let status = String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned();
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    // Within the limit, feedback still works.
    let ok = http.put(stack.url(&format!("/api/predictions/{id}/feedback"))).json(&json!({ "true_label": 1 }));
    assert_eq!(ok.send().await.expect("sent").status(), StatusCode::OK);
}

fn png_image() -> pb::Image {
    let (image, _) = &test_digits(1)[0];
    pb::Image { source: Some(pb::image::Source::Encoded(canvas_png(image))) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_grpc_port_knows_api_keys_their_rates_and_its_batch_cap() {
    let config = Config {
        api_keys: vec![ApiKey { name: "alice".into(), key: "alice-key-0123456789".into(), per_second: rate(1) }],
        public_max_batch: 4,
        ..Config::default()
    };
    let stack = Stack::with_config(config).await;
    let mut client = grpc_client(&stack).await;
    let with_key = |key: &str| {
        let mut request = tonic::Request::new(pb::PredictRequest { image: Some(png_image()), ..Default::default() });
        request.metadata_mut().insert("authorization", format!("Bearer {key}").parse().expect("ascii"));
        request
    };
    let unknown = client.predict(with_key("not-a-known-key-000")).await.expect_err("unknown key");
    assert_eq!(unknown.code(), Code::Unauthenticated);
    // Alice's key: 1 a second, a burst of 2; eight calls at once.
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let mut client = client.clone();
            let request = with_key("alice-key-0123456789");
            tokio::spawn(async move { client.predict(request).await })
        })
        .collect();
    let mut refused = 0;
    for call in calls {
        if let Err(status) = call.await.expect("task") {
            assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
            assert!(status.metadata().get("retry-after").is_some());
            refused += 1;
        }
    }
    assert!(refused >= 5, "{refused} of 8 refused");
    // Anonymous callers have their own (address) bucket.
    client.predict(pb::PredictRequest { image: Some(png_image()), ..Default::default() }).await.expect("anonymous");
    // Batches above the public cap are refused before any work.
    let batch = pb::PredictBatchRequest { images: vec![png_image(); 5], ..Default::default() };
    assert_eq!(client.predict_batch(batch).await.expect_err("too many").code(), Code::InvalidArgument);
    let info = client.get_model_info(pb::GetModelInfoRequest::default()).await.expect("info").into_inner();
    assert_eq!(info.limits.expect("limits").max_batch, 4);
    // Alice's predictions are stored under her key's name.
    stack.drained().await;
    let owners = stack.db.psql("SELECT DISTINCT owner FROM predictions ORDER BY 1").expect("psql");
    assert!(owners.lines().any(|l| l.trim() == "key:alice"), "{owners}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_deadline_passes_is_answered_at_its_deadline() {
    let stack = Stack::start().await;
    let mut client = grpc_client(&stack).await;
    // A batch of 16 large images cannot be done in 5 ms.
    let big = image::GrayImage::from_fn(2000, 2000, |x, y| image::Luma([((x * y) % 251) as u8]));
    let mut png = Vec::new();
    image::DynamicImage::from(big)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encodes");
    let mut request = tonic::Request::new(pb::PredictBatchRequest {
        images: vec![pb::Image { source: Some(pb::image::Source::Encoded(png)) }; 16],
        ..Default::default()
    });
    request.set_timeout(Duration::from_millis(5));
    let started = Instant::now();
    let status = client.predict_batch(request).await.expect_err("too slow");
    assert!(matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_replica_gone_predictions_get_503_within_the_call_timeout_and_recover() {
    let mut stack = Stack::start().await;
    let http = visitor();
    assert_eq!(post_png(&http, &stack, "-").await.status(), StatusCode::OK);
    let addr = stack.inference.addr;
    let old = std::mem::replace(&mut stack.inference, support::Backend::inference(support::loopback(), "spare"));
    old.kill();
    // The spare is not resolvable yet: no healthy replica at all.
    stack.resolver.set(vec![addr]);
    let started = Instant::now();
    let response = post_png(&http, &stack, "-").await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{:?}", response.text().await);
    assert!(elapsed < Duration::from_secs(3), "503 after {elapsed:?}; the call timeout is 3 s");
    println!("no replica: 503 after {} ms", elapsed.as_millis());
    // A replica returns: answered again.
    stack.resolver.set(vec![stack.inference.addr]);
    let started = Instant::now();
    loop {
        let status = post_png(&http, &stack, "-").await.status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_secs(10), "no recovery");
    }
}
