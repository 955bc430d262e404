//! Whose data a request touches: visitors by cookie, API clients by token,
//! developers by API key, operators by the admin token. Against real
//! inference and logging services and a real PostgreSQL database.

mod support;

use digits_gateway::config::{Config, Secret};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Stack, post_digit, visitor};

const ADMIN: &str = "operators-token-0123456789";

async fn predict(stack: &Stack, http: &reqwest::Client) -> (reqwest::header::HeaderMap, Value) {
    let response = post_digit(stack, http).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::CREATED);
    let headers = response.headers().clone();
    (headers, response.json().await.expect("json"))
}

async fn call(http: &reqwest::Client, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = http.execute(request.build().expect("request")).await.expect("sent");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_sees_and_labels_only_their_own_drawings() {
    let stack = Stack::start().await;
    let (alice, bob) = (visitor(), visitor());
    let (headers, mine) = predict(&stack, &alice).await;
    let cookie = headers.get("set-cookie").and_then(|v| v.to_str().ok()).expect("a visitor cookie").to_owned();
    for part in ["digits_visitor=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let id = mine["id"].as_str().expect("id").to_owned();
    let feedback = json!({ "true_label": 3 });

    // Bob cannot read or relabel it, and cannot tell it from a missing one.
    let (status, theirs) = call(&bob, bob.get(stack.url(&format!("/api/predictions/{id}")))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, refused) =
        call(&bob, bob.put(stack.url(&format!("/api/predictions/{id}/feedback"))).json(&feedback)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let missing = "6f1c7d4e-0000-4000-8000-000000000000";
    let (_, unknown) =
        call(&bob, bob.put(stack.url(&format!("/api/predictions/{missing}/feedback"))).json(&feedback)).await;
    assert_eq!(refused["code"], unknown["code"]);
    assert_eq!(theirs["code"], "not_found");
    let (_, bobs) = call(&bob, bob.get(stack.url("/api/predictions"))).await;
    assert_eq!(bobs["predictions"], json!([]), "a newcomer's history is empty");
    let (_, bob_stats) = call(&bob, bob.get(stack.url("/api/stats"))).await;
    assert_eq!(bob_stats["total"], 0);

    // Alice can.
    let (status, labelled) =
        call(&alice, alice.put(stack.url(&format!("/api/predictions/{id}/feedback"))).json(&feedback)).await;
    assert_eq!(status, StatusCode::OK, "{labelled}");
    assert_eq!(labelled["true_label"], 3);
    let (_, alices) = call(&alice, alice.get(stack.url("/api/predictions"))).await;
    assert_eq!(alices["predictions"].as_array().map(Vec::len), Some(1));
    let (_, alice_stats) = call(&alice, alice.get(stack.url("/api/stats"))).await;
    assert_eq!((alice_stats["total"].as_i64(), alice_stats["labeled"].as_i64()), (Some(1), Some(1)));
    // The public figures count everyone's, without drawings.
    let (status, global) = call(&bob, bob.get(stack.url("/api/stats/global"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(global["labeled"], 1);
    // No admin token configured: the operators' views do not exist.
    let (status, _) = call(&alice, alice.get(stack.url("/api/admin/export"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    stack.drained().await;
    let owners = stack.db.psql("SELECT count(DISTINCT owner) FROM predictions WHERE owner LIKE 'v:%'").expect("psql");
    assert_eq!(owners.trim(), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_everyone_and_export_the_labelled_data_with_the_admin_token() {
    let config = Config { admin_token: Some(Secret(ADMIN.into())), ..Config::default() };
    let stack = Stack::with_config(config).await;
    let (alice, bob) = (visitor(), visitor());
    let (_, a) = predict(&stack, &alice).await;
    let (_, b) = predict(&stack, &bob).await;
    // Read your writes: the prediction just answered (still in the log
    // queue, no feedback to flush it) is in its owner's history and stats.
    let (_, bobs) = call(&bob, bob.get(stack.url("/api/predictions"))).await;
    assert_eq!(bobs["predictions"][0]["id"], b["id"], "{bobs}");
    let (_, bob_stats) = call(&bob, bob.get(stack.url("/api/stats"))).await;
    assert_eq!(bob_stats["total"], 1, "{bob_stats}");
    let a_id = a["id"].as_str().expect("id");
    let put = alice.put(stack.url(&format!("/api/predictions/{a_id}/feedback"))).json(&json!({ "true_label": 7 }));
    assert_eq!(call(&alice, put).await.0, StatusCode::OK);

    let operator = reqwest::Client::new();
    let (status, everyone) = call(&operator, operator.get(stack.url("/api/predictions")).bearer_auth(ADMIN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(everyone["predictions"].as_array().map(Vec::len), Some(2));
    let (status, wrong) =
        call(&alice, alice.get(stack.url("/api/admin/export")).bearer_auth("not-the-token-at-all")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong}");
    let (status, _) = call(&alice, alice.get(stack.url("/api/admin/export"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let export = operator.get(stack.url("/api/admin/export")).bearer_auth(ADMIN).send().await.expect("sent");
    assert_eq!(export.status(), StatusCode::OK);
    assert_eq!(export.headers()["content-type"], "application/x-ndjson");
    let text = export.text().await.expect("body");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 1, "only the labelled prediction: {text}");
    assert_eq!(lines[0]["true_label"], 7);
    assert_eq!(lines[0]["input"].as_array().map(Vec::len), Some(784));
    let owner = lines[0]["owner"].as_str().expect("who labelled it");
    assert!(owner.starts_with("v:") && owner.len() > 10, "an opaque pseudonym of the visitor: {owner}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_client_is_known_by_its_own_token_and_a_bad_token_is_refused() {
    let stack = Stack::start().await;
    let token = "my-script-secret-0001";
    let http = reqwest::Client::new();
    let response = post_digit(&stack, &http).bearer_auth(token).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().get("set-cookie").is_none(), "a token needs no cookie");
    let id = response.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let (status, _) = call(&http, http.get(stack.url(&format!("/api/predictions/{id}"))).bearer_auth(token)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        call(&http, http.get(stack.url(&format!("/api/predictions/{id}"))).bearer_auth("another-secret-0002")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = http.get(stack.url("/api/predictions")).bearer_auth("short").send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_prediction_ids_are_404_never_5xx() {
    let stack = Stack::start().await;
    let http = visitor();
    for id in ["%00", "nul%00byte", "not-a-uuid", "1", "..%2F..%2Fetc", &"a".repeat(300)] {
        let (status, body) = call(&http, http.get(stack.url(&format!("/api/predictions/{id}")))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
        let put = http.put(stack.url(&format!("/api/predictions/{id}/feedback"))).json(&json!({ "true_label": 1 }));
        let (status, body) = call(&http, put).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
    }
}
