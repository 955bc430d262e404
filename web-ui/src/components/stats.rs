//! Live accuracy from feedback, per digit, and the confusion matrix (with a
//! "not a digit" row and column), whose cells open their examples.

use std::rc::Rc;

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ListQuery, Record, Stats};
use crate::components::thumbnail::Thumbnail;

/// The confusion matrix's index of "not a digit".
const NOT_A_DIGIT: usize = 10;

/// A class's name in the matrix.
fn class_name(class: usize) -> String {
    if class == NOT_A_DIGIT { "not a digit".to_owned() } else { class.to_string() }
}

/// A class's short heading in the matrix.
fn class_heading(class: usize) -> String {
    if class == NOT_A_DIGIT { "✗".to_owned() } else { class.to_string() }
}

/// Props of [`StatsPanel`].
#[derive(Properties, PartialEq)]
pub struct StatsProps {
    /// Changes whenever the figures may have changed.
    pub refresh: u32,
}

/// The examples of one confusion cell.
#[derive(Clone, PartialEq)]
struct Cell {
    true_label: usize,
    predicted: usize,
    examples: Option<Result<Rc<Vec<Record>>, String>>,
}

/// Accuracy and the confusion matrix.
#[component]
pub fn StatsPanel(props: &StatsProps) -> Html {
    let stats = use_state(|| None::<Result<Rc<Stats>, String>>);
    let cell = use_state(|| None::<Cell>);
    {
        let stats = stats.clone();
        use_effect_with(props.refresh, move |_| {
            spawn_local(async move {
                stats.set(Some(api::stats().await.map(Rc::new).map_err(|e| e.message)));
            });
        });
    }
    let open_cell = {
        let cell = cell.clone();
        Callback::from(move |(true_label, predicted): (usize, usize)| {
            cell.set(Some(Cell { true_label, predicted, examples: None }));
            let cell = cell.clone();
            spawn_local(async move {
                let query = ListQuery {
                    digit: u32::try_from(predicted).ok(),
                    true_label: u32::try_from(true_label).ok(),
                    limit: Some(24),
                    ..ListQuery::default()
                };
                let examples = api::history(&query).await.map(|p| Rc::new(p.predictions)).map_err(|e| e.message);
                cell.set(Some(Cell { true_label, predicted, examples: Some(examples) }));
            });
        })
    };

    let body = match &*stats {
        None => html! { <p class="hint">{"Loading…"}</p> },
        Some(Err(message)) => html! { <p class="error">{message.clone()}</p> },
        Some(Ok(stats)) => {
            let accuracy = match stats.accuracy {
                Some(a) => html! { <span id="accuracy" class="big">{format!("{:.1}%", a * 100.0)}</span> },
                None => html! { <span id="accuracy" class="big placeholder">{"no feedback yet"}</span> },
            };
            let drawings = if stats.total == 1 { "1 drawing".to_owned() } else { format!("{} drawings", stats.total) };
            let percent = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{:.0}%", v * 100.0));
            html! {
                <>
                <p class="accuracy">
                    { accuracy }
                    <span id="accuracy-detail">{format!(" of your drawings read right: {} of {} with feedback · {drawings} in all", stats.correct, stats.labeled)}</span>
                </p>
                <p class="muted" id="accuracy-more">
                    {format!("Numbers read right: {} of {} with feedback · \"Not a digit\" answers right: {}",
                        stats.numbers_right, stats.numbers_labeled, percent(stats.not_a_digit.precision))}
                </p>
                { confusion_matrix(stats, &open_cell) }
                </>
            }
        }
    };
    let close = {
        let cell = cell.clone();
        Callback::from(move |_: MouseEvent| cell.set(None))
    };
    let examples = (*cell).clone().map(|c| {
        let list = match &c.examples {
            None => html! { <p class="hint">{"Loading…"}</p> },
            Some(Err(message)) => html! { <p class="error">{message.clone()}</p> },
            Some(Ok(records)) => html! {
                <div class="examples">
                    { for records.iter().map(|r| html! {
                        <Thumbnail pixels={Rc::new(r.input.clone())} class="medium" label={format!("Drawn as {}, read as {}", class_name(c.true_label), class_name(c.predicted))} />
                    }) }
                </div>
            },
        };
        html! {
            <div class="cell-examples" id="cell-examples" role="region" aria-label="Examples of one cell">
                <div class="cell-examples-head">
                    <h3>{format!("Drawn as {}, read as {}", class_name(c.true_label), class_name(c.predicted))}</h3>
                    <button id="close-examples" onclick={close.clone()}>{"Close"}</button>
                </div>
                { list }
            </div>
        }
    });
    html! {
        <section class="card" id="stats" aria-label="Your accuracy">
            <h2>{"Your accuracy"}</h2>
            { body }
            { examples.unwrap_or_default() }
        </section>
    }
}

fn confusion_matrix(stats: &Stats, open_cell: &Callback<(usize, usize)>) -> Html {
    let max = stats.confusion.iter().flatten().copied().max().unwrap_or(0).max(1);
    html! {
        <table class="confusion" aria-label="Confusion matrix: rows are what was drawn, columns what the model read; ✗ is not a digit">
            <thead>
                <tr><th title="drawn ↓ / read →"><span aria-hidden="true">{"↓→"}</span><span class="sr-only">{"drawn, read as"}</span></th>{ for (0..=NOT_A_DIGIT).map(|d| html! { <th scope="col" title={class_name(d)}>{class_heading(d)}</th> }) }<th title="share of the drawings of this row read right"><span aria-hidden="true">{"%"}</span><span class="sr-only">{"found"}</span></th></tr>
            </thead>
            <tbody>
            { for stats.confusion.iter().enumerate().map(|(t, row)| html! {
                <tr>
                    <th scope="row" title={class_name(t)}>{class_heading(t)}</th>
                    { for row.iter().enumerate().map(|(p, &count)| {
                        // At most half strength, so dark text keeps 4.5:1 on every cell.
                        let shade = (count as f64 / max as f64 * 0.5).max(if count > 0 { 0.12 } else { 0.0 });
                        let kind = if t == p { "hit" } else { "miss" };
                        let style = format!("--shade:{shade:.2}");
                        if count == 0 {
                            html! { <td class={classes!("cell", kind)} {style}></td> }
                        } else {
                            let onclick = { let open_cell = open_cell.clone(); Callback::from(move |_: MouseEvent| open_cell.emit((t, p))) };
                            html! {
                                <td class={classes!("cell", kind)} {style}>
                                    <button id={format!("cell-{t}-{p}")} {onclick} aria-label={format!("{count} drawn as {}, read as {}: show them", class_name(t), class_name(p))}>{count}</button>
                                </td>
                            }
                        }
                    }) }
                    <td class="muted">{stats.per_digit.get(t).unwrap_or(&stats.not_a_digit).recall.map_or_else(String::new, |r| format!("{:.0}%", r * 100.0))}</td>
                </tr>
            }) }
            </tbody>
        </table>
    }
}
