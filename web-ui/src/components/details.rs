//! How the model read the drawing: the 28x28 image it saw (one per digit of
//! a number) and its confidence for every digit.

use std::rc::Rc;

use yew::prelude::*;

use crate::api::Verdict;
use crate::components::thumbnail::Thumbnail;
use crate::session::Reading;

/// 784 bytes: one 28x28 image.
const PART: usize = 28 * 28;

/// Props of [`DetailsPanel`].
#[derive(Properties, PartialEq)]
pub struct DetailsProps {
    /// The latest answer.
    pub reading: Option<Reading>,
    /// The 28x28 images computed in the browser, 784 bytes each.
    pub preview: Option<Rc<Vec<u8>>>,
    /// Whether the server saw exactly the preview (`None`: not known).
    pub matches: Option<bool>,
}

fn percent(p: f32) -> String {
    format!("{:.1}%", p * 100.0)
}

/// The details panel; nothing before there is a drawing.
#[component]
pub fn DetailsPanel(props: &DetailsProps) -> Html {
    let Some(pixels) = props.preview.clone() else { return html! {} };
    let answer = props.reading.as_ref().map(|r| r.prediction.clone());
    let parts = answer.as_ref().filter(|a| a.verdict == Verdict::SeveralDigits).map(|answer| {
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
    });
    let bars = answer.as_ref().filter(|a| a.verdict == Verdict::Digit).map(|answer| {
        html! {
            <ol class="bars" aria-label="Confidence for each digit">
                { for answer.probabilities.iter().enumerate().map(|(digit, p)| {
                    let best = digit == usize::from(answer.digit);
                    html! {
                        <li class={classes!("bar", best.then_some("best"))} aria-label={format!("{digit}: {}", percent(*p))}>
                            <span class="bar-label" aria-hidden="true">{digit}</span>
                            <span class="bar-track" aria-hidden="true"><span class="bar-fill" style={format!("width:{:.1}%", p * 100.0)} /></span>
                            <span class="bar-value" aria-hidden="true">{percent(*p)}</span>
                        </li>
                    }
                }) }
            </ol>
        }
    });
    // One digit: its image, large. A number: the row of images says it all.
    let single = (pixels.len() == PART).then(|| {
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
        <section class="card details" id="details" aria-label="How the model read it">
            { parts.unwrap_or_default() }
            <div class="result-body">
                { single.unwrap_or_default() }
                { bars.unwrap_or_default() }
            </div>
        </section>
    }
}
