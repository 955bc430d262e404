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
    /// Text for screen readers.
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
    html! {
        <canvas ref={canvas} id={props.id.clone()} width="28" height="28" role="img"
            aria-label={props.label.clone()}
            class={classes!("mnist", props.class.clone())} />
    }
}
