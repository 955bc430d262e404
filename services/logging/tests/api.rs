//! The logging gRPC API against real servers on loopback ports, with real
//! PostgreSQL (throwaway clusters) and SQLite databases.

use std::time::Duration;

use digits_logging::config::Config;
use digits_logging::startup::{Application, SERVICE_NAME};
use digits_proto::logging::v1 as pb;
use digits_test_postgres::{Cluster, TestDatabase};
use digits_test_support::{Running, TempDir, loopback};
use pb::get_prediction_request::Prediction as Lookup;
use pb::record_feedback_request::Prediction as Feedback;
use tonic::Code;
use tonic::transport::Channel;

type Client = pb::logging_client::LoggingClient<Channel>;

struct Server {
    url: String,
    client: Client,
    running: Running,
}

async fn start(database_url: String) -> Server {
    let config = Config {
        addr: loopback(),
        metrics_addr: loopback(),
        database_url,
        db_timeout: Duration::from_millis(1500),
        ..Config::default()
    };
    let app = Application::build(config).await.expect("server starts");
    let url = format!("http://{}", app.local_addr().expect("addr"));
    let running = Running::spawn(|stop| app.run_until_stopped(stop));
    let client = Client::connect(url.clone()).await.expect("connects");
    Server { url, client, running }
}

impl Server {
    async fn stop(self) {
        self.running.stop().await;
    }
}

fn request(id: &str, digit: u32) -> pb::LogPredictionRequest {
    let mut probabilities = vec![0.0; 10];
    probabilities[digit as usize] = 1.0;
    pb::LogPredictionRequest {
        request_id: id.into(),
        predicted_digit: digit,
        confidence: 1.0,
        probabilities,
        model_version: "1.1.0".into(),
        input: vec![9; 784],
        source: pb::Source::Web as i32,
        latency_us: 800,
        created_at_unix_ms: 0,
        owner: "visitor-a".into(),
        ..Default::default()
    }
}

fn part(x: u32, digit: u32, input: u8) -> pb::Part {
    let mut probabilities = vec![0.0; 10];
    probabilities[digit as usize] = 0.9;
    pb::Part {
        x,
        y: 3,
        width: 20,
        height: 30,
        digit,
        confidence: 0.9,
        probabilities,
        not_a_digit: 0.1,
        input: vec![input; 784],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_and_drawings_that_are_not_digits_are_stored_answered_and_counted() {
    let (_pg, _dir, urls) = backends();
    for url in urls {
        let server = start(url.clone()).await;
        let mut client = server.client.clone();
        // "42": two parts; the deciding one (the 2) is also the row's input.
        let number = pb::LogPredictionRequest {
            verdict: pb::Verdict::SeveralDigits as i32,
            number: "42".into(),
            parts: vec![part(10, 4, 1), part(40, 2, 9)],
            ..request("number", 2)
        };
        let stored = client.log_prediction(number).await.expect("log").into_inner().prediction.expect("row");
        assert_eq!((stored.verdict(), stored.number.as_str()), (pb::Verdict::SeveralDigits, "42"), "{url}");
        assert_eq!(stored.parts, vec![part(10, 4, 1), part(40, 2, 9)], "parts round-trip, inputs included");
        let doodle = pb::LogPredictionRequest {
            verdict: pb::Verdict::NotADigit as i32,
            number: String::new(),
            ..request("doodle", 0)
        };
        client.log_prediction(doodle).await.expect("log");
        client.log_prediction(request("seven", 7)).await.expect("log");
        // An older client: no verdict, no number, no parts.
        let old = pb::LogPredictionRequest { ..request("old", 5) };
        let old = client.log_prediction(old).await.expect("log").into_inner().prediction.expect("row");
        assert_eq!((old.verdict(), old.number.as_str(), old.parts.len()), (pb::Verdict::Digit, "5", 1));

        let answer = |id: &str, label: Option<u32>, number: Option<&str>| pb::RecordFeedbackRequest {
            prediction: Some(Feedback::RequestId(id.into())),
            true_label: label,
            true_number: number.map(Into::into),
            ..Default::default()
        };
        let right = client.record_feedback(answer("number", None, Some("42"))).await.expect("ok").into_inner();
        assert_eq!((right.true_label, right.true_number), (Some(11), None), "the number as read");
        let wrong = client.record_feedback(answer("number", None, Some("47"))).await.expect("ok").into_inner();
        assert_eq!((wrong.true_label, wrong.true_number.as_deref()), (Some(12), Some("47")), "another number");
        client.record_feedback(answer("doodle", Some(10), None)).await.expect("rejection was right");
        client.record_feedback(answer("seven", Some(10), None)).await.expect("a 7 that was no digit");
        for (bad, case) in [
            (answer("seven", Some(3), Some("42")), "both"),
            (answer("seven", None, None), "neither"),
            (answer("seven", None, Some("4")), "one digit as a number"),
            (answer("seven", None, Some("4x")), "not digits"),
            (answer("seven", None, Some("123456789")), "nine digits"),
        ] {
            let status = client.record_feedback(bad).await.expect_err(case);
            assert_eq!(status.code(), Code::InvalidArgument, "{case}");
        }

        let overall = client.get_stats(pb::GetStatsRequest::default()).await.expect("stats").into_inner().overall;
        let overall = overall.expect("overall");
        assert_eq!((overall.total, overall.labeled, overall.correct), (4, 3, 1), "{url}");
        assert_eq!((overall.numbers_labeled, overall.numbers_right), (1, 0));
        assert_eq!(overall.confusion[10 * 11 + 10], 1, "not a digit, read so");
        assert_eq!(overall.confusion[10 * 11 + 7], 1, "not a digit, read as 7");
        assert_eq!(overall.precision[10], 1.0, "every rejection was right");
        assert_eq!(overall.recall[10], 0.5, "one of two non-digits rejected");
        // The confusion cell "not a digit, read as not a digit" lists the doodle.
        let cell = pb::ListPredictionsRequest { digit: Some(10), true_label: Some(10), ..Default::default() };
        let cell = client.list_predictions(cell).await.expect("list").into_inner();
        assert_eq!(cell.predictions.iter().map(|p| p.request_id.as_str()).collect::<Vec<_>>(), ["doodle"]);
        let wrong = pb::ListPredictionsRequest { wrong_only: true, ..Default::default() };
        let wrong = client.list_predictions(wrong).await.expect("list").into_inner();
        assert_eq!(wrong.predictions.iter().map(|p| p.request_id.as_str()).collect::<Vec<_>>(), ["seven", "number"]);
        // Only single drawings are exported for retraining.
        let mut export = client.export_labeled(pb::ExportLabeledRequest::default()).await.expect("export").into_inner();
        let mut labels = Vec::new();
        while let Some(example) = export.message().await.expect("stream") {
            labels.push(example.true_label);
        }
        assert_eq!(labels, [10, 10]);
        server.stop().await;
    }
}

/// Each backend's database URL; the guards keep them alive for the test.
fn backends() -> (TestDatabase, TempDir, Vec<String>) {
    let pg = TestDatabase::new();
    let dir = TempDir::new("logging-api");
    let urls = vec![pg.url().to_owned(), format!("sqlite://{}", dir.join("digits.db").display())];
    (pg, dir, urls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_logs_is_stored_at_once_and_its_bad_entries_are_named() {
    let (_pg, _dir, urls) = backends();
    for url in urls {
        let server = start(url.clone()).await;
        let mut client = server.client.clone();
        let mut entries: Vec<_> = (0..300).map(|i| request(&format!("batch-{i}"), i % 10)).collect();
        entries.push(pb::LogPredictionRequest { input: vec![1; 10], ..request("bad-input", 3) });
        let answer = client
            .log_predictions(pb::LogPredictionsRequest { entries: entries.clone() })
            .await
            .expect("batch")
            .into_inner();
        assert_eq!(answer.created, 300, "{url}");
        assert_eq!(answer.rejected.len(), 1);
        assert_eq!(answer.rejected[0].request_id, "bad-input");
        assert!(answer.rejected[0].reason.contains("input"), "{}", answer.rejected[0].reason);
        // The same batch again: every entry is already stored.
        let again = client.log_predictions(pb::LogPredictionsRequest { entries }).await.expect("retry").into_inner();
        assert_eq!(again.created, 0);
        let stats = client.get_stats(pb::GetStatsRequest::default()).await.expect("stats").into_inner();
        assert_eq!(stats.overall.expect("overall").total, 300);
        for size in [0, 1001] {
            let entries = (0..size).map(|i| request(&format!("x-{i}"), 1)).collect();
            let status = client.log_predictions(pb::LogPredictionsRequest { entries }).await.expect_err("size");
            assert_eq!(status.code(), Code::InvalidArgument, "{size} entries");
        }
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_logs_are_each_stored_exactly_once() {
    let (_pg, _dir, urls) = backends();
    for url in urls {
        let server = start(url.clone()).await;
        let log_all = |ids: Vec<String>| {
            let calls: Vec<_> = ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| {
                    let mut client = server.client.clone();
                    tokio::spawn(async move { client.log_prediction(request(&id, (i % 10) as u32)).await })
                })
                .collect();
            async move {
                let mut created = 0;
                for call in calls {
                    created += usize::from(call.await.expect("task").expect("logged").into_inner().created);
                }
                created
            }
        };
        // 200 distinct predictions at once: all stored.
        assert_eq!(log_all((0..200).map(|i| format!("c-{i}")).collect()).await, 200, "{url}");
        // 100 concurrent retries of 50 of them: nothing new.
        assert_eq!(log_all((0..100).map(|i| format!("c-{}", i % 50)).collect()).await, 0, "{url}");
        let mut client = server.client.clone();
        let stats = client.get_stats(pb::GetStatsRequest::default()).await.expect("stats").into_inner();
        assert_eq!(stats.overall.expect("overall").total, 200, "{url}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_call_sees_only_its_owners_predictions() {
    let (_pg, _dir, urls) = backends();
    for url in urls {
        let server = start(url.clone()).await;
        let mut client = server.client.clone();
        client.log_prediction(request("mine", 3)).await.expect("log");
        let theirs = pb::LogPredictionRequest { owner: "visitor-b".into(), ..request("theirs", 4) };
        client.log_prediction(theirs).await.expect("log");
        let me = Some("visitor-a".to_owned());

        let feedback = pb::RecordFeedbackRequest {
            prediction: Some(Feedback::RequestId("theirs".into())),
            true_label: Some(1),
            owner: me.clone(),
            true_number: None,
        };
        let refused = client.record_feedback(feedback).await.expect_err("not mine");
        assert_eq!(refused.code(), Code::NotFound, "{url}");
        let get = pb::GetPredictionRequest { prediction: Some(Lookup::RequestId("theirs".into())), owner: me.clone() };
        assert_eq!(client.get_prediction(get).await.expect_err("not mine").code(), Code::NotFound);
        let own = pb::GetPredictionRequest { prediction: Some(Lookup::RequestId("mine".into())), owner: me.clone() };
        assert_eq!(client.get_prediction(own).await.expect("mine").into_inner().owner, "visitor-a");

        let list = pb::ListPredictionsRequest { owner: me.clone(), ..Default::default() };
        let page = client.list_predictions(list).await.expect("list").into_inner();
        assert_eq!(page.predictions.iter().map(|p| p.request_id.as_str()).collect::<Vec<_>>(), ["mine"]);
        let stats = client.get_stats(pb::GetStatsRequest { owner: me }).await.expect("stats").into_inner();
        assert_eq!(stats.overall.expect("overall").total, 1);
        let all = client.get_stats(pb::GetStatsRequest::default()).await.expect("stats").into_inner();
        assert_eq!(all.overall.expect("overall").total, 2);
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_listing_stats_and_export_work_end_to_end() {
    let (_pg, _dir, urls) = backends();
    for url in urls {
        let server = start(url.clone()).await;
        let mut client = server.client.clone();
        let mut ids = Vec::new();
        for i in 0..12u32 {
            let logged = client.log_prediction(request(&format!("e-{i}"), i % 10)).await.expect("log").into_inner();
            assert!(logged.created);
            ids.push(logged.prediction.expect("row").id);
        }
        // "Correct" on the first, a correction on the second.
        let correct = client
            .record_feedback(pb::RecordFeedbackRequest {
                prediction: Some(Feedback::Id(ids[0])),
                true_label: Some(0),
                ..Default::default()
            })
            .await
            .expect("ok");
        assert_eq!(correct.into_inner().true_label, Some(0));
        // By request id, as the gateway does.
        let by_request_id = pb::RecordFeedbackRequest {
            prediction: Some(Feedback::RequestId("e-1".into())),
            true_label: Some(7),
            ..Default::default()
        };
        let fixed = client.record_feedback(by_request_id).await.expect("ok");
        let fixed = fixed.into_inner();
        assert_eq!((fixed.predicted_digit, fixed.true_label), (1, Some(7)));
        assert!(fixed.feedback_at_unix_ms.is_some());

        let page = client
            .list_predictions(pb::ListPredictionsRequest { limit: 5, ..Default::default() })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(page.predictions.len(), 5);
        assert_eq!(page.predictions[0].id, ids[11]);
        let rest = client
            .list_predictions(pb::ListPredictionsRequest { limit: 50, before: page.next_before, ..Default::default() })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(rest.predictions.len(), 7);
        assert_eq!(rest.next_before, None, "last page");
        // A page exactly full of the last rows leads nowhere: no empty page after it.
        let exact = client
            .list_predictions(pb::ListPredictionsRequest { limit: 7, before: page.next_before, ..Default::default() })
            .await
            .expect("list")
            .into_inner();
        assert_eq!((exact.predictions.len(), exact.next_before), (7, None));
        let wrong = client
            .list_predictions(pb::ListPredictionsRequest { wrong_only: true, ..Default::default() })
            .await
            .expect("list")
            .into_inner();
        assert_eq!(wrong.predictions.iter().map(|p| p.id).collect::<Vec<_>>(), vec![ids[1]]);
        let cell = pb::ListPredictionsRequest { digit: Some(1), true_label: Some(7), ..Default::default() };
        let cell = client.list_predictions(cell).await.expect("list").into_inner();
        assert_eq!(cell.predictions.iter().map(|p| p.id).collect::<Vec<_>>(), vec![ids[1]]);
        let fetched =
            pb::GetPredictionRequest { prediction: Some(Lookup::RequestId("e-1".into())), ..Default::default() };
        assert_eq!(client.get_prediction(fetched).await.expect("get").into_inner().id, ids[1]);

        let stats = client.get_stats(pb::GetStatsRequest::default()).await.expect("stats").into_inner();
        let overall = stats.overall.expect("overall");
        assert_eq!((overall.total, overall.labeled, overall.correct), (12, 2, 1));
        assert_eq!(overall.accuracy, Some(0.5));
        assert_eq!(overall.confusion.len(), 121);
        assert_eq!(overall.confusion[7 * 11 + 1], 1, "true 7 predicted 1");
        assert_eq!(stats.by_model_version.len(), 1);

        let mut export =
            client.export_labeled(pb::ExportLabeledRequest { after_id: 0 }).await.expect("export").into_inner();
        let mut exported = Vec::new();
        while let Some(example) = export.message().await.expect("stream") {
            assert_eq!(example.input.len(), 784);
            exported.push((example.id, example.true_label));
        }
        assert_eq!(exported, vec![(ids[0], 0), (ids[1], 7)], "{url}");
        server.stop().await;
    }
}

#[tokio::test]
async fn bad_requests_are_rejected_with_the_right_codes() {
    let (_pg, _dir, urls) = backends();
    for url in urls {
        let server = start(url).await;
        let mut client = server.client.clone();
        let stored = client.log_prediction(request("ok", 4)).await.expect("log").into_inner().prediction.expect("row");
        let mut bad_cases: Vec<(pb::LogPredictionRequest, &str)> = Vec::new();
        let mut r = request("b1", 4);
        r.predicted_digit = 10;
        bad_cases.push((r, "predicted_digit"));
        let mut r = request("b2", 4);
        r.input = vec![0; 783];
        bad_cases.push((r, "input"));
        let mut r = request("b3", 4);
        r.probabilities.pop();
        bad_cases.push((r, "probabilities"));
        let mut r = request("b4", 4);
        r.source = pb::Source::Unspecified as i32;
        bad_cases.push((r, "source"));
        let mut r = request("", 4);
        r.request_id.clear();
        bad_cases.push((r, "request_id"));
        for (bad, field) in bad_cases {
            let status = client.log_prediction(bad).await.expect_err(field);
            assert_eq!(status.code(), Code::InvalidArgument, "{field}");
            assert!(status.message().contains(field), "{}", status.message());
        }
        for label in [11, 99] {
            let status = client
                .record_feedback(pb::RecordFeedbackRequest {
                    prediction: Some(Feedback::Id(stored.id)),
                    true_label: Some(label),
                    ..Default::default()
                })
                .await
                .expect_err("bad label");
            assert_eq!(status.code(), Code::InvalidArgument);
        }
        let status = client
            .record_feedback(pb::RecordFeedbackRequest {
                prediction: Some(Feedback::Id(424_242)),
                true_label: Some(3),
                ..Default::default()
            })
            .await
            .expect_err("x");
        assert_eq!(status.code(), Code::NotFound);
        let status = client
            .get_prediction(pb::GetPredictionRequest { prediction: Some(Lookup::Id(424_242)), ..Default::default() })
            .await
            .expect_err("unknown");
        assert_eq!(status.code(), Code::NotFound);
        let by_request_id = pb::RecordFeedbackRequest {
            prediction: Some(Feedback::RequestId("nobody".into())),
            true_label: Some(3),
            ..Default::default()
        };
        assert_eq!(client.record_feedback(by_request_id).await.expect_err("x").code(), Code::NotFound);
        // (Both at once cannot be sent: they are one oneof.) An empty request id is refused.
        let empty = pb::GetPredictionRequest { prediction: Some(Lookup::RequestId(String::new())), owner: None };
        assert_eq!(client.get_prediction(empty).await.expect_err("empty").code(), Code::InvalidArgument);
        let neither = pb::GetPredictionRequest::default();
        assert_eq!(client.get_prediction(neither).await.expect_err("neither").code(), Code::InvalidArgument);
        let status = client
            .list_predictions(pb::ListPredictionsRequest { digit: Some(12), ..Default::default() })
            .await
            .expect_err("digit");
        assert_eq!(status.code(), Code::InvalidArgument);
        // Nothing stored was touched.
        let again = client
            .get_prediction(pb::GetPredictionRequest { prediction: Some(Lookup::Id(stored.id)), ..Default::default() })
            .await
            .expect("get")
            .into_inner();
        assert_eq!(again, stored);
        let total = client
            .get_stats(pb::GetStatsRequest::default())
            .await
            .expect("stats")
            .into_inner()
            .overall
            .expect("o")
            .total;
        assert_eq!(total, 1);
        server.stop().await;
    }
}

/// Sends `log` until it is stored, while the service answers `UNAVAILABLE`
/// (the database is coming back), for at most 15 s; returns how long it took.
async fn logged_once_back(client: &mut Client, log: pb::LogPredictionRequest) -> Duration {
    let started = std::time::Instant::now();
    loop {
        match client.log_prediction(log.clone()).await {
            Ok(_) => return started.elapsed(),
            Err(s) if s.code() == Code::Unavailable && started.elapsed() < Duration::from_secs(15) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => panic!("not stored once the database was back: {s:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_gives_unavailable_then_recovers_without_losing_rows() {
    let mut cluster = Cluster::start().expect("private cluster");
    let server = start(cluster.url("postgres")).await;
    let mut client = server.client.clone();
    let timeout = Duration::from_secs(5);
    for i in 0..20 {
        client.log_prediction(request(&format!("before-{i}"), i % 10)).await.expect("logged");
    }
    digits_service_kit::healthcheck::check(&server.url, SERVICE_NAME, timeout).await.expect("serving");

    cluster.pause();
    let status = client.log_prediction(request("during", 1)).await.expect_err("database down");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let status = client.get_stats(pb::GetStatsRequest::default()).await.expect_err("database down");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // The health check reports the outage.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(digits_service_kit::healthcheck::check(&server.url, SERVICE_NAME, timeout).await.is_err());

    cluster.resume().expect("postgres back");
    // No restart of the service: the pool reconnects by itself.
    logged_once_back(&mut client, request("after", 2)).await;
    // The retry of a request that failed during the outage now succeeds.
    client.log_prediction(request("during", 1)).await.expect("retried");
    let total =
        client.get_stats(pb::GetStatsRequest::default()).await.expect("stats").into_inner().overall.expect("o").total;
    assert_eq!(total, 22, "20 before + the retried one + one after: nothing lost");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    digits_service_kit::healthcheck::check(&server.url, SERVICE_NAME, timeout).await.expect("serving again");
    server.stop().await;
}

/// A replicated PostgreSQL loses its primary: the service, given both
/// members in one multi-host URL, answers `UNAVAILABLE` at once while no
/// member takes writes, and finds the promoted standby by itself, with every
/// committed prediction and answer on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failover_the_service_finds_the_new_primary_with_every_committed_row() {
    let mut primary = Cluster::start().expect("primary");
    let standby = primary.standby(true).expect("synchronous standby");
    let server = start(Cluster::primary_url(&[&primary, &standby], "postgres")).await;
    let mut client = server.client.clone();
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(client.log_prediction(request(&format!("before-{i}"), i % 10)).await.expect("logged").into_inner());
    }
    let feedback = |id: i64, label: u32| pb::RecordFeedbackRequest {
        prediction: Some(Feedback::Id(id)),
        true_label: Some(label),
        ..Default::default()
    };
    let first = ids[0].prediction.as_ref().expect("row").id;
    client.record_feedback(feedback(first, 0)).await.expect("feedback committed");

    // The primary's machine is gone; the standby is not promoted yet.
    primary.kill();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let status = client.get_stats(pb::GetStatsRequest::default()).await.expect_err("no primary");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        let status = client.log_prediction(request("during", 1)).await.expect_err("no primary");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(started.elapsed() < Duration::from_secs(4), "a quick answer, not a hang: {:?}", started.elapsed());
    }

    standby.promote().expect("promoted");
    let waited = logged_once_back(&mut client, request("during", 1)).await;
    println!("writes again {waited:?} after the promotion");
    let stats = client.get_stats(pb::GetStatsRequest::default()).await.expect("stats").into_inner();
    let overall = stats.overall.expect("overall");
    assert_eq!((overall.total, overall.labeled), (21, 1), "20 before, the retried one; the answer kept");
    assert_eq!(standby.psql("postgres", "SELECT count(*) FROM predictions").expect("count").trim(), "21");
    server.stop().await;
}

#[tokio::test]
async fn reflection_lists_only_the_logging_and_health_services() {
    let dir = TempDir::new("logging-reflection");
    let server = start(format!("sqlite://{}", dir.join("r.db").display())).await;
    let listed = digits_service_kit::healthcheck::reflected_services(&server.url, Duration::from_secs(5))
        .await
        .expect("reflection");
    assert_eq!(listed, ["digits.logging.v1.Logging", "grpc.health.v1.Health"]);
    server.stop().await;
}
