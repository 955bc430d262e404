//! Keyboard shortcuts, on the whole page: digits 0-9 pick the true label,
//! Enter confirms (the picked digit, or "correct"), Escape clears, and
//! Backspace or Ctrl+Z undoes the last stroke. Keys typed into a text field
//! are left to it.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::KeyboardEvent;
use yew::prelude::*;

/// A shortcut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    /// A digit key.
    Digit(u8),
    /// Enter.
    Confirm,
    /// Escape.
    Clear,
    /// Backspace or Ctrl+Z.
    Undo,
}

/// The shortcut of a key press, if any.
pub fn shortcut(key: &str, ctrl: bool) -> Option<Shortcut> {
    match key {
        "Enter" => Some(Shortcut::Confirm),
        "Escape" => Some(Shortcut::Clear),
        "Backspace" => Some(Shortcut::Undo),
        "z" | "Z" if ctrl => Some(Shortcut::Undo),
        _ if !ctrl && key.len() == 1 => key.parse::<u8>().ok().filter(|d| *d <= 9).map(Shortcut::Digit),
        _ => None,
    }
}

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
        let tag = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok()).map(|el| el.tag_name());
        if matches!(tag.as_deref(), Some("INPUT" | "TEXTAREA")) || event.alt_key() || event.meta_key() {
            return;
        }
        if let Some(shortcut) = shortcut(&event.key(), event.ctrl_key()) {
            // A focused button already answers Enter itself.
            if shortcut == Shortcut::Confirm && tag.as_deref() == Some("BUTTON") {
                return;
            }
            event.prevent_default();
            latest.borrow().emit(shortcut);
        }
    });
    let Some(window) = web_sys::window() else { return Listener(None) };
    let _ = window.add_event_listener_with_callback("keydown", closure.as_ref().unchecked_ref());
    Listener(Some(closure))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_shortcuts() {
        assert_eq!(shortcut("7", false), Some(Shortcut::Digit(7)));
        assert_eq!(shortcut("Enter", false), Some(Shortcut::Confirm));
        assert_eq!(shortcut("Escape", false), Some(Shortcut::Clear));
        assert_eq!(shortcut("z", true), Some(Shortcut::Undo));
        assert_eq!(shortcut("z", false), None);
        assert_eq!(shortcut("7", true), None);
        assert_eq!(shortcut("a", false), None);
    }
}
