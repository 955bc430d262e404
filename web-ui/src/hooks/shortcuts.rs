//! The keyboard shortcuts of [`crate::keyboard`]. They belong to the drawing
//! and its answer: they act when the focus is on the pad and its tools, on
//! the answer or feedback panels, or on nothing at all; elsewhere (the
//! history, the figures) keys are left to what has the focus, so Backspace
//! on a history button never undoes a stroke. Keys typed into a text field
//! are its own. Escape closes an open panel (a drawing from the history, a
//! confusion cell's examples) before it clears anything. Enter on a button is
//! that button's; on a drawing tool it does nothing, so Enter never clears,
//! and never records an answer from a button that says something else.

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};
use yew::prelude::*;

use crate::hooks::window_event::use_window_event;
use crate::keyboard::{Shortcut, shortcut};

/// Where the shortcuts act (with nothing focused too).
const OWNERS: &str = ".draw, #answer, #feedback";
/// The close buttons of the panels Escape closes first.
const PANELS: &str = "#close-record, #close-examples";

/// Calls `on_shortcut` for every shortcut pressed where shortcuts act.
#[hook]
pub fn use_shortcuts(on_shortcut: Callback<Shortcut>) {
    use_window_event(
        "keydown",
        Callback::from(move |event: KeyboardEvent| {
            let target = event.target().and_then(|t| t.dyn_into::<HtmlElement>().ok());
            let tag = target.as_ref().map(|t| t.tag_name());
            if matches!(tag.as_deref(), Some("INPUT" | "TEXTAREA" | "SELECT")) || event.alt_key() || event.meta_key() {
                return;
            }
            let Some(shortcut) = shortcut(&event.key(), event.ctrl_key(), event.shift_key()) else { return };
            if shortcut == Shortcut::Clear
                && let Some(close) = open_panel()
            {
                event.prevent_default();
                close.click();
                return;
            }
            let nothing_focused = target.is_none() || matches!(tag.as_deref(), Some("BODY" | "HTML"));
            let owned = target.as_ref().is_some_and(|t| t.closest(OWNERS).ok().flatten().is_some());
            if !(nothing_focused || owned) {
                return;
            }
            if shortcut == Shortcut::Confirm && tag.as_deref() == Some("BUTTON") {
                if target.as_ref().is_some_and(|t| t.has_attribute("data-tool")) {
                    event.prevent_default();
                }
                return;
            }
            event.prevent_default();
            on_shortcut.emit(shortcut);
        }),
    );
}

/// The close button of an open panel, if one is open.
fn open_panel() -> Option<HtmlElement> {
    let document = web_sys::window()?.document()?;
    document.query_selector(PANELS).ok().flatten()?.dyn_into().ok()
}
