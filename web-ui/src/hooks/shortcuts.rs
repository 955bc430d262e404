//! The keyboard shortcuts of [`crate::keyboard`], listened to on the whole
//! page. Keys typed into a text field are left to it; Enter on a focused
//! button is that button's, except on the drawing tools (`data-tool`),
//! where it confirms like anywhere else: Enter never clears the drawing.

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};
use yew::prelude::*;

use crate::hooks::window_event::use_window_event;
use crate::keyboard::{Shortcut, shortcut};

/// Calls `on_shortcut` for every shortcut pressed while the page is open.
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
            let tool = target.as_ref().is_some_and(|t| t.has_attribute("data-tool"));
            if shortcut == Shortcut::Confirm && tag.as_deref() == Some("BUTTON") && !tool {
                return;
            }
            event.prevent_default();
            on_shortcut.emit(shortcut);
        }),
    );
}
