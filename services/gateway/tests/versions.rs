//! Model versions through the gateway: `/api/model` lists them, each visitor
//! is answered by one version while a canary runs, `/api/stats` splits the
//! feedback by version, and the Open Inference Protocol's version paths
//! reach the version they name.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use digits_gateway::config::Config;
use digits_inference::model::{EMBEDDED_CARD, EMBEDDED_GOLDEN, EMBEDDED_ONNX};
use digits_test_support::TempDir;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Stack, canvas_png, loopback, test_digits, visitor};

/// The embedded model published to `root` as `version`.
fn publish(root: &Path, version: &str) {
    let model = TempDir::new("gateway-model");
    let mut card: Value = serde_json::from_str(EMBEDDED_CARD).expect("card");
    card["version"] = version.into();
    std::fs::write(model.join("model.onnx"), EMBEDDED_ONNX).expect("onnx");
    std::fs::write(model.join("golden.json"), EMBEDDED_GOLDEN).expect("golden");
    std::fs::write(model.join("model.json"), card.to_string()).expect("card");
    digits_inference::repository::publish(root, model.path()).expect("published");
}

async fn stack_with_canary(percent: u8) -> (Stack, TempDir) {
    let root = TempDir::new("gateway-repository");
    publish(root.path(), "2.1.0");
    let policy = json!({ "current": "2.0.0", "canary": { "version": "2.1.0", "percent": percent } });
    std::fs::write(root.join("digits-mnist-cnn").join("serving.json"), policy.to_string()).expect("policy");
    let inference = Backend::inference_with(digits_inference::config::Config {
        addr: loopback(),
        replica: "only".into(),
        repository: Some(root.path().to_owned()),
        poll: Duration::from_millis(100),
        ..Default::default()
    });
    (Stack::with_inference(Config::default(), inference).await, root)
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("json")
}

#[tokio::test]
async fn a_canary_answers_each_visitor_by_one_version_and_the_stats_split_by_version() {
    let (stack, _root) = stack_with_canary(50).await;
    let model = json_of(stack.http.get(stack.url("/api/model")).send().await.expect("sent")).await;
    assert_eq!(model["version"], "2.0.0");
    assert_eq!(
        model["versions"],
        json!([
            { "version": "2.1.0", "role": "canary", "traffic_percent": 50, "test_accuracy": 0.9963, "origin": "repository" },
            { "version": "2.0.0", "role": "current", "traffic_percent": 50, "test_accuracy": 0.9963, "origin": "embedded" },
        ])
    );

    // Thirty visitors draw three digits each and confirm each answer.
    let digits = test_digits(3);
    let mut by_version = HashMap::<String, u32>::new();
    for _ in 0..30 {
        let person = visitor();
        let mut seen = Vec::new();
        for (image, _) in &digits {
            let response = person
                .post(stack.url("/api/predictions"))
                .header("content-type", "image/png")
                .body(canvas_png(image))
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), StatusCode::CREATED);
            let body = json_of(response).await;
            let id = body["id"].as_str().expect("id");
            let feedback = json!({ "true_label": body["digit"] });
            let url = stack.url(&format!("/api/predictions/{id}/feedback"));
            assert_eq!(person.put(url).json(&feedback).send().await.expect("sent").status(), StatusCode::OK);
            seen.push(body["model_version"].as_str().expect("version").to_owned());
        }
        assert!(seen.iter().all(|v| *v == seen[0]), "one visitor, one version: {seen:?}");
        *by_version.entry(seen[0].clone()).or_default() += 1;
    }
    println!("visitors by version at a 50% canary: {by_version:?}");
    assert_eq!(by_version.len(), 2, "both versions answer someone: {by_version:?}");

    stack.drained().await;
    let stats = json_of(stack.http.get(stack.url("/api/stats/global")).send().await.expect("sent")).await;
    let mut split: Vec<(String, i64, i64)> = stats["by_model_version"]
        .as_array()
        .expect("by version")
        .iter()
        .map(|v| {
            (
                v["model_version"].as_str().expect("v").to_owned(),
                v["labeled"].as_i64().expect("n"),
                v["correct"].as_i64().expect("n"),
            )
        })
        .collect();
    split.sort();
    let expected: Vec<(String, i64, i64)> = ["2.0.0", "2.1.0"]
        .iter()
        .map(|v| (v.to_string(), i64::from(by_version[*v]) * 3, i64::from(by_version[*v]) * 3))
        .collect();
    assert_eq!(split, expected, "labelled and right, per version");
}

#[tokio::test]
async fn the_open_inference_protocol_reaches_the_version_it_names() {
    let (stack, _root) = stack_with_canary(0).await;
    let get = |path: &str| stack.http.get(stack.url(path)).send();
    let metadata = json_of(get("/v2/models/mnist/versions/2.1.0").await.expect("sent")).await;
    assert_eq!(metadata["versions"], json!(["2.1.0"]));
    let missing = get("/v2/models/mnist/versions/9.9.9").await.expect("sent");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(missing).await["code"], "unknown_version");
    assert_eq!(get("/v2/models/mnist/versions/2.1.0/ready").await.expect("sent").status(), StatusCode::OK);

    let (image, _) = &test_digits(1)[0];
    let pixels: Vec<f32> = image.iter().map(|&p| f32::from(p) / 255.0).collect();
    let body = json!({ "inputs": [{ "name": "image", "datatype": "FP32", "shape": [1, 1, 28, 28], "data": pixels }] });
    for (path, version) in [("/v2/models/mnist/infer", "2.0.0"), ("/v2/models/mnist/versions/2.1.0/infer", "2.1.0")] {
        let answer = json_of(stack.http.post(stack.url(path)).json(&body).send().await.expect("sent")).await;
        assert_eq!(answer["model_version"], version, "{path}");
    }
    let missing = stack.http.post(stack.url("/v2/models/mnist/versions/3.0.0/infer")).json(&body).send().await;
    let missing = missing.expect("sent");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    stack.drained().await;
    assert_eq!(stack.rows(), 2, "the refused call is not logged");
}

#[tokio::test]
async fn each_page_runs_the_version_that_answers_its_visitor_from_an_immutable_file() {
    use sha2::{Digest, Sha256};
    let (stack, _root) = stack_with_canary(50).await;
    let (image, _) = &test_digits(1)[0];
    let mut versions = HashMap::<String, u32>::new();
    let mut file = None;
    for _ in 0..20 {
        let person = visitor();
        // The page loads first, as in a browser, and gets its cookie.
        assert_eq!(person.get(stack.url("/api/model")).send().await.expect("sent").status(), StatusCode::OK);
        let page = json_of(person.get(stack.url("/api/model/page")).send().await.expect("sent")).await;
        let answer = person
            .post(stack.url("/api/predictions"))
            .header("content-type", "image/png")
            .body(canvas_png(image))
            .send()
            .await
            .expect("sent");
        let answer = json_of(answer).await;
        assert_eq!(page["version"], answer["model_version"], "the page runs the version that answers its visitor");
        assert_eq!(page["classes"].as_array().map(Vec::len), Some(11));
        assert!(page["rejection_threshold"].as_f64().is_some_and(|t| t > 0.0 && t <= 1.0));
        *versions.entry(page["version"].as_str().expect("version").to_owned()).or_default() += 1;
        file = Some((page["url"].as_str().expect("url").to_owned(), page["sha256"].as_str().expect("sha").to_owned()));
    }
    assert_eq!(versions.len(), 2, "both versions run in some page: {versions:?}");

    let (url, sha256) = file.expect("a file");
    let response = stack.http.get(stack.url(&url)).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (cache, etag) = (header("cache-control"), header("etag"));
    assert!(cache.contains("immutable") && cache.contains("max-age=31536000"), "{cache}");
    assert_eq!(etag, format!("\"{sha256}\""));
    let bytes = response.bytes().await.expect("body");
    assert_eq!(format!("{:x}", Sha256::digest(&bytes)), sha256, "the file is the one its URL names");
    assert_eq!(&bytes[..], EMBEDDED_ONNX);

    // A browser that has it asks again only to hear that nothing changed.
    let again = stack.http.get(stack.url(&url)).header("if-none-match", &etag).send().await.expect("sent");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.expect("body").is_empty());

    for missing in [
        format!("/api/model/files/9.9.9/{sha256}"),
        format!("/api/model/files/2.0.0/{}", "0".repeat(64)),
        "/api/model/files/2.0.0/not-a-checksum".to_owned(),
        format!("/api/model/files/..%2F..%2Fetc/{sha256}"),
    ] {
        let response = stack.http.get(stack.url(&missing)).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
    }

    // The same model file for developers, on the public gRPC port.
    let mut client = support::grpc_client(&stack).await;
    let file = client
        .get_model_file(digits_proto::inference::v1::GetModelFileRequest::default())
        .await
        .expect("GetModelFile")
        .into_inner();
    assert_eq!(format!("{:x}", Sha256::digest(&file.onnx)), file.info.expect("info").sha256);
}
