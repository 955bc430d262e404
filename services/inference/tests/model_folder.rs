//! Serving a model from `DIGITS_MODEL_DIR` instead of the embedded one.

mod support;

use digits_inference::config::{Config, ModelSource};
use digits_inference::error::ModelError;
use digits_inference::model::{EMBEDDED_CARD, EMBEDDED_ONNX, Model};
use digits_proto::inference::v1 as pb;
use digits_test_support::TempDir;
use support::TestServer;

#[tokio::test]
async fn a_model_folder_is_served_instead_of_the_embedded_model() {
    let dir = TempDir::new("model-folder");
    std::fs::write(dir.join("model.onnx"), EMBEDDED_ONNX).expect("onnx");
    let card = EMBEDDED_CARD.replace("\"version\": \"1.3.0\"", "\"version\": \"9.9.9-test\"");
    std::fs::write(dir.join("model.json"), card).expect("card");

    let config = Config { model: ModelSource::Dir(dir.path().to_path_buf()), ..Config::default() };
    let mut server = TestServer::with_config(config).await;
    let info = server.client.get_model_info(pb::GetModelInfoRequest {}).await.expect("info").into_inner();
    assert_eq!(info.version, "9.9.9-test");
    server.stop().await;
}

#[test]
fn a_broken_model_folder_is_a_clear_start_up_error() {
    let dir = TempDir::new("model-broken");
    let source = ModelSource::Dir(dir.path().to_path_buf());
    assert!(matches!(Model::load(&source), Err(ModelError::Io { .. })), "missing files");

    std::fs::write(dir.join("model.json"), EMBEDDED_CARD).expect("card");
    std::fs::write(dir.join("model.onnx"), b"not an onnx file").expect("onnx");
    let err = Model::load(&source).err().expect("garbage ONNX fails");
    assert!(matches!(err, ModelError::Onnx(_)), "{err}");

    std::fs::write(dir.join("model.onnx"), EMBEDDED_ONNX).expect("onnx");
    std::fs::write(dir.join("model.json"), "{\"name\": 1}").expect("card");
    assert!(matches!(Model::load(&source), Err(ModelError::Card(_))), "bad card");
}

#[test]
fn a_model_trained_with_other_preprocessing_still_loads_and_is_told_apart() {
    let embedded: serde_json::Value = serde_json::from_str(EMBEDDED_CARD).expect("card");
    let mut card: digits_inference::model::ModelCard = serde_json::from_value(embedded.clone()).expect("card");
    assert!(card.matches_preprocessing(), "the embedded model is trained for this build's preprocessing");
    // A card from before fine strokes were thickened says nothing of them.
    let mut old = embedded;
    old["preprocessing"].as_object_mut().expect("preprocessing").remove("stroke_width");
    card = serde_json::from_value(old.clone()).expect("old card");
    assert!(!card.matches_preprocessing());
    let dir = TempDir::new("model-old-preprocessing");
    std::fs::write(dir.join("model.onnx"), EMBEDDED_ONNX).expect("onnx");
    std::fs::write(dir.join("model.json"), old.to_string()).expect("card");
    assert!(Model::load(&ModelSource::Dir(dir.path().to_path_buf())).is_ok(), "it still serves");
}
