//! `cargo xtask lifecycle`: the feedback loop end to end at small scale
//! (`training/e2e/test_lifecycle.py`): people's labelled drawings through the
//! API, a one-epoch fine-tune from the gateway's export, the new version
//! published to the model repository and loaded without a restart as the
//! canary, its share of new visitors, and the statistics split by version.
//! Runs against the three release binaries, with the training venv.

use std::process::Command;

use crate::local_stack::{LocalStack, UNLIMITED};
use crate::setup;

/// The share of visitors the canary takes in the test, in percent.
const CANARY_PERCENT: &str = "30";

pub fn lifecycle_test() -> anyhow::Result<()> {
    let python = setup::python_venv()?;
    let work = std::env::temp_dir().join(format!("digits-lifecycle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let repository = work.join("repository");
    let models = repository.join("digits-mnist-cnn");
    std::fs::create_dir_all(&models)?;
    // The canary is configured before it exists: it takes traffic once published.
    std::fs::write(
        models.join("serving.json"),
        format!(r#"{{"current": "2.0.0", "canary": {{"version": "2.1.0", "percent": {CANARY_PERCENT}}}}}"#),
    )?;
    let token = "lifecycle-test-operators-token";
    let repository_env = repository.to_string_lossy().into_owned();
    let stack = LocalStack::start_all(
        &[("DIGITS_MODEL_REPOSITORY", repository_env.as_str()), ("DIGITS_MODEL_POLL_S", "1")],
        &[&UNLIMITED[..], &[("DIGITS_ADMIN_TOKEN", token)]].concat(),
    )?;
    let result = setup::run(
        Command::new(python)
            .args(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "training/e2e/test_lifecycle.py"])
            .env("DIGITS_HTTP", stack.url.trim_start_matches("http://"))
            .env("DIGITS_ADMIN_TOKEN", token)
            .env("DIGITS_REPOSITORY", &repository)
            .env("DIGITS_CANARY_PERCENT", CANARY_PERCENT)
            .env("DIGITS_OUT", work.join("runs"))
            .env("DIGITS_MNIST_DIR", setup::mnist_dir()?),
    );
    drop(stack);
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&work);
    }
    result
}
