//! The answer: the digit, its confidence, a bar per digit, and the 28x28
//! image the model saw.

use std::rc::Rc;

use yew::prelude::*;

use crate::api::Prediction;
use crate::components::thumbnail::Thumbnail;

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
        (Some(answer), Some(_)) => html! {
            <p class="headline">
                <span id="prediction-digit" class="digit" data-id={answer.id.clone()}>{answer.digit}</span>
                <span id="prediction-confidence" class="confidence">{format!("{} sure", percent(answer.confidence))}</span>
            </p>
        },
    };
    let bars = props.answer.as_ref().filter(|_| props.preview.is_some()).map(|answer| {
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
    let preview = props.preview.as_ref().map(|pixels| {
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
            <div class="result-body">
                { preview.unwrap_or_default() }
                { bars.unwrap_or_default() }
            </div>
        </section>
    }
}
