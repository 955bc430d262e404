//! Telling the model whether it was right: "Correct", "No, it is …" (a
//! digit, or a number), one digit of a number fixed in place, or "Not a digit".

use std::rc::Rc;

use digits_web_api::Feedback as Answer;
use web_sys::{HtmlInputElement, HtmlSelectElement};
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

/// Digits 0-9 as the number they spell, left to right.
pub fn number_of(digits: &[u8]) -> String {
    digits.iter().map(|&d| char::from(b'0' + d.min(9))).collect()
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
    // A number's digits as the user has fixed them, and the answer they belong to.
    let fixes = use_state(|| (None::<String>, Vec::<u8>::new()));
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
    let part_fixes = (answer.verdict == Verdict::SeveralDigits).then(|| {
        let read: Vec<u8> = answer.parts.iter().map(|p| p.digit).collect();
        let fixed = if fixes.0 == answer.id && fixes.1.len() == read.len() { fixes.1.clone() } else { read.clone() };
        let fixed_number = number_of(&fixed);
        let changed = fixed != read;
        let selects = fixed.iter().enumerate().map(|(i, &digit)| {
            let onchange = {
                let (fixes, id, fixed) = (fixes.clone(), answer.id.clone(), fixed.clone());
                Callback::from(move |e: Event| {
                    let select: HtmlSelectElement = e.target_unchecked_into();
                    if let Some(d) = select.value().parse::<u8>().ok().filter(|d| *d < 10) {
                        let mut next = fixed.clone();
                        next[i] = d;
                        fixes.set((id.clone(), next));
                    }
                })
            };
            html! {
                <select id={format!("part-fix-{i}")} class={classes!((digit != read[i]).then_some("changed"))}
                    aria-label={format!("Digit {} of the number", i + 1)} {onchange} disabled={busy}>
                    { for (0..10u8).map(|d| html! { <option value={d.to_string()} selected={d == digit}>{d}</option> }) }
                </select>
            }
        });
        let on_save = {
            let (on_submit, number) = (props.on_submit.clone(), fixed_number.clone());
            Callback::from(move |_: MouseEvent| on_submit.emit(Answer::number(number.clone())))
        };
        html! {
            <fieldset id="part-fixes" class="part-fixes">
                <legend>{"Or fix the digit that is wrong"}</legend>
                <div class="part-fix-row">{ for selects }</div>
                <button id="save-fixed" type="button" onclick={on_save} disabled={busy || !changed}>
                    { if changed { format!("Save {fixed_number}") } else { "Pick a digit to change".to_owned() } }
                </button>
            </fieldset>
        }
    });
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
            { part_fixes.unwrap_or_default() }
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
        assert_eq!(number_of(&[4, 3]), "43");
    }
}
