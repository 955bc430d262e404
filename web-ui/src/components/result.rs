//! The answer: the digit (or the number, or "not a digit"), its
//! confidence, a bar per digit, and the 28x28 images the model saw.

use std::rc::Rc;

use yew::prelude::*;

use crate::api::{Prediction, Verdict};
use crate::components::thumbnail::Thumbnail;

/// 784 bytes: one 28x28 image.
const PART: usize = 28 * 28;

/// Props of [`ResultPanel`].
#[derive(Properties, PartialEq)]
pub struct ResultProps {
    /// The server's answer.
    pub answer: Option<Rc<Prediction>>,
    /// The 28x28 image computed in the browser.
    pub preview: Option<Rc<Vec<u8>>>,
    /// Whether the server saw exactly the preview (`None`: not known yet).
    pub matches: Option<bool>,
    /// A request failed.
    pub error: Option<AttrValue>,
}

fn percent(p: f32) -> String {
    format!("{:.1}%", p * 100.0)
}

/// The prediction panel.
#[component]
pub fn ResultPanel(props: &ResultProps) -> Html {
    let headline = match (&props.answer, &props.preview) {
        (_, None) => html! { <p class="hint">{"Draw a digit: the answer appears as you draw."}</p> },
        (None, Some(_)) => html! { <p class="hint">{"Reading…"}</p> },
        (Some(answer), Some(_)) => match answer.verdict {
            Verdict::Digit => html! {
                <p class="headline" id="prediction-verdict" data-verdict="digit">
                    <span id="prediction-digit" class="digit" data-id={answer.id.clone()}>{answer.digit}</span>
                    <span id="prediction-confidence" class="confidence">{format!("{} sure", percent(answer.confidence))}</span>
                </p>
            },
            Verdict::SeveralDigits => html! {
                <p class="headline" id="prediction-verdict" data-verdict="several_digits">
                    <span class="lead">{"I read"}</span>
                    <span id="prediction-number" class="digit number" data-id={answer.id.clone()}>{answer.number.clone()}</span>
                    <span id="prediction-confidence" class="confidence">
                        {format!("least sure of a digit: {}", percent(answer.confidence))}
                    </span>
                </p>
            },
            Verdict::NotADigit => html! {
                <div id="prediction-verdict" data-verdict="not_a_digit" data-id={answer.id.clone()}>
                    <p class="headline not-digit">{"That doesn't look like a digit."}</p>
                    <p class="hint">{"Draw one digit 0–9, or a number with a little gap between its digits."}</p>
                </div>
            },
        },
    };
    let parts = props.answer.as_ref().filter(|a| props.preview.is_some() && a.verdict == Verdict::SeveralDigits).map(
        |answer| {
            html! {
                <ol class="parts" aria-label="The digits read, left to right">
                    { for answer.parts.iter().enumerate().map(|(i, part)| html! {
                        <li class="part" data-digit={part.digit.to_string()}>
                            <Thumbnail pixels={Rc::new(part.input.clone())} class="small"
                                label={format!("Digit {} of the number, read as {}", i + 1, part.digit)} />
                            <span class="part-digit">{part.digit}</span>
                            <span class="part-confidence">{percent(part.confidence)}</span>
                        </li>
                    }) }
                </ol>
            }
        },
    );
    let bars = props.answer.as_ref().filter(|a| props.preview.is_some() && a.verdict == Verdict::Digit).map(|answer| {
        html! {
            <ol class="bars" aria-label="Confidence for each digit">
                { for answer.probabilities.iter().enumerate().map(|(digit, p)| {
                    let best = digit == usize::from(answer.digit);
                    html! {
                        <li class={classes!("bar", best.then_some("best"))} aria-label={format!("{digit}: {}", percent(*p))}>
                            <span class="bar-label">{digit}</span>
                            <span class="bar-track"><span class="bar-fill" style={format!("width:{:.1}%", p * 100.0)} /></span>
                            <span class="bar-value">{percent(*p)}</span>
                        </li>
                    }
                }) }
            </ol>
        }
    });
    // One digit: its image, large. A number: the bar of images above says it all.
    let single = props.preview.as_ref().filter(|p| p.len() == PART);
    let preview = single.map(|pixels| {
        let badge = match props.matches {
            Some(true) => html! { <span id="preview-match" class="badge ok" title="The server fed the model exactly this image">{"✓ same as the server's"}</span> },
            Some(false) => html! { <span id="preview-match" class="badge warn">{"differs from the server's"}</span> },
            None => html! {},
        };
        html! {
            <figure class="preview">
                <Thumbnail id="preview" pixels={pixels.clone()} class="large" label="The 28 by 28 image the model sees" />
                <figcaption>{"What the model sees (28×28)"} {badge}</figcaption>
            </figure>
        }
    });
    html! {
        <section class="card result" aria-live="polite" aria-label="Prediction">
            { headline }
            if let Some(error) = &props.error {
                <p class="error" role="alert">{error.clone()}</p>
            }
            { parts.unwrap_or_default() }
            <div class="result-body">
                { preview.unwrap_or_default() }
                { bars.unwrap_or_default() }
            </div>
        </section>
    }
}
