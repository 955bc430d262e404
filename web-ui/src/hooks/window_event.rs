//! One event of the window, listened to while the component is mounted.
//! The listener is installed once and always calls the latest callback.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::Event;
use yew::prelude::*;

/// Calls `on_event` with every `name` event on the window.
#[hook]
pub fn use_window_event<E>(name: &'static str, on_event: Callback<E>)
where
    E: JsCast + 'static,
{
    let latest = use_mut_ref(|| on_event.clone());
    *latest.borrow_mut() = on_event;
    use_effect_with(name, move |name| {
        let listener = Listener::install(name, latest);
        move || drop(listener)
    });
}

struct Listener {
    name: &'static str,
    closure: Option<Closure<dyn Fn(Event)>>,
}

impl Listener {
    fn install<E: JsCast + 'static>(name: &'static str, latest: Rc<RefCell<Callback<E>>>) -> Self {
        let closure = Closure::<dyn Fn(Event)>::new(move |event: Event| latest.borrow().emit(event.unchecked_into()));
        let Some(window) = web_sys::window() else { return Self { name, closure: None } };
        let _ = window.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        Self { name, closure: Some(closure) }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let (Some(window), Some(closure)) = (web_sys::window(), self.closure.take()) {
            let _ = window.remove_event_listener_with_callback(self.name, closure.as_ref().unchecked_ref());
        }
    }
}
