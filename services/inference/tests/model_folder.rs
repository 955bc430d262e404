//! Serving a model from `DIGITS_MODEL_DIR` instead of the embedded one.

mod support;

use std::path::PathBuf;

use digits_inference::config::{Config, ModelSource};
use digits_inference::error::ModelError;
use digits_inference::model::{EMBEDDED_CARD, EMBEDDED_ONNX, Model};
use digits_proto::inference::v1 as pb;
use support::TestServer;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("digits-model-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test]
async fn a_model_folder_is_served_instead_of_the_embedded_model() {
    let dir = temp_dir("folder");
    std::fs::write(dir.join("model.onnx"), EMBEDDED_ONNX).expect("onnx");
    let card = EMBEDDED_CARD.replace("\"version\": \"1.1.0\"", "\"version\": \"9.9.9-test\"");
    std::fs::write(dir.join("model.json"), card).expect("card");

    let config = Config { model: ModelSource::Dir(dir.clone()), ..Config::default() };
    let mut server = TestServer::with_config(config).await;
    let info = server.client.get_model_info(pb::GetModelInfoRequest {}).await.expect("info").into_inner();
    assert_eq!(info.version, "9.9.9-test");
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_broken_model_folder_is_a_clear_start_up_error() {
    let dir = temp_dir("broken");
    let source = ModelSource::Dir(dir.clone());
    assert!(matches!(Model::load(&source), Err(ModelError::Io { .. })), "missing files");

    std::fs::write(dir.join("model.json"), EMBEDDED_CARD).expect("card");
    std::fs::write(dir.join("model.onnx"), b"not an onnx file").expect("onnx");
    let err = Model::load(&source).err().expect("garbage ONNX fails");
    assert!(matches!(err, ModelError::Onnx(_)), "{err}");

    std::fs::write(dir.join("model.onnx"), EMBEDDED_ONNX).expect("onnx");
    std::fs::write(dir.join("model.json"), "{\"name\": 1}").expect("card");
    assert!(matches!(Model::load(&source), Err(ModelError::Card(_))), "bad card");
    let _ = std::fs::remove_dir_all(dir);
}
