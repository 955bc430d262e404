//! The page: drawing pad, answer, feedback, accuracy and history, and the
//! flow between them.
//!
//! While a stroke is drawn, the drawing is read continuously as a draft
//! (never logged), at most one request at a time. Shortly after the pen
//! rests, the drawing is logged once; feedback on a drawing not logged yet
//! logs it first. Every answer carries the drawing revision it belongs to.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use digits_preprocess::{ImageView, Limits, PixelFormat};
use web_sys::HtmlCanvasElement;
use yew::platform::spawn_local;
use yew::platform::time::sleep;
use yew::prelude::*;

use digits_web_api::Feedback as Answer;

use crate::api::{self, ApiError, ModelInfo};
use crate::components::drawing_pad::{Change, DrawingPad, SharedStrokes};
use crate::components::feedback::{self, FeedbackPanel};
use crate::components::history::History;
use crate::components::result::ResultPanel;
use crate::components::stats::StatsPanel;
use crate::drawing::{self, SIDE};
use crate::keyboard::{Shortcut, use_shortcuts};
use crate::session::{Action, Feedback, Session};

/// How long the pen must rest before a drawing is logged.
const LOG_AFTER: Duration = Duration::from_millis(700);
/// The least time between two draft reads.
const DRAFT_GAP: Duration = Duration::from_millis(60);

/// What the asynchronous tasks need to know at once, without a re-render.
#[derive(Default)]
struct Live {
    /// Bumped on every change of the drawing.
    revision: u32,
    /// The drawing changed since the last read.
    dirty: bool,
    /// A read loop runs.
    reading: bool,
    /// The logged prediction of a revision.
    logged: Option<(u32, String)>,
    /// The revision being logged.
    logging: Option<u32>,
    /// The revision whose feedback was saved.
    saved: Option<u32>,
}

type SharedLive = Rc<RefCell<Live>>;

/// Counts refreshes of the history and the figures.
#[derive(Default, PartialEq)]
struct Refresh(u32);

impl Reducible for Refresh {
    type Action = ();
    fn reduce(self: Rc<Self>, (): ()) -> Rc<Self> {
        Rc::new(Refresh(self.0.wrapping_add(1)))
    }
}

/// The drawing's digits, split and put into 28x28 form here exactly as the
/// server would: 784 bytes per digit, left to right.
fn local_preview(canvas: &HtmlCanvasElement) -> Option<Vec<u8>> {
    let ctx = drawing::context(canvas)?;
    let rgba = drawing::pixels(&ctx)?;
    let view = ImageView::new(SIDE, SIDE, PixelFormat::Rgba8, &rgba).ok()?;
    let parts = digits_preprocess::to_parts(&view, &Limits::default()).ok()?;
    Some(parts.iter().flat_map(|p| p.image.pixels().iter().copied()).collect())
}

/// Reads the drawing until it stops changing: one draft request at a time.
async fn read_loop(canvas: NodeRef, live: SharedLive, session: UseReducerDispatcher<Session>) {
    if std::mem::replace(&mut live.borrow_mut().reading, true) {
        return;
    }
    loop {
        let revision = {
            let mut l = live.borrow_mut();
            if !std::mem::take(&mut l.dirty) {
                l.reading = false;
                return;
            }
            l.revision
        };
        let Some(el) = canvas.cast::<HtmlCanvasElement>() else {
            live.borrow_mut().reading = false;
            return;
        };
        let preview = local_preview(&el).map(Rc::new);
        session.dispatch(Action::Preview { revision, preview: preview.clone() });
        if let Some(input) = preview {
            match api::predict(&input, false).await {
                Ok(prediction) => session.dispatch(Action::Answer { revision, prediction: Rc::new(prediction) }),
                Err(e) => session.dispatch(Action::Failed { revision, message: e.0 }),
            }
            sleep(DRAFT_GAP).await;
        }
    }
}

/// Logs the current drawing (once per revision) and returns its id.
async fn log_drawing(
    canvas: &NodeRef,
    live: &SharedLive,
    session: &UseReducerDispatcher<Session>,
    refresh: &UseReducerDispatcher<Refresh>,
) -> Result<String, ApiError> {
    let revision = live.borrow().revision;
    // Once per revision, even when the pen-rest timer and a click race.
    loop {
        {
            let l = live.borrow();
            if let Some((r, id)) = &l.logged
                && *r == revision
            {
                return Ok(id.clone());
            }
            if l.logging != Some(revision) {
                break;
            }
        }
        sleep(Duration::from_millis(20)).await;
    }
    live.borrow_mut().logging = Some(revision);
    let logged = async {
        let el = canvas.cast::<HtmlCanvasElement>().ok_or_else(|| ApiError("the drawing pad is gone".into()))?;
        let Some(input) = local_preview(&el) else {
            return Err(ApiError("Draw a digit first.".into()));
        };
        let prediction = api::predict(&input, true).await?;
        let id = prediction.id.clone().ok_or_else(|| ApiError("the server did not log the drawing".into()))?;
        live.borrow_mut().logged = Some((revision, id.clone()));
        session.dispatch(Action::Answer { revision, prediction: Rc::new(prediction) });
        refresh.dispatch(());
        Ok(id)
    }
    .await;
    live.borrow_mut().logging = None;
    logged
}

/// The whole page.
#[component]
pub fn App() -> Html {
    let session = use_reducer(Session::default);
    let refresh = use_reducer(Refresh::default);
    let canvas = use_node_ref();
    let strokes = use_state(SharedStrokes::default);
    let live: SharedLive = use_mut_ref(Live::default);
    let label = use_state(String::new);
    let model = use_state(|| None::<ModelInfo>);
    {
        let model = model.clone();
        use_effect_with((), move |()| {
            spawn_local(async move {
                if let Ok(info) = api::model().await {
                    model.set(Some(info));
                }
            });
        });
    }

    // The drawing changed: read it, and log it once the pen rests.
    let changed = {
        let (canvas, live, session) = (canvas.clone(), live.clone(), session.dispatcher());
        let refresh = refresh.dispatcher();
        Callback::from(move |change: Change| {
            let revision = {
                let mut l = live.borrow_mut();
                l.revision += 1;
                l.dirty = true;
                l.revision
            };
            spawn_local(read_loop(canvas.clone(), live.clone(), session.clone()));
            if change == Change::StrokeEnded {
                let (canvas, live, session, refresh) = (canvas.clone(), live.clone(), session.clone(), refresh.clone());
                spawn_local(async move {
                    sleep(LOG_AFTER).await;
                    let resting = live.borrow().revision == revision;
                    if resting && let Err(e) = log_drawing(&canvas, &live, &session, &refresh).await {
                        session.dispatch(Action::Failed { revision, message: e.0 });
                    }
                });
            }
        })
    };

    let clear = {
        let (canvas, live, session, strokes, label) =
            (canvas.clone(), live.clone(), session.dispatcher(), strokes.clone(), label.clone());
        Callback::from(move |()| {
            strokes.0.borrow_mut().clear();
            if let Some(ctx) = canvas.cast::<HtmlCanvasElement>().as_ref().and_then(drawing::context) {
                drawing::clear(&ctx);
            }
            live.borrow_mut().revision += 1;
            session.dispatch(Action::Reset);
            label.set(String::new());
        })
    };
    let undo = {
        let (canvas, strokes, changed) = (canvas.clone(), strokes.clone(), changed.clone());
        Callback::from(move |()| {
            if !strokes.0.borrow_mut().undo() {
                return;
            }
            if let Some(ctx) = canvas.cast::<HtmlCanvasElement>().as_ref().and_then(drawing::context) {
                drawing::repaint(&ctx, &strokes.0.borrow());
            }
            changed.emit(Change::StrokeEnded);
        })
    };
    // A new stroke after saved feedback starts the next drawing.
    let on_start = {
        let (live, clear) = (live.clone(), clear.clone());
        Callback::from(move |()| {
            let saved = {
                let l = live.borrow();
                l.saved == Some(l.revision)
            };
            if saved {
                clear.emit(());
            }
        })
    };

    let submit = {
        let busy = session.feedback == Feedback::Saving;
        let (canvas, live, session, refresh) =
            (canvas.clone(), live.clone(), session.dispatcher(), refresh.dispatcher());
        Callback::from(move |answer: Answer| {
            if busy {
                return;
            }
            let (canvas, live, session, refresh) = (canvas.clone(), live.clone(), session.clone(), refresh.clone());
            spawn_local(async move {
                session.dispatch(Action::Feedback(Feedback::Saving));
                let revision = live.borrow().revision;
                let saved = match log_drawing(&canvas, &live, &session, &refresh).await {
                    Ok(id) => api::feedback(&id, &answer).await.map(|_| ()),
                    Err(e) => Err(e),
                };
                match saved {
                    Ok(()) => {
                        live.borrow_mut().saved = Some(revision);
                        session.dispatch(Action::Feedback(Feedback::Saved(answer)));
                        refresh.dispatch(());
                    }
                    Err(e) => session.dispatch(Action::Feedback(Feedback::Failed(e.0))),
                }
            });
        })
    };

    let answer = session.answer.clone().filter(|_| session.preview.is_some());
    {
        let (label, submit, clear, undo) = (label.clone(), submit.clone(), clear.clone(), undo.clone());
        let shortcut_answer = answer.clone();
        use_shortcuts(Callback::from(move |shortcut| match shortcut {
            Shortcut::Digit(d) => label.set(d.to_string()),
            Shortcut::Confirm => {
                let typed = feedback::typed(&label);
                if let Some(answer) = typed.or_else(|| shortcut_answer.as_deref().map(feedback::confirmation)) {
                    submit.emit(answer);
                }
            }
            Shortcut::Clear => clear.emit(()),
            Shortcut::Undo => undo.emit(()),
        }));
    }

    let on_label = {
        let label = label.clone();
        Callback::from(move |text: String| label.set(text))
    };
    let footer = match &*model {
        Some(info) => format!("Model {} · {:.2}% on the MNIST test set", info.version, info.test_accuracy * 100.0),
        None => String::new(),
    };
    html! {
        <>
        <header class="top">
            <h1>{"Digits"}</h1>
            <p class="tagline">{"Draw a digit, or a number with a little gap between its digits. The model reads it as you draw."}</p>
        </header>
        <main class="layout">
            <section class="card draw" aria-label="Drawing">
                <DrawingPad canvas={canvas} strokes={(*strokes).clone()} {on_start} on_change={changed} />
                <div class="tools">
                    <button id="undo" onclick={undo.reform(|_: MouseEvent| ())}>{"↶ Undo"}</button>
                    <button id="clear" onclick={clear.reform(|_: MouseEvent| ())}>{"Clear"}</button>
                </div>
            </section>
            <div class="side">
                <ResultPanel answer={session.answer.clone().filter(|_| session.preview.is_some())}
                    preview={session.preview.clone()} matches={session.preview_matches_server()}
                    error={session.error.clone().map(AttrValue::from)} />
                <FeedbackPanel {answer} label={AttrValue::from((*label).clone())} state={session.feedback.clone()} {on_label} on_submit={submit} />
            </div>
        </main>
        <div class="lower">
            <StatsPanel refresh={refresh.0} />
            <History refresh={refresh.0} />
        </div>
        <footer class="foot">{footer}</footer>
        </>
    }
}
