//! Recent predictions with their inputs and feedback.

use std::rc::Rc;

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ListQuery, Record, Verdict};
use crate::components::thumbnail::Thumbnail;
use digits_web_api::Source;

/// What a record was read as, in words: the digit, the number, or "not a digit".
fn read_as(r: &Record) -> String {
    match r.verdict {
        Verdict::NotADigit => "not a digit".to_owned(),
        _ => r.number.clone(),
    }
}

/// What the user said was drawn.
fn answered(r: &Record) -> Option<String> {
    match (r.true_label, &r.true_number) {
        (Some(10), _) => Some("not a digit".to_owned()),
        (Some(label), _) => Some(label.to_string()),
        (None, Some(number)) => Some(number.clone()),
        (None, None) => None,
    }
}

/// Props of [`History`].
#[derive(Properties, PartialEq)]
pub struct HistoryProps {
    /// Changes whenever the history may have changed.
    pub refresh: u32,
}

fn time_of(ms: i64) -> String {
    let date = js_sys::Date::new(&(ms as f64).into());
    format!("{:02}:{:02}:{:02}", date.get_hours(), date.get_minutes(), date.get_seconds())
}

/// A table of one page of records.
pub fn records_table(records: &[Record]) -> Html {
    html! {
        <table class="history">
            <thead><tr><th>{"Drawing"}</th><th>{"Read as"}</th><th>{"Sure"}</th><th>{"Feedback"}</th><th>{"Time"}</th></tr></thead>
            <tbody>
            { for records.iter().map(|r| {
                let feedback = match (answered(r), r.correct) {
                    (Some(_), Some(true)) => html! { <span class="ok">{"✓ right"}</span> },
                    (Some(label), _) => html! { <span class="wrong">{format!("✗ was {label}")}</span> },
                    _ => html! { <span class="muted">{"—"}</span> },
                };
                html! {
                    <tr data-id={r.id.clone()} data-digit={r.digit.to_string()}
                        data-true-label={r.true_label.map(|l| l.to_string())}>
                        <td><Thumbnail pixels={Rc::new(r.input.clone())} label={format!("Drawing read as {}", read_as(r))} /></td>
                        <td class="num">{read_as(r)}</td>
                        <td class="num">{if r.verdict == Verdict::NotADigit { "—".to_owned() } else { format!("{:.0}%", r.confidence * 100.0) }}</td>
                        <td>{feedback}</td>
                        <td class="muted">{time_of(r.created_at_ms)}{if r.source == Source::Grpc { " · gRPC" } else { "" }}</td>
                    </tr>
                }
            }) }
            </tbody>
        </table>
    }
}

/// The latest predictions.
#[component]
pub fn History(props: &HistoryProps) -> Html {
    let page = use_state(|| None::<Result<Rc<Vec<Record>>, String>>);
    {
        let page = page.clone();
        use_effect_with(props.refresh, move |_| {
            spawn_local(async move {
                let result = api::history(&ListQuery { limit: Some(15), ..ListQuery::default() })
                    .await
                    .map(|p| Rc::new(p.predictions))
                    .map_err(|e| e.0);
                page.set(Some(result));
            });
        });
    }
    let body = match &*page {
        None => html! { <p class="hint">{"Loading…"}</p> },
        Some(Err(message)) => html! { <p class="error">{message.clone()}</p> },
        Some(Ok(records)) if records.is_empty() => html! { <p class="hint">{"No predictions yet."}</p> },
        Some(Ok(records)) => records_table(records),
    };
    html! {
        <section class="card" id="history" aria-label="Recent predictions">
            <h2>{"History"}</h2>
            { body }
        </section>
    }
}
