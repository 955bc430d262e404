//! Telling the model whether it was right: "Correct", "No, it is …" (a
//! digit, or a number), one digit of a number fixed in place, or "Not a
//! digit". The controls act on a stored answer, or while the connection is
//! lost on the page's own reading of the finished drawing (the answer then
//! waits for the drawing to be saved); once the user has answered, the panel
//! says what they answered and lets them change it.

use std::rc::Rc;

use digits_web_api::Feedback as Answer;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::api::{Prediction, Verdict};
use crate::keyboard;
use crate::session::Feedback;

/// Props of [`FeedbackPanel`].
#[derive(Properties, PartialEq)]
pub struct FeedbackProps {
    /// The answer feedback acts on for the drawing as it is; `None` while
    /// there is none (the controls are shown, disabled).
    pub answer: Option<Rc<Prediction>>,
    /// The drawing is not saved yet (the connection is lost): an answer
    /// given now is sent with it.
    #[prop_or_default]
    pub waiting: bool,
    /// Something is drawn.
    pub drawn: bool,
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

/// "a 7", "an 8": a digit with its article.
pub fn a_digit(digit: u8) -> String {
    format!("{} {digit}", if digit == 8 { "an" } else { "a" })
}

/// How an answer reads in a sentence.
pub fn describe(answer: &Answer) -> String {
    match answer {
        Answer { not_a_digit: true, .. } => "not a digit".into(),
        Answer { true_label: Some(d), .. } => a_digit(*d),
        Answer { true_number: Some(n), .. } => n.clone(),
        _ => String::new(),
    }
}

/// How the model's reading reads in a sentence.
fn read_as(answer: &Prediction) -> String {
    match answer.verdict {
        Verdict::Digit => a_digit(answer.digit),
        Verdict::NotADigit => "not a digit".into(),
        Verdict::SeveralDigits => answer.number.clone(),
    }
}

/// The feedback panel.
#[component]
pub fn FeedbackPanel(props: &FeedbackProps) -> Html {
    // The user asked to change a saved answer.
    let changing = use_state(|| false);
    // A number's digits as the user has fixed them, and the answer they belong to.
    let fixes = use_state(|| (None::<String>, Vec::<u8>::new()));
    {
        // A new answer, or a new save, closes "change".
        let changing = changing.clone();
        let key = (props.answer.as_ref().and_then(|a| a.id.clone()), matches!(props.state, Feedback::Saved(_)));
        use_effect_with(key, move |_| changing.set(false));
    }
    if let (Feedback::Saved(saved), Some(answer), false) = (&props.state, &props.answer, *changing) {
        let right = *saved == confirmation(answer);
        let said = if right {
            format!("Saved: {} was right. Thank you! Draw the next one.", describe(saved))
        } else {
            format!(
                "Saved: it was {} (read as {}). Thank you, that helps the next model.",
                describe(saved),
                read_as(answer)
            )
        };
        let on_change = {
            let changing = changing.clone();
            Callback::from(move |_: MouseEvent| changing.set(true))
        };
        return html! {
            <section class="card feedback answered" id="feedback" aria-label="Feedback">
                <p id="feedback-status" class="status ok">{said}</p>
                <p id="your-answer" class="your-answer" data-answer={describe(saved)}>
                    {"Your answer: "}<strong>{describe(saved)}</strong>
                </p>
                <button id="change-answer" class="secondary" onclick={on_change}>{"Change my answer"}</button>
                <p class="hint">{"Draw on the pad to start the next one."}</p>
            </section>
        };
    }

    let ready = props.answer.is_some();
    let busy = matches!(props.state, Feedback::Saving(_) | Feedback::Wanted(_));
    let disabled = !ready || busy;
    let answer = props.answer.clone();
    let given = props.state.answer().cloned();
    let on_correct = {
        let (on_submit, answer) = (props.on_submit.clone(), answer.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(answer) = &answer {
                on_submit.emit(confirmation(answer));
            }
        })
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
        Feedback::Wanted(_) | Feedback::Failed(..) if props.waiting => {
            html! { <p id="feedback-status" class="status">{"Your answer is kept: it is sent with the drawing when the connection is back."}</p> }
        }
        Feedback::Wanted(_) | Feedback::Saving(_) => {
            html! { <p id="feedback-status" class="status">{"Saving…"}</p> }
        }
        Feedback::Failed(_, message) => {
            html! { <p id="feedback-status" class="status error" role="alert">{format!("Not saved: {message}")}</p> }
        }
        Feedback::None | Feedback::Saved(_) if !props.drawn => html! { <p class="hint">{"Draw a digit first."}</p> },
        Feedback::None | Feedback::Saved(_) if !ready => {
            html! { <p class="hint" id="feedback-wait">{"Feedback opens when the answer is saved, a moment after you stop drawing."}</p> }
        }
        Feedback::None | Feedback::Saved(_) => html! {},
    };
    let correct_text = match answer.as_deref() {
        Some(a) if a.verdict == Verdict::Digit => format!("✓ Correct, it is {}", a_digit(a.digit)),
        Some(a) if a.verdict == Verdict::NotADigit => "✓ Right, not a digit".to_owned(),
        Some(a) => format!("✓ Correct, it is {}", a.number),
        None => "✓ Correct".to_owned(),
    };
    let pressed = |candidate: &Answer| (given.as_ref() == Some(candidate)).to_string();
    let number = answer.as_ref().filter(|a| a.verdict == Verdict::SeveralDigits);
    let part_fixes = number.map(|answer| {
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
    let field_hint = if number.is_some() { "The number you drew" } else { "The digit you drew, 0 to 9, or the number" };
    let placeholder = number.map_or_else(|| "0-9".to_owned(), |a| a.number.clone());
    let correct = answer.as_deref().map(confirmation);
    html! {
        <section class={classes!("card", "feedback", (!ready).then_some("waiting"))} id="feedback" aria-label="Feedback">
            <div class="feedback-row">
                <button id="correct" class="primary" onclick={on_correct} disabled={disabled}
                    aria-pressed={correct.as_ref().map(pressed)}>{correct_text}</button>
                if answer.as_ref().is_none_or(|a| a.verdict != Verdict::NotADigit) {
                    <button id="not-a-digit" class="secondary" onclick={on_not_a_digit} disabled={disabled}
                        aria-pressed={pressed(&Answer::not_a_digit())}>{"Not a digit"}</button>
                }
            </div>
            <form class="correction" {onsubmit}>
                <label for="true-label">{"No, it is"}</label>
                <input id="true-label" type="text" inputmode="numeric" maxlength="8" pattern="[0-9]{1,8}" autocomplete="off"
                    title={field_hint} {placeholder} value={props.label.clone()} {oninput} disabled={disabled} />
                <button id="submit-label" type="submit" disabled={disabled || typed_answer.is_none()}>{"Save"}</button>
            </form>
            { part_fixes.unwrap_or_default() }
            { status }
            <p class="keys">{keyboard::HINT}</p>
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
        assert_eq!((describe(&Answer::digit(8)), describe(&Answer::digit(7))), ("an 8".into(), "a 7".into()));
        assert_eq!(describe(&Answer::number("42")), "42");
        assert_eq!(number_of(&[4, 3]), "43");
    }
}
