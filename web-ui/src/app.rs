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

/// The whole page.
#[component]
pub fn App() -> Html {
    let pad = use_pad();
    let session = use_recognition(pad.canvas.clone());
    let controls = use_controls(&pad, &session);
    let model = use_model();
    use_paste(controls.file.clone());

    let stored = session.stored_reading().cloned();
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
                <AnswerPanel reading={session.reading.clone()} empty={session.empty} pending={session.pending()}
                    stored={stored.is_some()} problem={session.problem.clone()} on_retry={controls.retry.clone()}
                    revision={format!("{}.{}", session.now.drawing, session.now.revision)} />
                <FeedbackPanel answer={stored.map(|r| r.prediction)} drawn={!session.empty}
                    label={AttrValue::from(session.label.clone())} state={session.feedback.clone()}
                    on_label={controls.typed.clone()} on_submit={controls.give.clone()} />
                <DetailsPanel reading={session.reading.clone()} preview={session.preview_images()}
                    matches={session.preview_matches_server()} />
            </div>
        </main>
        <p id="announce" class="sr-only" aria-live="polite">{announcement(&session)}</p>
        <div class="lower">
            <StatsPanel refresh={session.saves} />
            <History refresh={session.saves} on_changed={controls.history_changed.clone()} />
        </div>
        <footer class="foot">{ model.map(|info| format!("Model {} · {:.2}% on the MNIST test set",
            info.version, info.test_accuracy * 100.0)).unwrap_or_default() }</footer>
        </>
    }
}
