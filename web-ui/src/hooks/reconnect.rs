//! When the connection is lost: drawing and the page's own answers go on,
//! and what waited (the store, and feedback given meanwhile) is retried by
//! itself once the server answers again. The browser's `online` event
//! tries at once; otherwise the server is asked every few seconds, since a
//! browser can be "online" while the server is out of reach.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use web_sys::Event;
use yew::platform::spawn_local;
use yew::platform::time::sleep;
use yew::prelude::*;

use crate::api;
use crate::hooks::window_event::use_window_event;
use crate::session::{Action, Session};

/// How often a lost server is asked whether it is back.
const PROBE_EVERY: Duration = Duration::from_secs(2);

/// Retries what waited as soon as the server answers again.
#[hook]
pub fn use_reconnect(session: &UseReducerHandle<Session>) {
    let offline = session.problem.as_ref().is_some_and(|p| p.offline);
    {
        let dispatch = session.dispatcher();
        use_window_event(
            "online",
            Callback::from(move |_: Event| {
                if offline {
                    dispatch.dispatch(Action::Retry);
                }
            }),
        );
    }
    let dispatch = session.dispatcher();
    use_effect_with((offline, session.attempt), move |(offline, _)| {
        let stopped = Rc::new(Cell::new(false));
        if *offline {
            let stopped = stopped.clone();
            spawn_local(async move {
                loop {
                    sleep(PROBE_EVERY).await;
                    if stopped.get() {
                        return;
                    }
                    if api::reachable().await {
                        if !stopped.get() {
                            dispatch.dispatch(Action::Retry);
                        }
                        return;
                    }
                }
            });
        }
        move || stopped.set(true)
    });
}
