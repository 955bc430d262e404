//! What the user's controls do: drawing, undo and redo, clear, a picture to
//! start from, typing and giving the answer, and retrying. Buttons and
//! keys lead to the same callbacks.

use digits_web_api::Feedback as Answer;
use web_sys::Blob;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::Verdict;
use crate::components::drawing_pad::Change;
use crate::components::feedback::{confirmation, typed};
use crate::drawing::Brush;
use crate::hooks::pad::Pad;
use crate::hooks::shortcuts::use_shortcuts;
use crate::keyboard::Shortcut;
use crate::session::{Action, Problem, Session};
use crate::upload;

/// The page's callbacks.
#[derive(Clone, PartialEq)]
pub struct Controls {
    /// Pen down, before a stroke starts: after feedback, it starts the next drawing.
    pub on_start: Callback<()>,
    /// The drawing changed.
    pub on_change: Callback<Change>,
    /// Undo the last stroke.
    pub undo: Callback<()>,
    /// Redo it.
    pub redo: Callback<()>,
    /// Clear: the next drawing.
    pub clear: Callback<()>,
    /// Another brush was picked.
    pub brush: Callback<Brush>,
    /// Start a new drawing from an image file.
    pub file: Callback<Blob>,
    /// The user says what was drawn.
    pub give: Callback<Answer>,
    /// The user typed in "No, it is".
    pub typed: Callback<String>,
    /// Try again what failed.
    pub retry: Callback<()>,
    /// Something in the history changed (a record deleted or relabelled).
    pub history_changed: Callback<()>,
}

/// The callbacks over `pad` and `session`, and the keyboard shortcuts.
#[hook]
pub fn use_controls(pad: &Pad, session: &UseReducerHandle<Session>) -> Controls {
    let dispatch = session.dispatcher();
    let is_final = session.is_final();
    let changed = {
        let (pad, dispatch) = (pad.clone(), dispatch.clone());
        move |settled: bool| dispatch.dispatch(Action::Changed { settled, empty: pad.is_empty() })
    };
    let on_change = {
        let changed = changed.clone();
        Callback::from(move |change: Change| changed(change == Change::StrokeEnded))
    };
    let clear = {
        let (pad, dispatch) = (pad.clone(), dispatch.clone());
        Callback::from(move |()| {
            pad.clear();
            dispatch.dispatch(Action::NewDrawing);
        })
    };
    let on_start = {
        let clear = clear.clone();
        Callback::from(move |()| {
            if is_final {
                clear.emit(());
            }
        })
    };
    let undo = {
        let (pad, changed) = (pad.clone(), changed.clone());
        Callback::from(move |()| {
            if !is_final && pad.undo() {
                changed(true);
            }
        })
    };
    let redo = {
        let (pad, changed) = (pad.clone(), changed.clone());
        Callback::from(move |()| {
            if !is_final && pad.redo() {
                changed(true);
            }
        })
    };
    let file = {
        let (pad, dispatch, now) = (pad.clone(), dispatch.clone(), session.now);
        Callback::from(move |blob: Blob| {
            let (pad, dispatch, changed) = (pad.clone(), dispatch.clone(), changed.clone());
            spawn_local(async move {
                match upload::picture(blob).await {
                    Ok(picture) => {
                        pad.start_from(picture);
                        dispatch.dispatch(Action::NewDrawing);
                        changed(true);
                    }
                    Err(message) => dispatch.dispatch(Action::Failed(now, Problem { message, offline: false })),
                }
            });
        })
    };
    let brush = {
        let handle = pad.brush.clone();
        Callback::from(move |b: Brush| handle.set(b))
    };
    let give = {
        let dispatch = dispatch.clone();
        Callback::from(move |answer: Answer| dispatch.dispatch(Action::Give(answer)))
    };
    let typed_text = {
        let dispatch = dispatch.clone();
        Callback::from(move |text: String| dispatch.dispatch(Action::Typed(text)))
    };
    let retry = {
        let dispatch = dispatch.clone();
        Callback::from(move |()| dispatch.dispatch(Action::Retry))
    };
    let history_changed = Callback::from(move |()| dispatch.dispatch(Action::Saved));

    {
        let (give, typed_text, clear, undo, redo) =
            (give.clone(), typed_text.clone(), clear.clone(), undo.clone(), redo.clone());
        let reading = session.stored_reading().map(|r| r.prediction.clone());
        let label = session.label.clone();
        use_shortcuts(Callback::from(move |shortcut| match shortcut {
            Shortcut::Digit(d) => {
                // A number is typed digit by digit; a digit replaces the last.
                let number = reading.as_ref().is_some_and(|r| r.verdict == Verdict::SeveralDigits);
                let text = if number && label.len() < 8 { format!("{label}{d}") } else { d.to_string() };
                typed_text.emit(text);
            }
            Shortcut::Confirm => {
                if let Some(answer) = typed(&label).or_else(|| reading.as_deref().map(confirmation)) {
                    give.emit(answer);
                }
            }
            Shortcut::Clear => clear.emit(()),
            Shortcut::Undo => undo.emit(()),
            Shortcut::Redo => redo.emit(()),
        }));
    }

    Controls { on_start, on_change, undo, redo, clear, brush, file, give, typed: typed_text, retry, history_changed }
}
