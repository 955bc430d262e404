//! The gateway's JSON API against real inference and logging services on
//! loopback ports and a real PostgreSQL database.

mod support;

use digits_proto::inference::metadata;
use digits_proto::inference::v1 as pb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Backend, Stack, canvas_gray, canvas_png, predict_png, test_digits};

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

async fn get_json(stack: &Stack, path: &str) -> Value {
    json_of(stack.http.get(stack.url(path)).send().await.expect("sent")).await
}

fn embedded_version() -> String {
    let card: Value = serde_json::from_str(digits_inference::model::EMBEDDED_CARD).expect("card");
    card["version"].as_str().expect("version").to_owned()
}

async fn post_mnist(stack: &Stack, bytes: Vec<u8>) -> reqwest::Response {
    stack
        .http
        .post(stack.url("/api/predictions"))
        .header("content-type", digits_web_api::MNIST_MEDIA_TYPE)
        .body(bytes)
        .send()
        .await
        .expect("sent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_says_whether_it_saw_a_digit_a_number_or_neither() {
    let stack = Stack::start().await;
    let digits = test_digits(3);

    let one = json_of(predict_png(&stack, canvas_png(&digits[0].0)).await).await;
    assert_eq!(one["verdict"], "digit");
    assert_eq!(one["number"], digits[0].1.to_string());
    assert_eq!(one["parts"].as_array().expect("parts").len(), 1);
    assert_eq!(one["parts"][0]["input"], one["input"]);
    assert_eq!(one["parts"][0]["digit"], one["digit"]);
    for key in ["x", "y", "width", "height"] {
        assert!(one["parts"][0]["box"][key].is_u64(), "box.{key}");
    }

    // A number as the web app sends it: its digits' 28x28 images, left to right.
    let bytes: Vec<u8> = digits.iter().flat_map(|(image, _)| image.iter().copied()).collect();
    let response = post_mnist(&stack, bytes).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let number = json_of(response).await;
    assert_eq!(number["verdict"], "several_digits");
    let expected: String = digits.iter().map(|(_, label)| label.to_string()).collect();
    assert_eq!(number["number"], expected);
    let parts = number["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 3);
    for (i, part) in parts.iter().enumerate() {
        assert_eq!(part["box"], json!({ "x": 28 * i, "y": 0, "width": 28, "height": 28 }));
    }
    let weakest = parts.iter().map(|p| p["confidence"].as_f64().expect("confidence")).fold(f64::MAX, f64::min);
    assert_eq!(number["confidence"].as_f64(), Some(weakest), "a number is decided by its least sure digit");

    // A smiley is not a digit, and is logged as such.
    let (_, smiley) = &digits_test_support::drawing::doodles()[0];
    let canvas = digits_test_support::drawing::draw_strokes(280, 280, smiley, 16.0);
    let response = predict_png(&stack, digits_test_support::png::rgba(280, 280, &canvas)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let doodle = json_of(response).await;
    assert_eq!(doodle["verdict"], "not_a_digit");
    assert_eq!(doodle["number"], "");
    assert!(doodle["not_a_digit"].as_f64().expect("not_a_digit") > 0.0);

    // Not 1 to 8 images of 784 bytes: 422, never a 5xx.
    for (case, len) in [("nine images", 9 * 784), ("a byte too many", 785)] {
        let response = post_mnist(&stack, vec![0; len]).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{case}");
        assert_eq!(json_of(response).await["code"], "invalid_image", "{case}");
    }
    stack.drained().await;
    assert_eq!(stack.rows(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drawn_digit_is_recognised_and_logged_with_everything_the_contract_promises() {
    let stack = Stack::start().await;
    let digits = test_digits(40);
    let mut right = 0;
    for (image, label) in &digits {
        let response = predict_png(&stack, canvas_png(image)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = json_of(response).await;
        let id = body["id"].as_str().expect("an id");
        assert_eq!(id.len(), 36, "a UUID: {id}");
        let probabilities = body["probabilities"].as_array().expect("probabilities");
        assert_eq!(probabilities.len(), 10);
        let sum: f64 = probabilities.iter().map(|p| p.as_f64().expect("number")).sum();
        let not_a_digit = body["not_a_digit"].as_f64().expect("not_a_digit");
        assert!((sum + not_a_digit - 1.0).abs() < 1e-3, "{sum} + {not_a_digit}");
        assert_eq!(body["input"].as_array().expect("input").len(), 784);
        assert_eq!(body["model_version"], embedded_version());
        assert!(body["latency_ms"].as_f64().expect("latency") > 0.0);
        let digit = body["digit"].as_u64().expect("digit");
        assert_eq!(body["confidence"].as_f64(), probabilities[digit as usize].as_f64());
        right += usize::from(digit == u64::from(*label));
    }
    assert!(right >= 39, "{right}/40 MNIST digits drawn on a canvas recognised");

    // The same image as JSON pixels gets the same answer and the same input.
    let (image, _) = &digits[0];
    let from_png = json_of(predict_png(&stack, canvas_png(image)).await).await;
    let pixels = json!({ "width": 280, "height": 280, "pixels": canvas_gray(image) });
    let response = stack.http.post(stack.url("/api/predictions")).json(&pixels).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::CREATED);
    let from_json = json_of(response).await;
    assert_eq!(from_json["digit"], from_png["digit"]);
    assert_eq!(from_json["input"], from_png["input"]);

    // The 28x28 input itself, as the web app sends its preview: the answer
    // is for exactly those bytes, and the same as for the drawing.
    let input: Vec<u8> =
        from_png["input"].as_array().expect("input").iter().map(|v| v.as_u64().expect("byte") as u8).collect();
    let response = stack
        .http
        .post(stack.url("/api/predictions"))
        .header("content-type", digits_web_api::MNIST_MEDIA_TYPE)
        .body(input.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::CREATED);
    let from_mnist = json_of(response).await;
    assert_eq!(from_mnist["input"], from_png["input"]);
    assert_eq!(from_mnist["digit"], from_png["digit"]);
    assert_eq!(from_mnist["probabilities"], from_png["probabilities"]);

    // A draft is answered but not logged.
    let response = stack
        .http
        .post(stack.url("/api/predictions?log=false"))
        .header("content-type", "image/png")
        .body(canvas_png(image))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_of(response).await["id"], Value::Null);

    stack.drained().await;
    assert_eq!(stack.rows(), 43, "40 + the PNG, JSON and 28x28 repeats, not the draft");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_history_and_stats_agree_with_the_database() {
    let stack = Stack::start().await;
    let digits = test_digits(6);
    let mut ids = Vec::new();
    for (image, _) in &digits {
        let body = json_of(predict_png(&stack, canvas_png(image)).await).await;
        ids.push((body["id"].as_str().expect("id").to_owned(), body["digit"].as_u64().expect("digit")));
    }
    // Feedback right after the prediction: its log entry may still be queued.
    let (first, first_digit) = &ids[0];
    let url = stack.url(&format!("/api/predictions/{first}/feedback"));
    let response = stack.http.put(&url).json(&json!({ "true_label": first_digit })).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let record = json_of(response).await;
    assert_eq!(record["true_label"], json!(first_digit));
    assert_eq!(record["correct"], json!(true));

    // A correction.
    let (second, second_digit) = &ids[1];
    let wrong = (second_digit + 1) % 10;
    let url = stack.url(&format!("/api/predictions/{second}/feedback"));
    let record = json_of(stack.http.put(&url).json(&json!({ "true_label": wrong })).send().await.expect("sent")).await;
    assert_eq!((record["true_label"].as_u64(), record["correct"].as_bool()), (Some(wrong), Some(false)));

    stack.drained().await;
    let page = get_json(&stack, "/api/predictions?limit=4").await;
    let listed: Vec<&str> =
        page["predictions"].as_array().expect("list").iter().map(|p| p["id"].as_str().expect("id")).collect();
    let newest: Vec<&str> = ids.iter().rev().take(4).map(|(id, _)| id.as_str()).collect();
    assert_eq!(listed, newest, "newest first");
    let before = page["next_before"].as_i64().expect("another page");
    let rest = get_json(&stack, &format!("/api/predictions?before={before}")).await;
    assert_eq!(rest["predictions"].as_array().expect("list").len(), 2);
    assert_eq!(rest["next_before"], Value::Null);

    let wrong_only = get_json(&stack, "/api/predictions?wrong_only=true").await;
    let wrong_ids: Vec<&str> =
        wrong_only["predictions"].as_array().expect("list").iter().map(|p| p["id"].as_str().expect("id")).collect();
    assert_eq!(wrong_ids, vec![second.as_str()]);
    let cell = stack.url(&format!("/api/predictions?digit={second_digit}&true_label={wrong}"));
    let cell = json_of(stack.http.get(cell).send().await.expect("sent")).await;
    assert_eq!(cell["predictions"].as_array().expect("list").len(), 1, "the confusion cell's example");

    let stats = get_json(&stack, "/api/stats").await;
    assert_eq!(
        (stats["total"].as_i64(), stats["labeled"].as_i64(), stats["correct"].as_i64()),
        (Some(6), Some(2), Some(1))
    );
    assert_eq!(stats["accuracy"].as_f64(), Some(0.5));
    assert_eq!(stats["confusion"][wrong as usize][*second_digit as usize], 1);
    assert_eq!(stats["per_digit"].as_array().expect("digits").len(), 10);
    let db = stack.db.psql("SELECT count(*) FILTER (WHERE true_label IS NOT NULL), count(*) FILTER (WHERE true_label = predicted_digit) FROM predictions").expect("psql");
    assert_eq!(db.trim(), "2|1");

    let one = get_json(&stack, &format!("/api/predictions/{second}")).await;
    assert_eq!(one["true_label"].as_u64(), Some(wrong));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictions_work_while_logging_is_down_and_every_one_is_stored_after_it_returns() {
    let mut stack = Stack::start().await;
    let digits = test_digits(30);
    for (image, _) in &digits[..5] {
        assert_eq!(predict_png(&stack, canvas_png(image)).await.status(), StatusCode::CREATED);
    }
    stack.drained().await;
    stack.logging.take().expect("running").kill();

    let mut served = 5;
    let mut last_id = String::new();
    for (image, _) in &digits[5..25] {
        let response = predict_png(&stack, canvas_png(image)).await;
        assert_eq!(response.status(), StatusCode::CREATED, "predictions do not need the logging service");
        last_id = json_of(response).await["id"].as_str().expect("id").to_owned();
        served += 1;
    }
    let ready = stack.http.get(stack.url("/readyz")).send().await.expect("sent");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let ready = json_of(ready).await;
    assert_eq!(ready["logging"]["ready"], false);
    assert!(ready["log_queue"]["pending"].as_u64().expect("pending") > 0, "{ready}");
    // Feedback is synchronous: the user is told it was not saved.
    let url = stack.url(&format!("/api/predictions/{last_id}/feedback"));
    let response = stack.http.put(&url).json(&json!({ "true_label": 1 })).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json_of(response).await["code"], "logging_unavailable");

    // The logging service comes back on the same address.
    stack.logging = Some(Backend::logging(stack.logging_addr, stack.db.url()));
    stack.drained().await;
    assert_eq!(stack.rows(), served, "every prediction served is stored, once");
    let response = stack.http.put(&url).json(&json!({ "true_label": 1 })).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);

    // A graceful stop writes what is still queued.
    for (image, _) in &digits[25..] {
        assert_eq!(predict_png(&stack, canvas_png(image)).await.status(), StatusCode::CREATED);
        served += 1;
    }
    let Stack { gateway, db, logging, inference, .. } = stack;
    gateway.stop().await;
    let rows: i64 = db.psql("SELECT count(*) FROM predictions").expect("psql").trim().parse().expect("count");
    assert_eq!(rows, served);
    drop((logging, inference));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflowing_log_queue_is_counted_and_shown_in_readyz() {
    let config = digits_gateway::config::Config { log_queue: 3, ..Default::default() };
    let mut stack = Stack::with_config(config).await;
    stack.logging.take().expect("running").kill();
    let (image, _) = test_digits(1)[0];
    for _ in 0..5 {
        assert_eq!(predict_png(&stack, canvas_png(&image)).await.status(), StatusCode::CREATED);
    }
    let ready = get_json(&stack, "/readyz").await;
    assert_eq!(ready["log_queue"]["pending"], 3);
    assert_eq!(ready["log_queue"]["dropped"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_openapi_and_the_grpc_port_answer() {
    let stack = Stack::start().await;
    let health = stack.http.get(stack.url("/healthz")).send().await.expect("sent");
    assert_eq!(health.status(), StatusCode::OK);
    let ready = get_json(&stack, "/readyz").await;
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["inference"]["replicas"], 1);

    let openapi = get_json(&stack, "/api/openapi.json").await;
    let paths = openapi["paths"].as_object().expect("paths");
    for path in [
        "/api/predictions",
        "/api/predictions/{id}",
        "/api/predictions/{id}/feedback",
        "/api/stats",
        "/api/model",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(path), "{path} documented");
    }
    let model = get_json(&stack, "/api/model").await;
    assert_eq!(model["version"], embedded_version());

    // Developers reach the inference API on the gateway's gRPC port; their
    // predictions are logged too, marked as gRPC.
    let mut client = pb::inference_client::InferenceClient::connect(format!("http://{}", stack.gateway.grpc))
        .await
        .expect("connects");
    let (image, label) = test_digits(1)[0];
    let request = pb::PredictRequest {
        image: Some(pb::Image { source: Some(pb::image::Source::Mnist(image.to_vec())) }),
        ..Default::default()
    };
    let response = client.predict(request).await.expect("predicts");
    assert_eq!(response.metadata().get(metadata::REPLICA).and_then(|v| v.to_str().ok()), Some("only"));
    assert_eq!(response.into_inner().prediction.expect("prediction").digit, u32::from(label));
    stack.drained().await;
    assert_eq!(stack.db.psql("SELECT source FROM predictions").expect("psql").trim(), "grpc");

    // Reflection shows what this port serves: inference (native and the Open
    // Inference Protocol) and health, not logging.
    let listed = digits_service_kit::healthcheck::reflected_services(
        &format!("http://{}", stack.gateway.grpc),
        std::time::Duration::from_secs(5),
    )
    .await
    .expect("reflection");
    assert_eq!(listed, ["digits.inference.v1.Inference", "grpc.health.v1.Health", "inference.GRPCInferenceService"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_is_served_with_a_strict_content_security_policy() {
    let web_dir = digits_test_support::TempDir::new("csp-web");
    std::fs::write(web_dir.join("index.html"), "<!doctype html><title>t</title>").expect("index");
    let stack = Stack::with_config(digits_gateway::config::Config {
        web_dir: web_dir.path().to_path_buf(),
        ..Default::default()
    })
    .await;

    let page = stack.http.get(stack.url("/")).send().await.expect("sent");
    assert_eq!(page.status(), StatusCode::OK);
    let header = |name: &str| page.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let csp = header("content-security-policy");
    for directive in ["script-src 'self' 'wasm-unsafe-eval'", "frame-ancestors 'none'", "object-src 'none'"] {
        assert!(csp.contains(directive), "{directive} missing from {csp:?}");
    }
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "inline scripts allowed: {csp:?}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "no-referrer");

    // The JSON API carries the generic headers too.
    let model = stack.http.get(stack.url("/api/model")).send().await.expect("sent");
    assert_eq!(model.headers().get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"));
}
