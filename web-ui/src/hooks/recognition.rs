//! Recognising and storing the drawing. Each step starts when the
//! [`Session`] says it is due and reports back to it: a draft read in the
//! page on every change once its model has loaded (before that, at most one
//! draft read by the server at a time; never stored), a store when the pen
//! has rested (the first creates the drawing's record, later ones replace
//! its reading), and the feedback once the record holds the drawing as it is.

use std::rc::Rc;
use std::time::Duration;

use digits_preprocess::{ImageView, Limits, PixelFormat, PreprocessError};
use digits_web_api::Feedback as Answer;
use web_sys::HtmlCanvasElement;
use yew::platform::spawn_local;
use yew::platform::time::sleep;
use yew::prelude::*;

use crate::api::{self, ApiError};
use crate::drawing::{self, SIDE};
use crate::local_model::LocalModel;
use crate::session::{Action, Problem, Session, Target};

/// How long the pen must rest before the drawing is stored.
pub const STORE_AFTER: Duration = Duration::from_millis(700);
/// The least time between two draft reads.
const DRAFT_GAP: Duration = Duration::from_millis(60);

type Dispatch = UseReducerDispatcher<Session>;

/// Why the drawing has no digits to read.
#[derive(Debug, PartialEq)]
enum Unread {
    /// A tap or a dot, no larger than the pen: too small to read.
    TooSmall,
    /// No ink, or no canvas to read it from.
    Nothing,
}

/// The drawing's digits, split and put into 28x28 form here exactly as the
/// server would.
fn local_parts(canvas: &NodeRef) -> Result<Vec<digits_preprocess::Part>, Unread> {
    let ctx = canvas.cast::<HtmlCanvasElement>().and_then(|c| drawing::context(&c)).ok_or(Unread::Nothing)?;
    let rgba = drawing::pixels(&ctx).ok_or(Unread::Nothing)?;
    let view = ImageView::new(SIDE, SIDE, PixelFormat::Rgba8, &rgba).map_err(|_| Unread::Nothing)?;
    digits_preprocess::to_parts(&view, &Limits::default()).map_err(|e| match e {
        PreprocessError::TooSmall { .. } => Unread::TooSmall,
        _ => Unread::Nothing,
    })
}

/// The parts' images: 784 bytes per digit, left to right.
fn images(parts: &[digits_preprocess::Part]) -> Vec<u8> {
    parts.iter().flat_map(|p| p.image.pixels().iter().copied()).collect()
}

/// [`local_parts`]' images.
fn local_preview(canvas: &NodeRef) -> Result<Vec<u8>, Unread> {
    local_parts(canvas).map(|parts| images(&parts))
}

/// The key that names drawing `drawing` of this page load to the server,
/// so that a store sent again after a lost answer finds the same record.
fn drawing_key(drawing: u32) -> String {
    thread_local! {
        static PAGE: String = format!("{:016x}", (js_sys::Math::random() * 2f64.powi(53)) as u64);
    }
    PAGE.with(|page| format!("{page}-{drawing}"))
}

/// Reads the drawing in the page, at once.
fn read_local(canvas: &NodeRef, model: &LocalModel, t: Target, dispatch: &Dispatch) {
    let parts = match local_parts(canvas) {
        Err(Unread::TooSmall) => return dispatch.dispatch(Action::TooSmall(t)),
        parts => parts.ok(),
    };
    let preview = parts.as_ref().map(|p| Rc::new(images(p)));
    let prediction = parts.and_then(|parts| model.read(parts)).map(Rc::new);
    dispatch.dispatch(Action::LocalRead(t, preview, prediction));
}

fn problem(error: ApiError) -> Problem {
    Problem { message: error.message, offline: error.offline }
}

async fn read_draft(canvas: NodeRef, t: Target, dispatch: Dispatch) {
    let preview = match local_preview(&canvas) {
        Err(Unread::TooSmall) => {
            dispatch.dispatch(Action::TooSmall(t));
            None
        }
        preview => preview.ok().map(Rc::new),
    };
    dispatch.dispatch(Action::DraftStarted(t, preview.clone()));
    if let Some(input) = preview {
        match api::draft(&input).await {
            Ok(prediction) => dispatch.dispatch(Action::DraftAnswered(t, Rc::new(prediction))),
            Err(e) => dispatch.dispatch(Action::Failed(t, problem(e))),
        }
        sleep(DRAFT_GAP).await;
    }
    dispatch.dispatch(Action::DraftDone(t));
}

async fn store(canvas: NodeRef, t: Target, record: Option<String>, dispatch: Dispatch) {
    let input = match local_preview(&canvas) {
        Ok(input) => Rc::new(input),
        // Nothing to store; the page says why.
        Err(Unread::TooSmall) => return dispatch.dispatch(Action::TooSmall(t)),
        Err(Unread::Nothing) => {
            let nothing = Problem { message: "Draw a digit first.".into(), offline: false };
            return dispatch.dispatch(Action::StoreFailed(t, nothing));
        }
    };
    dispatch.dispatch(Action::StoreStarted(t, input.clone()));
    let key = drawing_key(t.drawing);
    let stored = match record {
        None => api::store(&input, &key).await,
        Some(id) => match api::revise(&id, t.revision, &input).await {
            // The record was deleted, or made final, elsewhere (the history,
            // another tab): the drawing goes on as a new record.
            Err(ApiError { status: Some(404 | 409), .. }) => api::store(&input, &format!("{key}-{}", t.revision)).await,
            revised => revised,
        },
    };
    match stored {
        Ok(prediction) => dispatch.dispatch(Action::Stored(t, Rc::new(prediction))),
        Err(e) => dispatch.dispatch(Action::StoreFailed(t, problem(e))),
    }
}

async fn save_feedback(t: Target, id: String, answer: Answer, dispatch: Dispatch) {
    dispatch.dispatch(Action::FeedbackSaving(t));
    match api::feedback(&id, &answer).await {
        Ok(_) => dispatch.dispatch(Action::FeedbackSaved(t, answer)),
        Err(e) => {
            if e.offline {
                // Sent again by itself when the connection is back.
                dispatch.dispatch(Action::Failed(t, problem(e.clone())));
            }
            dispatch.dispatch(Action::FeedbackFailed(t, answer, e.message));
        }
    }
}

/// The drawing's state, with its reads, stores and feedback running.
#[hook]
pub fn use_recognition(canvas: NodeRef) -> UseReducerHandle<Session> {
    let session = use_reducer(Session::new);
    let attempt = session.attempt;
    let model = use_state(|| None::<Rc<LocalModel>>);
    {
        // After the first paint: the page is usable at once, and reads drafts
        // on the server until its own model is there.
        let (model, dispatch) = (model.clone(), session.dispatcher());
        use_effect_with((), move |()| {
            spawn_local(async move {
                match LocalModel::load().await {
                    Ok(loaded) => {
                        model.set(Some(Rc::new(loaded)));
                        dispatch.dispatch(Action::ModelReady);
                    }
                    Err(reason) => web_sys::console::warn_1(&format!("drafts are read by the server: {reason}").into()),
                }
            });
        });
    }
    {
        let (canvas, dispatch, model) = (canvas.clone(), session.dispatcher(), (*model).clone());
        use_effect_with(session.next_local(), move |due| {
            if let (Some(t), Some(model)) = (*due, model) {
                read_local(&canvas, &model, t, &dispatch);
            }
        });
    }
    {
        let (canvas, dispatch) = (canvas.clone(), session.dispatcher());
        use_effect_with((session.next_draft(), attempt), move |(due, _)| {
            if let Some(t) = *due {
                spawn_local(read_draft(canvas, t, dispatch));
            }
        });
    }
    {
        let dispatch = session.dispatcher();
        use_effect_with(session.next_rest(), move |due| {
            if let Some(t) = *due {
                spawn_local(async move {
                    sleep(STORE_AFTER).await;
                    dispatch.dispatch(Action::Rested(t));
                });
            }
        });
    }
    {
        let dispatch = session.dispatcher();
        use_effect_with((session.next_store(), attempt), move |(due, _)| {
            if let Some((t, record)) = due.clone() {
                spawn_local(store(canvas, t, record, dispatch));
            }
        });
    }
    {
        let dispatch = session.dispatcher();
        use_effect_with(session.next_feedback(), move |due| {
            if let Some((t, id, answer)) = due.clone() {
                spawn_local(save_feedback(t, id, answer, dispatch));
            }
        });
    }
    session
}
