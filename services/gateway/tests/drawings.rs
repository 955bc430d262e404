//! One drawing, one record: a drawing read again while it is drawn replaces
//! its stored reading, feedback makes it final, and its owner can delete
//! it. Against real inference and logging services and PostgreSQL.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Stack, canvas_png, test_digits, visitor};

async fn call(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("sent");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drawing_changed_after_it_was_stored_stays_one_record_until_feedback() {
    let stack = Stack::start().await;
    let (alice, bob) = (visitor(), visitor());
    let digits = test_digits(3);
    let png = |i: usize| canvas_png(&digits[i].0);
    let (status, first) =
        call(alice.post(stack.url("/api/predictions")).header("content-type", "image/png").body(png(0))).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let id = first["id"].as_str().expect("id").to_owned();
    let revise = |client: &reqwest::Client, revision: u32, image: usize| {
        client
            .put(stack.url(&format!("/api/predictions/{id}?revision={revision}")))
            .header("content-type", "image/png")
            .body(png(image))
    };

    // The user keeps drawing: the record follows, under the same id (the
    // first revision while its first reading may still be queued).
    let (status, second) = call(revise(&alice, 1, 1)).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["digit"], u64::from(digits[1].1));
    stack.drained().await;
    let (status, third) = call(revise(&alice, 2, 2)).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(third["digit"], u64::from(digits[2].1));

    // A repeated or older revision, and a stranger, change nothing.
    let (status, stale) = call(revise(&alice, 2, 0)).await;
    assert_eq!((status, stale["code"].as_str()), (StatusCode::CONFLICT, Some("stale_revision")), "{stale}");
    let (status, _) = call(revise(&bob, 9, 0)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in ["0", "-1", "x", "2147483648"] {
        let url = stack.url(&format!("/api/predictions/{id}?revision={bad}"));
        let (status, body) = call(alice.put(url).header("content-type", "image/png").body(png(0))).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {status} {body}"
        );
    }

    let (_, history) = call(alice.get(stack.url("/api/predictions"))).await;
    let rows = history["predictions"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "one drawing, one record: {history}");
    assert_eq!(rows[0]["digit"], u64::from(digits[2].1));
    stack.drained().await;
    assert_eq!(stack.rows(), 1);
    assert_eq!(stack.db.psql("SELECT revision FROM predictions").expect("psql").trim(), "2");

    // Feedback makes it final.
    let label = json!({ "true_label": digits[2].1 });
    let (status, _) = call(alice.put(stack.url(&format!("/api/predictions/{id}/feedback"))).json(&label)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = call(revise(&alice, 3, 0)).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::CONFLICT, Some("final")), "{refused}");
    let (_, stats) = call(alice.get(stack.url("/api/stats"))).await;
    assert_eq!((stats["total"].as_i64(), stats["correct"].as_i64()), (Some(1), Some(1)), "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_its_owner_deletes_a_drawing_queued_or_stored() {
    let stack = Stack::start().await;
    let (alice, bob) = (visitor(), visitor());
    let digits = test_digits(1);
    let post =
        || alice.post(stack.url("/api/predictions")).header("content-type", "image/png").body(canvas_png(&digits[0].0));
    let (_, stored) = call(post()).await;
    let stored = stored["id"].as_str().expect("id").to_owned();
    let label = json!({ "true_label": 7 });
    call(alice.put(stack.url(&format!("/api/predictions/{stored}/feedback"))).json(&label)).await;
    // Deleted right after it is answered, likely still in the log queue.
    let (_, queued) = call(post()).await;
    let queued = queued["id"].as_str().expect("id").to_owned();

    for id in [&stored, &queued] {
        let url = stack.url(&format!("/api/predictions/{id}"));
        assert_eq!(call(bob.delete(&url)).await.0, StatusCode::NOT_FOUND, "a stranger's delete");
        assert_eq!(call(alice.delete(&url)).await.0, StatusCode::NO_CONTENT);
        assert_eq!(call(alice.get(&url)).await.0, StatusCode::NOT_FOUND);
        assert_eq!(call(alice.delete(&url)).await.0, StatusCode::NOT_FOUND, "gone");
    }
    stack.drained().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(stack.rows(), 0, "nothing comes back");
    let (_, stats) = call(alice.get(stack.url("/api/stats"))).await;
    assert_eq!((stats["total"].as_i64(), stats["labeled"].as_i64()), (Some(0), Some(0)), "{stats}");
    assert_eq!(call(alice.delete(stack.url("/api/predictions/not-an-id"))).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_prediction_sent_again_with_its_idempotency_key_is_one_record() {
    let stack = Stack::start().await;
    let (image, _) = &test_digits(1)[0];
    let post = |person: &reqwest::Client, key: &str| {
        person
            .post(stack.url("/api/predictions"))
            .header("content-type", "image/png")
            .header("idempotency-key", key)
            .body(canvas_png(image))
            .send()
    };
    let (alice, bob) = (visitor(), visitor());
    let first = post(&alice, "drawing-7f3a").await.expect("sent");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("json");
    // The answer was lost; the page sends the drawing again with the same key.
    let again: Value = post(&alice, "drawing-7f3a").await.expect("sent").json().await.expect("json");
    assert_eq!(again["id"], first["id"], "the same key names the same record");
    let other: Value = post(&bob, "drawing-7f3a").await.expect("sent").json().await.expect("json");
    assert_ne!(other["id"], first["id"], "another visitor's same key is another record");
    stack.drained().await;
    assert_eq!(stack.rows(), 2, "stored once each");

    for bad in [&"k".repeat(129), "two words", "tab\there"] {
        let response = post(&alice, bad).await.expect("sent");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["code"], "invalid_idempotency_key");
    }
    // An empty header is no key: a new record each time.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = post(&alice, "").await.expect("sent");
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.push(response.json::<Value>().await.expect("json")["id"].clone());
    }
    assert_ne!(ids[0], ids[1]);
}
