//! `/metrics` on the gateway's HTTP port: the request, log-queue, replica
//! and build series after real traffic through the real services, and who
//! may read them. (The three services share one process here, so their
//! series appear together; the Prometheus test scrapes each binary.)

mod support;

use digits_gateway::config::{Config, Secret};
use reqwest::StatusCode;
use support::{Stack, post_digit};

/// The value of the series whose line starts with `series`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_traffic_the_gateway_reports_requests_queue_replicas_and_build() {
    let stack = Stack::start().await;
    for _ in 0..3 {
        assert_eq!(post_digit(&stack, &stack.http).send().await.expect("sent").status(), StatusCode::CREATED);
    }
    let missing = stack.http.get(stack.url("/api/predictions/6f1c7d4e-0000-4000-8000-000000000000")).send().await;
    assert_eq!(missing.expect("sent").status(), StatusCode::NOT_FOUND);
    stack.drained().await;
    // A method the public gRPC port does not serve: counted, under one label.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", stack.gateway.grpc))
        .expect("url")
        .connect()
        .await
        .expect("connects");
    let mut stranger = digits_proto::logging::v1::logging_client::LoggingClient::new(channel);
    let refused = stranger.get_stats(digits_proto::logging::v1::GetStatsRequest { owner: None }).await;
    assert_eq!(refused.expect_err("not served").code(), tonic::Code::Unimplemented);

    let response = stack.http.get(stack.url("/metrics")).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK, "loopback may read the metrics");
    assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("text/plain"));
    let text = response.text().await.expect("text");
    let created = r#"digits_http_requests_total{route="/api/predictions",method="POST",status="201",code=""}"#;
    assert!(value(&text, created).is_some_and(|v| v >= 3.0), "{text}");
    let not_found =
        r#"digits_http_requests_total{route="/api/predictions/{id}",method="GET",status="404",code="not_found"}"#;
    assert!(value(&text, not_found).is_some_and(|v| v >= 1.0), "{text}");
    assert!(
        text.contains(
            r#"digits_http_request_duration_seconds_bucket{route="/api/predictions",method="POST",le="0.1"}"#
        )
    );
    assert_eq!(value(&text, r#"digits_inference_replicas{state="healthy"}"#), Some(1.0));
    assert_eq!(value(&text, "digits_log_queue_pending "), Some(0.0));
    assert!(value(&text, r#"digits_log_entries_total{outcome="written"}"#).is_some_and(|v| v >= 3.0), "{text}");
    assert!(text.contains(r#"digits_build_info{service="gateway","#), "{text}");
    assert!(value(&text, r#"digits_grpc_server_requests_total{method="unknown",code="UNIMPLEMENTED"}"#).is_some());
    assert!(!text.contains(r#"method="digits.logging.v1.Logging/GetStats",code="UNIMPLEMENTED""#), "{text}");
    // The same process runs inference and logging here: their series are in it too.
    for series in [
        "digits_inference_compute_seconds_bucket",
        "digits_inference_queue_wait_seconds_bucket",
        r#"digits_grpc_server_requests_total{method="digits.inference.v1.Inference/Predict",code="OK"}"#,
        r#"digits_grpc_server_requests_total{method="digits.logging.v1.Logging/LogPredictions",code="OK"}"#,
        r#"digits_db_pool_connections{state="idle"}"#,
        "digits_model_info{",
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_get_no_metrics_and_the_token_opens_them() {
    let token = "prometheus-scrape-token-0001";
    let config = Config {
        metrics_token: Some(Secret(token.into())),
        trusted_proxies: vec!["127.0.0.0/8".parse().expect("net")],
        ..Config::default()
    };
    let stack = Stack::with_config(config).await;
    let http = reqwest::Client::new();
    let get = || http.get(stack.url("/metrics"));
    assert_eq!(
        get().send().await.expect("sent").status(),
        StatusCode::FORBIDDEN,
        "a token is set: loopback is not enough"
    );
    assert_eq!(get().bearer_auth("wrong-token-000000000").send().await.expect("sent").status(), StatusCode::FORBIDDEN);
    assert_eq!(get().bearer_auth(token).send().await.expect("sent").status(), StatusCode::OK);

    // Without a token: the deployment's own network only, as the trusted proxy tells it.
    let stack =
        Stack::with_config(Config { trusted_proxies: vec!["127.0.0.0/8".parse().expect("net")], ..Config::default() })
            .await;
    let from = |ip: &str| http.get(stack.url("/metrics")).header("x-forwarded-for", ip).send();
    assert_eq!(from("203.0.113.9").await.expect("sent").status(), StatusCode::FORBIDDEN, "a stranger via the proxy");
    assert_eq!(from("10.0.3.7").await.expect("sent").status(), StatusCode::OK, "Prometheus on the private network");

    // A proxy nobody said to trust (an ingress without DIGITS_TRUSTED_PROXIES):
    // whatever it relays is not the private network.
    let stack = Stack::start().await;
    let relayed = http.get(stack.url("/metrics")).header("x-forwarded-for", "203.0.113.9").send().await;
    assert_eq!(relayed.expect("sent").status(), StatusCode::FORBIDDEN);
    assert_eq!(http.get(stack.url("/metrics")).send().await.expect("sent").status(), StatusCode::OK, "direct loopback");
}
