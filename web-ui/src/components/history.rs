//! The visitor's own predictions, newest first, a page at a time, with the
//! date and time of each. A row opens its drawing, where the answer can be
//! given or changed and the drawing deleted.

use std::rc::Rc;

use digits_web_api::{Feedback as Answer, Source};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ListQuery, Record, Verdict};
use crate::components::feedback::typed;
use crate::components::thumbnail::Thumbnail;

/// A drawing as the model saw it: every part of a number side by side, or
/// the one image (records from before parts were kept have only that).
pub fn drawing(r: &Record, class: &'static str) -> Html {
    let label = format!("Drawing read as {}", read_as(r));
    if r.parts.len() > 1 {
        html! {
            <span class="drawing-parts" role="img" aria-label={label}>
                { for r.parts.iter().map(|p| html! {
                    <Thumbnail pixels={Rc::new(p.input.clone())} class={class} label="" />
                }) }
            </span>
        }
    } else {
        html! { <Thumbnail pixels={Rc::new(r.input.clone())} class={class} {label} /> }
    }
}

/// What "Correct" confirms for a record: what it was read as.
fn confirmation(r: &Record) -> Answer {
    match r.verdict {
        Verdict::Digit => Answer::digit(r.digit),
        Verdict::NotADigit => Answer::not_a_digit(),
        Verdict::SeveralDigits => Answer::number(r.number.clone()),
    }
}

/// Rows per page.
const PAGE: u32 = 10;

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

/// A time as the visitor's calendar shows it: "28 Nov 2026, 14:03:07".
fn date_time(ms: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let date = js_sys::Date::new(&(ms as f64).into());
    format!(
        "{} {} {}, {:02}:{:02}:{:02}",
        date.get_date(),
        MONTHS.get(date.get_month() as usize).copied().unwrap_or(""),
        date.get_full_year(),
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds()
    )
}

/// Props of [`History`].
#[derive(Properties, PartialEq)]
pub struct HistoryProps {
    /// Changes whenever the history may have changed.
    pub refresh: u32,
    /// A record was changed or deleted here.
    pub on_changed: Callback<()>,
}

/// One page, and the cursors that lead back to the pages before it.
#[derive(Clone, PartialEq, Default)]
struct Paging {
    /// The `before` of each page shown so far; the last is the current one.
    cursors: Vec<Option<i64>>,
}

impl Paging {
    fn current(&self) -> Option<i64> {
        self.cursors.last().copied().flatten()
    }
}

/// The history card.
#[component]
pub fn History(props: &HistoryProps) -> Html {
    let paging = use_state(|| Paging { cursors: vec![None] });
    let page = use_state(|| None::<Result<Rc<api::Page>, String>>);
    let open = use_state(|| None::<Record>);
    {
        let page = page.clone();
        let before = paging.current();
        use_effect_with((props.refresh, before), move |_| {
            spawn_local(async move {
                let query = ListQuery { limit: Some(PAGE), before, ..ListQuery::default() };
                page.set(Some(api::history(&query).await.map(Rc::new).map_err(|e| e.message)));
            });
        });
    }
    let older = {
        let (paging, page) = (paging.clone(), page.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(Ok(p)) = &*page
                && let Some(next) = p.next_before
            {
                let mut cursors = paging.cursors.clone();
                cursors.push(Some(next));
                paging.set(Paging { cursors });
            }
        })
    };
    let newer = {
        let paging = paging.clone();
        Callback::from(move |_: MouseEvent| {
            let mut cursors = paging.cursors.clone();
            if cursors.len() > 1 {
                cursors.pop();
                paging.set(Paging { cursors });
            }
        })
    };
    let on_open = {
        let open = open.clone();
        Callback::from(move |record: Record| open.set(Some(record)))
    };
    let on_close = {
        let open = open.clone();
        Callback::from(move |()| open.set(None))
    };
    let body = match &*page {
        None => html! { <p class="hint">{"Loading…"}</p> },
        Some(Err(message)) => html! { <p class="error">{message.clone()}</p> },
        Some(Ok(p)) if p.predictions.is_empty() && paging.cursors.len() == 1 => {
            html! { <p class="hint">{"Nothing yet: your drawings appear here."}</p> }
        }
        Some(Ok(p)) if p.predictions.is_empty() => {
            html! { <p class="hint" id="history-end">{"No older drawings."}</p> }
        }
        Some(Ok(p)) => records_table(&p.predictions, &on_open),
    };
    let has_older = matches!(&*page, Some(Ok(p)) if p.next_before.is_some());
    let page_number = paging.cursors.len();
    html! {
        <section class="card" id="history" aria-label="Your drawings">
            <h2>{"Your drawings"}</h2>
            { body }
            <nav class="pager" aria-label="History pages">
                <button id="history-newer" onclick={newer} disabled={page_number == 1}>{"← Newer"}</button>
                <span class="muted" id="history-page">{format!("Page {page_number}")}</span>
                <button id="history-older" onclick={older} disabled={!has_older}>{"Older →"}</button>
            </nav>
            if let Some(record) = (*open).clone() {
                <RecordView {record} {on_close} on_changed={props.on_changed.clone()} />
            }
        </section>
    }
}

/// A table of one page of records; each row opens its drawing.
pub fn records_table(records: &[Record], on_open: &Callback<Record>) -> Html {
    html! {
        <table class="history">
            <thead><tr><th>{"Drawing"}</th><th>{"Read as"}</th><th>{"Feedback"}</th><th>{"When"}</th></tr></thead>
            <tbody>
            { for records.iter().map(|r| {
                let feedback = match (answered(r), r.correct) {
                    (Some(_), Some(true)) => html! { <span class="ok">{"✓ right"}</span> },
                    (Some(label), _) => html! { <span class="wrong">{format!("✗ was {label}")}</span> },
                    _ => html! { <span class="muted">{"—"}</span> },
                };
                let onclick = { let (on_open, r) = (on_open.clone(), r.clone()); Callback::from(move |_: MouseEvent| on_open.emit(r.clone())) };
                html! {
                    <tr data-id={r.id.clone()} data-digit={r.digit.to_string()}
                        data-true-label={r.true_label.map(|l| l.to_string())}>
                        <td>
                            <button class="open" {onclick} aria-label={format!("Open the drawing read as {}, {}", read_as(r), date_time(r.created_at_ms))}>
                                { drawing(r, "") }
                            </button>
                        </td>
                        <td class="num">{read_as(r)}</td>
                        <td>{feedback}</td>
                        <td class="muted when">{date_time(r.created_at_ms)}{if r.source == Source::Grpc { " · gRPC" } else { "" }}</td>
                    </tr>
                }
            }) }
            </tbody>
        </table>
    }
}

/// Props of [`RecordView`].
#[derive(Properties, PartialEq)]
pub struct RecordProps {
    /// The record shown.
    pub record: Record,
    /// Close it.
    pub on_close: Callback<()>,
    /// It was relabelled or deleted.
    pub on_changed: Callback<()>,
}

/// One drawing from the history: its image and reading, the answer given
/// (which can be changed), and delete.
#[component]
pub fn RecordView(props: &RecordProps) -> Html {
    let record = use_state(|| props.record.clone());
    let text = use_state(String::new);
    let status = use_state(|| None::<Result<String, String>>);
    let view = use_node_ref();
    {
        let (record, status, view) = (record.clone(), status.clone(), view.clone());
        use_effect_with(props.record.clone(), move |r| {
            record.set(r.clone());
            status.set(None);
            // Opened below the table: bring it into sight.
            if let Some(view) = view.cast::<web_sys::Element>() {
                view.scroll_into_view_with_bool(false);
            }
        });
    }
    let save = {
        let (record, status, on_changed) = (record.clone(), status.clone(), props.on_changed.clone());
        Callback::from(move |answer: Answer| {
            let (record, status, on_changed) = (record.clone(), status.clone(), on_changed.clone());
            spawn_local(async move {
                match api::feedback(&record.id, &answer).await {
                    Ok(updated) => {
                        record.set(updated);
                        status.set(Some(Ok("Saved.".into())));
                        on_changed.emit(());
                    }
                    Err(e) => status.set(Some(Err(format!("Not saved: {}", e.message)))),
                }
            });
        })
    };
    let delete = {
        let (id, status, on_changed, on_close) =
            (record.id.clone(), status.clone(), props.on_changed.clone(), props.on_close.clone());
        Callback::from(move |_: MouseEvent| {
            let (id, status, on_changed, on_close) = (id.clone(), status.clone(), on_changed.clone(), on_close.clone());
            spawn_local(async move {
                match api::delete(&id).await {
                    Ok(()) => {
                        on_changed.emit(());
                        on_close.emit(());
                    }
                    Err(e) => status.set(Some(Err(format!("Not deleted: {}", e.message)))),
                }
            });
        })
    };
    let onsubmit = {
        let (text, save) = (text.clone(), save.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(answer) = typed(&text) {
                save.emit(answer);
            }
        })
    };
    let oninput = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            text.set(input.value());
        })
    };
    let not_a_digit = save.reform(|_: MouseEvent| Answer::not_a_digit());
    let correct = {
        let confirmed = confirmation(&record);
        save.reform(move |_: MouseEvent| confirmed.clone())
    };
    let r = &*record;
    html! {
        <div ref={view} class="record-view" id="record-view" role="region" aria-label="The drawing you opened" data-id={r.id.clone()}>
            <div class="record-head">
                { drawing(r, "large") }
                <div>
                    <p>{"Read as "}<strong>{read_as(r)}</strong>
                        if r.verdict != Verdict::NotADigit { {format!(", {:.0}% sure", r.confidence * 100.0)} }</p>
                    <p class="muted">{date_time(r.created_at_ms)}{format!(" · model {}", r.model_version)}</p>
                    <p id="record-answer">{ match answered(r) {
                        Some(label) => format!("Your answer: {label}"),
                        None => "No answer given yet.".to_owned(),
                    } }</p>
                </div>
            </div>
            <button id="record-correct" type="button" class="primary" onclick={correct}>
                { if r.verdict == Verdict::NotADigit { "✓ Right, not a digit".to_owned() } else { format!("✓ Correct, it is {}", read_as(r)) } }
            </button>
            <form class="correction" {onsubmit}>
                <label for="record-label">{"It is"}</label>
                <input id="record-label" type="text" inputmode="numeric" maxlength="8" pattern="[0-9]{1,8}"
                    autocomplete="off" placeholder="0-9" value={(*text).clone()} {oninput} />
                <button type="submit" disabled={typed(&text).is_none()}>{"Save"}</button>
                <button type="button" class="secondary" onclick={not_a_digit}>{"Not a digit"}</button>
            </form>
            if let Some(result) = &*status {
                <p class={classes!("status", if result.is_ok() { "ok" } else { "error" })} role="status">
                    { match result { Ok(m) | Err(m) => m.clone() } }
                </p>
            }
            <div class="record-actions">
                <button id="delete-record" class="danger" onclick={delete}>{"Delete this drawing"}</button>
                <button id="close-record" onclick={props.on_close.reform(|_: MouseEvent| ())}>{"Close"}</button>
            </div>
        </div>
    }
}
