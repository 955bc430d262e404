//! Telling the model whether it was right: "Correct", "No, it is …" (a
//! digit, or a number with one of its digits changed), or "Not a digit".

use std::rc::Rc;

use digits_web_api::Feedback as Answer;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api::{Prediction, Verdict};
use crate::session::Feedback;

/// Props of [`FeedbackPanel`].
#[derive(Properties, PartialEq)]
pub struct FeedbackProps {
    /// The stored answer, when there is one.
    pub answer: Option<Rc<Prediction>>,
    /// What is typed in "No, it is …" (digits only).
    pub label: AttrValue,
    /// Where the feedback stands.
    pub state: Feedback,
    /// The user typed in the field.
    pub on_label: Callback<String>,
    /// Send this answer.
    pub on_submit: Callback<Answer>,
}

/// What "Correct" confirms for an answer.
pub fn confirmation(answer: &Prediction) -> Answer {
    match answer.verdict {
        Verdict::Digit => Answer::digit(answer.digit),
        Verdict::NotADigit => Answer::not_a_digit(),
        Verdict::SeveralDigits => Answer::number(answer.number.clone()),
    }
}

/// The answer typed in the field: one digit, or a number of 2-8 digits.
pub fn typed(text: &str) -> Option<Answer> {
    let text = text.trim();
    if text.is_empty() || text.len() > 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(if text.len() == 1 { Answer::digit(text.as_bytes()[0] - b'0') } else { Answer::number(text) })
}

/// How an answer reads in a sentence.
pub fn describe(answer: &Answer) -> String {
    match answer {
        Answer { not_a_digit: true, .. } => "not a digit".into(),
        Answer { true_label: Some(d), .. } => format!("a {d}"),
        Answer { true_number: Some(n), .. } => n.clone(),
        _ => String::new(),
    }
}

/// "Correct", "No, it is …" and "Not a digit".
#[component]
pub fn FeedbackPanel(props: &FeedbackProps) -> Html {
    let Some(answer) = props.answer.clone() else {
        return html! { <section class="card feedback" aria-label="Feedback"><p class="hint">{"Feedback opens once there is an answer."}</p></section> };
    };
    let busy = props.state == Feedback::Saving;
    let confirm = confirmation(&answer);
    let on_correct = {
        let (on_submit, confirm) = (props.on_submit.clone(), confirm.clone());
        Callback::from(move |_: MouseEvent| on_submit.emit(confirm.clone()))
    };
    let on_not_a_digit = {
        let on_submit = props.on_submit.clone();
        Callback::from(move |_: MouseEvent| on_submit.emit(Answer::not_a_digit()))
    };
    let oninput = {
        let on_label = props.on_label.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            on_label.emit(input.value());
        })
    };
    let typed_answer = typed(&props.label);
    let onsubmit = {
        let (on_submit, typed_answer) = (props.on_submit.clone(), typed_answer.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if let Some(answer) = typed_answer.clone() {
                on_submit.emit(answer);
            }
        })
    };
    let status = match &props.state {
        Feedback::None => html! {},
        Feedback::Saving => html! { <p class="status">{"Saving…"}</p> },
        Feedback::Saved(saved) if *saved == confirm => {
            html! { <p id="feedback-status" class="status ok">{format!("Saved: {} was right. Thank you! Draw the next one.", describe(saved))}</p> }
        }
        Feedback::Saved(saved) => {
            html! { <p id="feedback-status" class="status ok">{format!("Saved: it was {}. Thank you, that helps the next model.", describe(saved))}</p> }
        }
        Feedback::Failed(message) => {
            html! { <p id="feedback-status" class="status error" role="alert">{format!("Not saved: {message}")}</p> }
        }
    };
    let correct_text = match answer.verdict {
        Verdict::Digit => format!("✓ Correct, it is a {}", answer.digit),
        Verdict::NotADigit => "✓ Right, it is not a digit".to_owned(),
        Verdict::SeveralDigits => format!("✓ Correct, it is {}", answer.number),
    };
    let field_hint = match answer.verdict {
        Verdict::SeveralDigits => "The number you drew: type it with the wrong digit changed",
        _ => "The digit you drew, 0 to 9, or the number",
    };
    let placeholder = if answer.verdict == Verdict::SeveralDigits { answer.number.clone() } else { "0-9".to_owned() };
    html! {
        <section class="card feedback" aria-label="Feedback">
            <button id="correct" class="primary" onclick={on_correct} disabled={busy}>{correct_text}</button>
            <form class="correction" {onsubmit}>
                <label for="true-label">{"No, it is"}</label>
                <input id="true-label" type="text" inputmode="numeric" maxlength="8" pattern="[0-9]{1,8}" autocomplete="off"
                    aria-label={field_hint} title={field_hint} {placeholder} value={props.label.clone()} {oninput} />
                <button id="submit-label" type="submit" disabled={busy || typed_answer.is_none()}>{"Submit"}</button>
            </form>
            if answer.verdict != Verdict::NotADigit {
                <button id="not-a-digit" class="secondary" onclick={on_not_a_digit} disabled={busy}>{"Not a digit"}</button>
            }
            <div aria-live="polite">{status}</div>
            <p class="keys">{"Keys: 0–9 type the answer · Enter confirms · Esc clears · Backspace undoes"}</p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_digit_or_number_is_an_answer_and_anything_else_is_not() {
        assert_eq!(typed(" 7 "), Some(Answer::digit(7)));
        assert_eq!(typed("42"), Some(Answer::number("42")));
        for bad in ["", "x", "4 2", "123456789", "-1"] {
            assert_eq!(typed(bad), None, "{bad:?}");
        }
        assert_eq!(describe(&Answer::not_a_digit()), "not a digit");
        assert_eq!(describe(&Answer::number("42")), "42");
    }
}
