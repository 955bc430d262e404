//! The answer: the digit, the number, or "not a digit", and what state it
//! is in: a draft while drawing, pending while a read is under way, or the
//! stored answer. Low confidence is said in words. A failed request says
//! what happened, with a retry.

use yew::prelude::*;

use crate::api::Verdict;
use crate::components::feedback::describe;
use crate::session::{Feedback, Problem, Reading, SURE, Session};

/// Props of [`AnswerPanel`].
#[derive(Properties, PartialEq)]
pub struct AnswerProps {
    /// The latest answer.
    pub reading: Option<Reading>,
    /// Nothing is drawn.
    pub empty: bool,
    /// The answer shown is behind the drawing.
    pub pending: bool,
    /// The drawing is a tap or a dot, too small to read.
    #[prop_or_default]
    pub too_small: bool,
    /// The answer shown is the stored one for the drawing as it is.
    pub stored: bool,
    /// The last request failed.
    pub problem: Option<Problem>,
    /// Try again.
    pub on_retry: Callback<()>,
    /// Which drawing and revision, as `drawing.revision` (for tests and
    /// tools: it changes with every change).
    pub revision: AttrValue,
    /// What the page's own model read for this revision (`digit:7`), for
    /// tests and tools comparing it with the server's.
    #[prop_or_default]
    pub local_said: Option<AttrValue>,
}

fn percent(p: f32) -> String {
    format!("{:.0}%", p * 100.0)
}

/// What the page's live region says: the stored answer, then the saved
/// feedback; never a draft.
pub fn announcement(session: &Session) -> String {
    match (&session.feedback, session.stored_reading()) {
        (Feedback::Saved(answer), _) => format!("Saved: {}.", describe(answer)),
        (_, Some(reading)) => reading_announcement(reading),
        _ => String::new(),
    }
}

/// How a stored answer is announced.
fn reading_announcement(reading: &Reading) -> String {
    let p = &reading.prediction;
    let sure = if reading.unsure() { ", not sure" } else { "" };
    match p.verdict {
        Verdict::Digit => format!("Read as {}, {} sure{sure}.", p.digit, percent(p.confidence)),
        Verdict::SeveralDigits => format!("Read as the number {}{sure}.", p.number),
        Verdict::NotADigit => "That does not look like a digit.".to_owned(),
    }
}

/// The answer panel.
#[component]
pub fn AnswerPanel(props: &AnswerProps) -> Html {
    let state = match (&props.reading, props.empty) {
        (_, true) => "empty",
        (_, false) if props.too_small => "too_small",
        (_, false) if props.stored => "stored",
        (_, false) if props.problem.as_ref().is_some_and(|p| p.offline) => "offline",
        (_, false) if props.problem.is_some() => "failed",
        (_, false) if props.pending => "pending",
        _ => "draft",
    };
    let chip = match state {
        "stored" => html! { <span class="chip stored" id="answer-state">{"✓ Saved"}</span> },
        "pending" => {
            html! { <span class="chip pending" id="answer-state"><span class="spinner" aria-hidden="true"></span>{"Reading…"}</span> }
        }
        "draft" => html! { <span class="chip draft" id="answer-state">{"Draft: saved when you pause"}</span> },
        "offline" => html! { <span class="chip failed" id="answer-state">{"Offline: saved when back"}</span> },
        "failed" => html! { <span class="chip failed" id="answer-state">{"Not saved"}</span> },
        _ => html! {},
    };
    let body = match (&props.reading, props.empty) {
        (_, false) if props.too_small => {
            html! { <p class="hint" id="too-small">{"Too small to read. Draw a bigger digit."}</p> }
        }
        (_, true) => {
            html! { <p class="hint">{"Draw a digit, or a number with a little gap between its digits. The answer appears as you draw."}</p> }
        }
        (None, false) => html! { <p class="hint">{"Reading…"}</p> },
        (Some(reading), false) => {
            let answer = &reading.prediction;
            let id = answer.id.clone().filter(|_| props.stored);
            let unsure = reading.unsure();
            let confidence = if unsure {
                html! { <span id="prediction-confidence" class="confidence unsure">{format!("not sure ({})", percent(answer.confidence))}</span> }
            } else {
                html! { <span id="prediction-confidence" class="confidence">{format!("{} sure", percent(answer.confidence))}</span> }
            };
            match answer.verdict {
                Verdict::Digit => html! {
                    <p class="headline" id="prediction-verdict" data-verdict="digit">
                        <span id="prediction-digit" class="digit" data-id={id}>{answer.digit}</span>
                        { confidence }
                    </p>
                },
                Verdict::SeveralDigits => html! {
                    <p class="headline" id="prediction-verdict" data-verdict="several_digits">
                        <span class="lead">{"I read"}</span>
                        <span id="prediction-number" class="digit number" data-id={id}>{answer.number.clone()}</span>
                        if unsure { <span id="prediction-confidence" class="confidence unsure">{"not sure of every digit"}</span> }
                    </p>
                },
                Verdict::NotADigit => html! {
                    <div id="prediction-verdict" data-verdict="not_a_digit" data-id={id}>
                        <p class="headline not-digit">{"That doesn't look like a digit."}</p>
                    </div>
                },
            }
        }
    };
    let problem = props.problem.as_ref().map(|problem| {
        let (title, message, button) = if problem.offline {
            (
                "You are offline.",
                "Drawing and the answers go on here; this drawing is saved by itself as soon as the connection is back."
                    .to_owned(),
                "Try now",
            )
        } else {
            ("That did not work.", problem.message.clone(), "Retry")
        };
        html! {
            <div class="problem" id="problem" role="alert" data-offline={problem.offline.to_string()}>
                <p><strong>{title}</strong>{" "}{message}</p>
                <button id="retry" onclick={props.on_retry.reform(|_: MouseEvent| ())}>{button}</button>
            </div>
        }
    });
    html! {
        <section class={classes!("card", "answer", format!("is-{state}"))} id="answer" data-state={state} data-revision={props.revision.clone()}
            data-local-said={props.local_said.clone()}
            aria-label="Answer" aria-busy={(state == "pending").to_string()}>
            <div class="answer-top">{ body }{ chip }</div>
            { problem.unwrap_or_default() }
            <p class="sr-only">{format!("Answers under {} are marked not sure.", percent(SURE))}</p>
        </section>
    }
}
