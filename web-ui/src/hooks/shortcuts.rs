//! The keyboard shortcuts of [`crate::keyboard`], listened to on the whole
//! page. Keys typed into a text field are left to it; Enter on a focused
//! button is that button's, except on the drawing tools (`data-tool`),
//! where it confirms like anywhere else: Enter never clears the drawing.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{HtmlElement, KeyboardEvent};
use yew::prelude::*;

use crate::keyboard::{Shortcut, shortcut};

/// Calls `on_shortcut` for every shortcut pressed while the page is open.
#[hook]
pub fn use_shortcuts(on_shortcut: Callback<Shortcut>) {
    // The listener is installed once; it always calls the latest callback.
    let latest = use_mut_ref(|| on_shortcut.clone());
    *latest.borrow_mut() = on_shortcut;
    use_effect_with((), move |()| {
        let listener = install(latest);
        move || drop(listener)
    });
}

struct Listener(Option<Closure<dyn Fn(KeyboardEvent)>>);

impl Drop for Listener {
    fn drop(&mut self) {
        if let (Some(window), Some(closure)) = (web_sys::window(), self.0.take()) {
            let _ = window.remove_event_listener_with_callback("keydown", closure.as_ref().unchecked_ref());
        }
    }
}

fn install(latest: Rc<RefCell<Callback<Shortcut>>>) -> Listener {
    let closure = Closure::<dyn Fn(KeyboardEvent)>::new(move |event: KeyboardEvent| {
        let target = event.target().and_then(|t| t.dyn_into::<HtmlElement>().ok());
        let tag = target.as_ref().map(|t| t.tag_name());
        if matches!(tag.as_deref(), Some("INPUT" | "TEXTAREA" | "SELECT")) || event.alt_key() || event.meta_key() {
            return;
        }
        let Some(shortcut) = shortcut(&event.key(), event.ctrl_key(), event.shift_key()) else { return };
        if shortcut == Shortcut::Confirm && tag.as_deref() == Some("BUTTON") {
            let tool = target.as_ref().is_some_and(|t| t.has_attribute("data-tool"));
            if !tool {
                return;
            }
        }
        event.prevent_default();
        latest.borrow().emit(shortcut);
    });
    let Some(window) = web_sys::window() else { return Listener(None) };
    let _ = window.add_event_listener_with_callback("keydown", closure.as_ref().unchecked_ref());
    Listener(Some(closure))
}
