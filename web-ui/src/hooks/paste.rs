//! An image pasted anywhere on the page (Ctrl+V of a copied picture or
//! screenshot) starts a drawing from it. Text pasted into a field is left
//! to the field.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Blob, ClipboardEvent};
use yew::prelude::*;

/// Calls `on_image` with every image pasted on the page.
#[hook]
pub fn use_paste(on_image: Callback<Blob>) {
    let latest = use_mut_ref(|| on_image.clone());
    *latest.borrow_mut() = on_image;
    use_effect_with((), move |()| {
        let listener = install(latest);
        move || drop(listener)
    });
}

struct Listener(Option<Closure<dyn Fn(ClipboardEvent)>>);

impl Drop for Listener {
    fn drop(&mut self) {
        if let (Some(window), Some(closure)) = (web_sys::window(), self.0.take()) {
            let _ = window.remove_event_listener_with_callback("paste", closure.as_ref().unchecked_ref());
        }
    }
}

fn install(latest: Rc<RefCell<Callback<Blob>>>) -> Listener {
    let closure = Closure::<dyn Fn(ClipboardEvent)>::new(move |event: ClipboardEvent| {
        let files = event.clipboard_data().and_then(|data| data.files());
        let image = files.and_then(|files| {
            (0..files.length()).filter_map(|i| files.get(i)).find(|f| f.type_().starts_with("image/"))
        });
        if let Some(image) = image {
            event.prevent_default();
            latest.borrow().emit(image.into());
        }
    });
    let Some(window) = web_sys::window() else { return Listener(None) };
    let _ = window.add_event_listener_with_callback("paste", closure.as_ref().unchecked_ref());
    Listener(Some(closure))
}
