//! The page: it lays out the components over the drawing's state
//! ([`use_recognition`]) and the user's controls ([`use_controls`]).

use yew::prelude::*;

use crate::api::{self, ModelInfo};
use crate::components::answer::{AnswerPanel, announcement};
use crate::components::details::DetailsPanel;
use crate::components::drawing_pad::DrawingPad;
use crate::components::feedback::FeedbackPanel;
use crate::components::history::History;
use crate::components::stats::StatsPanel;
use crate::components::tools::Tools;
use crate::hooks::controls::use_controls;
use crate::hooks::pad::use_pad;
use crate::hooks::paste::use_paste;
use crate::hooks::recognition::use_recognition;
use crate::hooks::reconnect::use_reconnect;

/// The serving model, read once.
#[hook]
fn use_model() -> Option<ModelInfo> {
    let model = use_state(|| None::<ModelInfo>);
    {
        let model = model.clone();
        use_effect_with((), move |()| {
            yew::platform::spawn_local(async move {
                if let Ok(info) = api::model().await {
                    model.set(Some(info));
                }
            });
        });
    }
    (*model).clone()
}

/// The footer's account of the model that answers: the version that read
/// the latest drawing (else the current one) and its MNIST test accuracy.
fn model_line(info: &ModelInfo, answered_by: Option<&str>) -> String {
    let version = answered_by.unwrap_or(&info.version);
    let accuracy = info.versions.iter().find(|v| v.version == version).map_or(info.test_accuracy, |v| v.test_accuracy);
    format!("Model {version} · {:.2}% on the MNIST test set", accuracy * 100.0)
}

/// The whole page.
#[component]
pub fn App() -> Html {
    let pad = use_pad();
    let session = use_recognition(pad.canvas.clone());
    let controls = use_controls(&pad, &session);
    let model = use_model();
    use_paste(controls.file.clone());
    use_reconnect(&session);

    let stored = session.stored_reading().cloned();
    let shown = session.shown().cloned();
    let answerable = session.answerable().map(|r| r.prediction.clone());
    // While a canary runs, this visitor may be answered by it rather than the current version.
    let answered_by = session.reading.as_ref().map(|r| r.prediction.model_version.clone());
    let (reads, p50, p99) = crate::local_model::timings();
    let (can_undo, can_redo) = pad.can_undo_redo();
    html! {
        <>
        <header class="top">
            <h1>{"Digits"}</h1>
            <p class="tagline">{"Draw a digit, or a number with a little gap between its digits. The model reads it as you draw."}</p>
        </header>
        <main class="layout">
            <section class="card draw" aria-label="Drawing">
                <DrawingPad pad={pad.clone()} empty={session.empty} on_start={controls.on_start.clone()}
                    on_change={controls.on_change.clone()} on_file={controls.file.clone()} />
                <Tools can_undo={can_undo && !session.is_final()} can_redo={can_redo && !session.is_final()}
                    brush={*pad.brush} on_brush={controls.brush.clone()} on_undo={controls.undo.clone()} on_redo={controls.redo.clone()}
                    on_clear={controls.clear.clone()} on_file={controls.file.clone()} />
            </section>
            <div class="side">
                <AnswerPanel reading={shown.clone()} empty={session.empty} pending={session.pending()} too_small={session.is_too_small()}
                    stored={stored.is_some()} problem={session.problem.clone()} on_retry={controls.retry.clone()}
                    revision={format!("{}.{}", session.now.drawing, session.now.revision)}
                    local_said={session.local_said.as_ref().filter(|(r, _)| *r == session.now.revision).map(|(_, s)| AttrValue::from(s.clone()))} />
                <FeedbackPanel answer={answerable} drawn={!session.empty} waiting={stored.is_none()}
                    label={AttrValue::from(session.label.clone())} state={session.feedback.clone()}
                    on_label={controls.typed.clone()} on_submit={controls.give.clone()} />
                <DetailsPanel reading={shown} preview={session.preview_images()}
                    matches={session.preview_matches_server()} />
            </div>
        </main>
        <p id="announce" class="sr-only" aria-live="polite">{announcement(&session)}</p>
        <div class="lower">
            <StatsPanel refresh={session.saves} />
            <History refresh={session.saves} on_changed={controls.history_changed.clone()} />
        </div>
        <footer class="foot" id="footer" data-local={session.local.to_string()} data-reads={reads.to_string()}
            data-read-p50-ms={format!("{p50:.3}")} data-read-p99-ms={format!("{p99:.3}")}>
            { model.map(|info| model_line(&info, answered_by.as_deref())).unwrap_or_default() }
            if session.local { {" · drafts read in your browser"} }
        </footer>
        </>
    }
}

#[cfg(test)]
mod tests {
    use digits_web_api::{ServedVersion, VersionRole};

    use super::*;

    #[test]
    fn the_footer_names_the_version_that_answered_while_a_canary_runs() {
        let version = |version: &str, role, traffic_percent, test_accuracy| ServedVersion {
            version: version.into(),
            role,
            traffic_percent,
            test_accuracy,
            origin: "repository".into(),
        };
        let info = ModelInfo {
            name: "digits-mnist-cnn".into(),
            version: "1.3.0".into(),
            test_accuracy: 0.9953,
            per_digit_accuracy: vec![0.99; 10],
            parameters: 87_155,
            multiply_adds: 2_581_472,
            created: "2026-11-28T02:04:19Z".into(),
            versions: vec![
                version("1.4.0", VersionRole::Canary, 10, 0.9962),
                version("1.3.0", VersionRole::Current, 90, 0.9953),
            ],
        };
        assert_eq!(model_line(&info, None), "Model 1.3.0 · 99.53% on the MNIST test set");
        assert_eq!(model_line(&info, Some("1.4.0")), "Model 1.4.0 · 99.62% on the MNIST test set");
    }
}
