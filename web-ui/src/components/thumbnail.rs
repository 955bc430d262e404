//! A 28x28 image, drawn pixel for pixel and enlarged by CSS.

use std::rc::Rc;

use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::drawing;

/// Props of [`Thumbnail`].
#[derive(Properties, PartialEq)]
pub struct ThumbnailProps {
    /// 784 grey values, ink high.
    pub pixels: Rc<Vec<u8>>,
    /// Text for screen readers; empty for a part of a larger image that
    /// carries the label (it is then hidden from them).
    pub label: AttrValue,
    /// Extra CSS classes.
    #[prop_or_default]
    pub class: Classes,
    /// An element id.
    #[prop_or_default]
    pub id: Option<AttrValue>,
}

/// A 28x28 image.
#[component]
pub fn Thumbnail(props: &ThumbnailProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        use_effect_with(props.pixels.clone(), move |pixels| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                drawing::paint_mnist(&canvas, pixels);
            }
        });
    }
    let part = props.label.is_empty();
    html! {
        <canvas ref={canvas} id={props.id.clone()} width="28" height="28"
            role={(!part).then_some("img")} aria-label={(!part).then(|| props.label.clone())}
            aria-hidden={part.then_some("true")}
            class={classes!("mnist", props.class.clone())} />
    }
}
