//! Telling the model whether it was right.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::session::Feedback;

/// Props of [`FeedbackPanel`].
#[derive(Properties, PartialEq)]
pub struct FeedbackProps {
    /// The predicted digit, when there is one.
    pub predicted: Option<u8>,
    /// The label picked so far (typed, or by a digit key).
    pub label: Option<u8>,
    /// Where the feedback stands.
    pub state: Feedback,
    /// The user picked a label in the field.
    pub on_label: Callback<Option<u8>>,
    /// Send this true label.
    pub on_submit: Callback<u8>,
}

/// "Correct" and "It was …".
#[component]
pub fn FeedbackPanel(props: &FeedbackProps) -> Html {
    let Some(predicted) = props.predicted else {
        return html! { <section class="card feedback" aria-label="Feedback"><p class="hint">{"Feedback opens once there is an answer."}</p></section> };
    };
    let busy = props.state == Feedback::Saving;
    let on_correct = {
        let on_submit = props.on_submit.clone();
        Callback::from(move |_: MouseEvent| on_submit.emit(predicted))
    };
    let oninput = {
        let on_label = props.on_label.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let digit = input.value().trim().parse::<u8>().ok().filter(|d| *d <= 9);
            on_label.emit(digit);
        })
    };
    let onsubmit = {
        let (on_submit, label) = (props.on_submit.clone(), props.label);
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(label) = label {
                on_submit.emit(label);
            }
        })
    };
    let status = match &props.state {
        Feedback::None => html! {},
        Feedback::Saving => html! { <p class="status">{"Saving…"}</p> },
        Feedback::Saved(label) if *label == predicted => {
            html! { <p id="feedback-status" class="status ok">{format!("Saved: {label} was right. Thank you! Draw the next digit.")}</p> }
        }
        Feedback::Saved(label) => {
            html! { <p id="feedback-status" class="status ok">{format!("Saved: it was a {label}. Thank you, that helps the next model.")}</p> }
        }
        Feedback::Failed(message) => {
            html! { <p id="feedback-status" class="status error" role="alert">{format!("Not saved: {message}")}</p> }
        }
    };
    let value = props.label.map(|d| d.to_string()).unwrap_or_default();
    html! {
        <section class="card feedback" aria-label="Feedback">
            <button id="correct" class="primary" onclick={on_correct} disabled={busy}>
                {format!("✓ Correct, it is a {predicted}")}
            </button>
            <form class="correction" {onsubmit}>
                <label for="true-label">{"No, it is a"}</label>
                <input id="true-label" type="text" inputmode="numeric" maxlength="1" pattern="[0-9]" autocomplete="off"
                    aria-label="The digit you drew, 0 to 9" placeholder="0-9" {value} {oninput} />
                <button id="submit-label" type="submit" disabled={busy || props.label.is_none()}>{"Submit"}</button>
            </form>
            <div aria-live="polite">{status}</div>
            <p class="keys">{"Keys: 0–9 pick a digit · Enter confirms · Esc clears · Backspace undoes"}</p>
        </section>
    }
}
