//! The model repository against a real server: versions checked before they
//! serve, swapped in and out under load without a failed call, named by
//! callers, and a canary that answers its share of callers, each always by
//! the same version.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use digits_inference::config::{Config, ModelSource};
use digits_inference::error::ModelError;
use digits_inference::model::{EMBEDDED_CARD, EMBEDDED_GOLDEN, EMBEDDED_ONNX, Model};
use digits_inference::repository;
use digits_proto::inference::metadata::ErrorKind;
use digits_proto::inference::v1 as pb;
use digits_test_support::TempDir;
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{TestServer, mnist_image};
use tokio::time::Instant;

const NAME: &str = "digits-mnist-cnn";

/// The embedded model published to `root` as `version`, with its card
/// changed by `edit`.
fn publish(root: &Path, version: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    publish_tampered(root, version, edit, |_| {})
}

/// As [`publish`], with the files changed by `tamper` before they are published.
fn publish_tampered(root: &Path, version: &str, edit: impl FnOnce(&mut Value), tamper: impl FnOnce(&Path)) -> PathBuf {
    let model = TempDir::new("model-to-publish");
    let mut card: Value = serde_json::from_str(EMBEDDED_CARD).expect("card");
    card["version"] = version.into();
    edit(&mut card);
    std::fs::write(model.join("model.onnx"), EMBEDDED_ONNX).expect("onnx");
    std::fs::write(model.join("golden.json"), EMBEDDED_GOLDEN).expect("golden");
    std::fs::write(model.join("model.json"), card.to_string()).expect("card");
    tamper(model.path());
    repository::publish(root, model.path()).expect("published")
}

fn serving(root: &Path, policy: &str) {
    let models = root.join(NAME);
    std::fs::create_dir_all(&models).expect("model folder");
    std::fs::write(models.join("serving.json.new"), policy).expect("policy");
    std::fs::rename(models.join("serving.json.new"), models.join("serving.json")).expect("policy in place");
}

fn golden_digit() -> Vec<u8> {
    let golden: Value = serde_json::from_str(EMBEDDED_GOLDEN).expect("fixture");
    golden["cases"][0]["pixels"].as_array().expect("pixels").iter().map(|p| p.as_u64().expect("byte") as u8).collect()
}

async fn start(root: &Path) -> TestServer {
    let config = Config { repository: Some(root.to_owned()), poll: Duration::from_millis(50), ..Config::default() };
    TestServer::with_config(config).await
}

async fn info(server: &TestServer, version: &str) -> Result<pb::ModelInfo, tonic::Status> {
    let request = pb::GetModelInfoRequest { model_version: version.into() };
    server.client.clone().get_model_info(request).await.map(tonic::Response::into_inner)
}

/// The versions served, newest first, each as `version:role:percent`.
fn roles(info: &pb::ModelInfo) -> Vec<String> {
    info.versions
        .iter()
        .map(|v| {
            let role = match v.role() {
                pb::VersionRole::Current => "current",
                pb::VersionRole::Canary => "canary",
                pb::VersionRole::Available => "available",
                pb::VersionRole::Unspecified => "?",
            };
            format!("{}:{role}:{}", v.version, v.traffic_percent)
        })
        .collect()
}

/// Waits until the server's `ModelInfo` satisfies `done`.
async fn until(server: &TestServer, what: &str, done: impl Fn(&pb::ModelInfo) -> bool) -> pb::ModelInfo {
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        let now = info(server, "").await.expect("model info");
        if done(&now) {
            return now;
        }
        assert!(Instant::now() < give_up, "{what}: never happened; serving {:?}", roles(&now));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The version that answered a call with `key`.
async fn answered_by(server: &TestServer, version: &str, key: &str) -> Result<String, tonic::Status> {
    let request = pb::PredictRequest {
        image: Some(mnist_image(&golden_digit())),
        model_version: version.into(),
        routing_key: key.into(),
    };
    Ok(server.client.clone().predict(request).await?.into_inner().model_version)
}

#[test]
fn a_version_that_fails_a_check_is_refused_with_the_reason() {
    let root = TempDir::new("repository-checks");
    let load = |folder: &Path| Model::load(&ModelSource::Dir(folder.to_owned()));
    let good = publish(root.path(), "3.0.0", |_| {});
    assert!(load(&good).is_ok(), "the embedded files load from a folder");

    let missing = root.join("missing");
    assert!(matches!(load(&missing), Err(ModelError::Io { .. })), "missing files");
    let garbage = publish(root.path(), "3.0.1", |_| {});
    std::fs::write(garbage.join("model.onnx"), b"not an onnx file").expect("onnx");
    assert!(matches!(load(&garbage), Err(ModelError::Checksum { .. })), "a file that is not the card's");
    let garbage_sum = format!("{:x}", Sha256::digest(b"not an onnx file"));
    let unparsable = publish(root.path(), "3.0.2", |card| card["file"]["sha256"] = garbage_sum.into());
    std::fs::write(unparsable.join("model.onnx"), b"not an onnx file").expect("onnx");
    let error = load(&unparsable).err().expect("garbage fails");
    assert!(matches!(error, ModelError::Onnx(_)), "{error}");
    let bad_card = publish(root.path(), "3.0.3", |_| {});
    std::fs::write(bad_card.join("model.json"), "{\"name\": 1}").expect("card");
    assert!(matches!(load(&bad_card), Err(ModelError::Card(_))), "bad card");
    let no_golden = publish(root.path(), "3.0.4", |card| {
        card.as_object_mut().expect("card").remove("golden");
    });
    let error = load(&no_golden).err().expect("no fixture");
    assert!(error.to_string().contains("golden fixture"), "{error}");
    let wrong_golden = publish(root.path(), "3.0.5", |_| {});
    let mut fixture: Value = serde_json::from_str(EMBEDDED_GOLDEN).expect("fixture");
    fixture["cases"][3]["logits"][0] = (fixture["cases"][3]["logits"][0].as_f64().expect("logit") + 0.5).into();
    std::fs::write(wrong_golden.join("golden.json"), fixture.to_string()).expect("fixture");
    let error = load(&wrong_golden).err().expect("a model that does not reproduce its fixture");
    assert!(matches!(error, ModelError::Golden(_)) && error.to_string().contains("case 3"), "{error}");
    let escaping = publish(root.path(), "3.0.6", |card| card["golden"]["file"] = "../golden.json".into());
    assert!(matches!(load(&escaping), Err(ModelError::Golden(_))), "the fixture must sit beside the card");
}

#[test]
fn a_model_trained_with_other_preprocessing_still_loads_and_is_told_apart() {
    let embedded: Value = serde_json::from_str(EMBEDDED_CARD).expect("card");
    let card: digits_inference::model::ModelCard = serde_json::from_value(embedded).expect("card");
    assert!(card.matches_preprocessing(), "the embedded model is trained for this build's preprocessing");
    // A card from before fine strokes were thickened says nothing of them.
    let root = TempDir::new("repository-old-preprocessing");
    let folder = publish(root.path(), "1.0.0", |card| {
        card["preprocessing"].as_object_mut().expect("preprocessing").remove("stroke_width");
    });
    let model = Model::load(&ModelSource::Dir(folder)).expect("it still serves");
    assert!(!model.card.matches_preprocessing());
}

#[tokio::test]
async fn without_a_repository_the_embedded_model_is_the_only_version() {
    let server = TestServer::start().await;
    let now = info(&server, "").await.expect("info");
    assert_eq!(roles(&now), ["2.0.0:current:100"]);
    assert_eq!(now.versions[0].origin, "embedded");
    server.stop().await;
}

#[tokio::test]
async fn versions_come_and_go_under_load_without_a_failed_call() {
    digits_test_support::init_test_log();
    let root = TempDir::new("repository-reload");
    let server = start(root.path()).await;
    assert_eq!(roles(&info(&server, "").await.expect("info")), ["2.0.0:current:100"], "an empty repository");

    // Callers that never stop: each counts its answers, by version.
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..6)
        .map(|i| {
            let (client, stop) = (server.client.clone(), stop.clone());
            let image = mnist_image(&golden_digit());
            tokio::spawn(async move {
                let (mut answered, mut failed) = (HashMap::<String, u32>::new(), Vec::new());
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let request = pb::PredictRequest {
                        image: Some(image.clone()),
                        model_version: String::new(),
                        routing_key: format!("caller-{i}-{}", n % 50),
                    };
                    match client.clone().predict(request).await {
                        Ok(answer) => *answered.entry(answer.into_inner().model_version).or_default() += 1,
                        Err(status) => failed.push(status.to_string()),
                    }
                    n += 1;
                }
                (answered, failed)
            })
        })
        .collect();
    let settle = || tokio::time::sleep(Duration::from_millis(300));

    // Added: the newest version becomes current.
    publish(root.path(), "2.1.0", |_| {});
    until(&server, "2.1.0 current", |i| i.version == "2.1.0").await;
    settle().await;
    // Replaced in place: the new copy serves.
    publish(root.path(), "2.1.0", |card| card["created"] = "2026-12-03T00:00:00Z".into());
    until(&server, "2.1.0 replaced", |i| i.created == "2026-12-03T00:00:00Z").await;
    settle().await;
    // A broken new version is refused; a broken copy of a serving one keeps the good copy.
    let broken = publish_tampered(
        root.path(),
        "2.2.0",
        |_| {},
        |model| {
            std::fs::write(model.join("model.onnx"), &EMBEDDED_ONNX[..1000]).expect("truncated");
        },
    );
    let replaced = |card: &mut Value| card["created"] = "2026-12-04T00:00:00Z".into();
    publish_tampered(root.path(), "2.1.0", replaced, |model| {
        std::fs::write(model.join("golden.json"), "{\"cases\": []}").expect("empty fixture");
    });
    // A good version published after them: once it is seen, so were they.
    let marker = publish(root.path(), "0.9.0", |_| {});
    let now =
        until(&server, "the pass after the broken copies", |i| i.versions.iter().any(|v| v.version == "0.9.0")).await;
    assert_eq!(roles(&now), ["2.1.0:current:100", "2.0.0:available:0", "0.9.0:available:0"], "2.2.0 is refused");
    assert_eq!(now.created, "2026-12-03T00:00:00Z", "the good copy of 2.1.0 goes on serving");
    settle().await;
    // A canary, then a pinned current version, then 2.1.0 removed.
    std::fs::remove_dir_all(&broken).expect("2.2.0 removed");
    std::fs::remove_dir_all(&marker).expect("0.9.0 removed");
    serving(root.path(), r#"{"current": "2.0.0", "canary": {"version": "2.1.0", "percent": 30}}"#);
    until(&server, "canary", |i| roles(i) == ["2.1.0:canary:30", "2.0.0:current:70"]).await;
    settle().await;
    std::fs::remove_dir_all(root.join(NAME).join("2.1.0")).expect("2.1.0 removed");
    until(&server, "2.1.0 gone", |i| roles(i) == ["2.0.0:current:100"]).await;
    settle().await;

    stop.store(true, Ordering::Relaxed);
    let (mut answered, mut failed) = (HashMap::<String, u32>::new(), Vec::new());
    for caller in callers {
        let (a, f) = caller.await.expect("caller");
        for (version, n) in a {
            *answered.entry(version).or_default() += n;
        }
        failed.extend(f);
    }
    let total: u32 = answered.values().sum();
    println!("reload under load: {total} calls, {} failed, by version {answered:?}", failed.len());
    assert!(failed.is_empty(), "{} calls failed: {:?}", failed.len(), &failed[..failed.len().min(5)]);
    assert!(answered.get("2.1.0").is_some_and(|&n| n > 100) && answered.get("2.0.0").is_some_and(|&n| n > 100));
    assert!(!answered.contains_key("2.2.0") && !answered.contains_key("0.9.0"), "{answered:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_canary_answers_its_share_of_callers_each_always_by_the_same_version() {
    let root = TempDir::new("repository-canary");
    publish(root.path(), "2.1.0", |_| {});
    serving(root.path(), r#"{"current": "2.0.0", "canary": {"version": "2.1.0", "percent": 20}}"#);
    let server = start(root.path()).await;
    assert_eq!(roles(&info(&server, "").await.expect("info")), ["2.1.0:canary:20", "2.0.0:current:80"]);

    let keys: Vec<String> = (0..1000).map(|i| format!("v:{i:016x}")).collect();
    let mut first = Vec::new();
    for key in &keys {
        first.push(answered_by(&server, "", key).await.expect("answer"));
    }
    let canary = first.iter().filter(|v| *v == "2.1.0").count();
    println!("canary share: {canary} of 1000 callers ({:.1}%), configured 20%", canary as f64 / 10.0);
    assert!((160..=240).contains(&canary), "{canary} of 1000 callers on the canary");
    for (key, version) in keys.iter().zip(&first).take(200) {
        assert_eq!(&answered_by(&server, "", key).await.expect("again"), version, "{key} changed version");
    }
    // Calls without a key are spread: exactly the share of each hundred.
    let mut anonymous = 0;
    for _ in 0..100 {
        anonymous += usize::from(answered_by(&server, "", "").await.expect("answer") == "2.1.0");
    }
    assert_eq!(anonymous, 20);
    server.stop().await;
}

#[tokio::test]
async fn a_call_may_name_a_version_and_one_not_served_is_not_found() {
    let root = TempDir::new("repository-named");
    publish(root.path(), "2.1.0", |card| card["created"] = "2026-12-03T00:00:00Z".into());
    let server = start(root.path()).await;
    assert_eq!(answered_by(&server, "", "someone").await.expect("current"), "2.1.0");
    assert_eq!(answered_by(&server, "2.0.0", "someone").await.expect("named"), "2.0.0");
    let embedded = info(&server, "2.0.0").await.expect("info of 2.0.0");
    assert_eq!((embedded.version.as_str(), embedded.versions.len()), ("2.0.0", 2));
    assert_eq!(info(&server, "").await.expect("current").created, "2026-12-03T00:00:00Z");

    for asked in ["9.9.9", "latest"] {
        let status = answered_by(&server, asked, "").await.expect_err("not served");
        assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
        assert_eq!(ErrorKind::of(&status), Some(ErrorKind::UnknownVersion));
        assert!(status.message().contains("2.1.0, 2.0.0"), "{}", status.message());
        assert_eq!(info(&server, asked).await.expect_err("no info").code(), tonic::Code::NotFound);
    }
    let long = answered_by(&server, "", &"k".repeat(129)).await.expect_err("routing key too long");
    assert_eq!(long.code(), tonic::Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn a_broken_serving_file_keeps_the_last_choice() {
    let root = TempDir::new("repository-policy");
    publish(root.path(), "2.1.0", |_| {});
    serving(root.path(), r#"{"current": "2.0.0"}"#);
    let server = start(root.path()).await;
    assert_eq!(roles(&info(&server, "").await.expect("info")), ["2.1.0:available:0", "2.0.0:current:100"]);
    serving(root.path(), r#"{"current": "2.1.0", "canary": "#);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(roles(&info(&server, "").await.expect("info")), ["2.1.0:available:0", "2.0.0:current:100"]);
    // A pinned version that goes away: the newest takes over.
    serving(root.path(), r#"{"current": "2.1.0"}"#);
    until(&server, "2.1.0 pinned", |i| i.version == "2.1.0").await;
    serving(root.path(), r#"{"current": "1.2.0"}"#);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(info(&server, "").await.expect("info").version, "2.1.0", "the last current version stays");
    server.stop().await;
}

#[tokio::test]
async fn the_release_before_canaries_the_embedded_one_and_takes_over_on_a_roll_back() {
    // 1.3.0, the release before, as an operator publishes it from the
    // repository's own folder: a canary of the embedded release against it,
    // then the embedded release current, then rolled back to 1.3.0.
    let root = TempDir::new("repository-previous-release");
    let previous = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mnist/1.3.0");
    repository::publish(root.path(), &previous).expect("1.3.0 published");
    let embedded: Value = serde_json::from_str(EMBEDDED_CARD).expect("card");
    let embedded = embedded["version"].as_str().expect("version").to_owned();
    serving(root.path(), &format!(r#"{{"current": "1.3.0", "canary": {{"version": "{embedded}", "percent": 50}}}}"#));
    let server = start(root.path()).await;
    until(&server, "the canary", |i| roles(i) == [format!("{embedded}:canary:50"), "1.3.0:current:50".into()]).await;
    let mut answered: HashMap<String, usize> = HashMap::new();
    for key in 0..200 {
        *answered.entry(answered_by(&server, "", &format!("person-{key}")).await.expect("answer")).or_default() += 1;
    }
    assert!(answered.values().all(|&n| n > 50) && answered.len() == 2, "{answered:?}");

    serving(root.path(), &format!(r#"{{"current": "{embedded}"}}"#));
    until(&server, "promoted", |i| i.version == embedded).await;
    assert_eq!(answered_by(&server, "", "person-1").await.expect("answer"), embedded);
    serving(root.path(), r#"{"current": "1.3.0"}"#);
    until(&server, "rolled back", |i| i.version == "1.3.0").await;
    for key in 0..20 {
        assert_eq!(answered_by(&server, "", &format!("person-{key}")).await.expect("answer"), "1.3.0");
    }
    server.stop().await;
}
