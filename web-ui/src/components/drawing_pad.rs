//! The drawing surface. Pointer events serve mouse, pen and touch alike; the
//! pointer is captured on press so a stroke that leaves the canvas still
//! ends, and `touch-action: none` (in the CSS) keeps a phone from scrolling
//! while drawing. An image file dropped on it starts a drawing from that
//! picture.

use web_sys::{Blob, DragEvent, HtmlCanvasElement, PointerEvent};
use yew::prelude::*;

use crate::drawing::{self, Point, SIDE};
use crate::hooks::pad::Pad;

/// How the drawing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A stroke grew.
    Drawing,
    /// A stroke ended (pen up).
    StrokeEnded,
}

/// Props of [`DrawingPad`].
#[derive(Properties, PartialEq)]
pub struct DrawingPadProps {
    /// The pad.
    pub pad: Pad,
    /// Nothing is drawn (shows the invitation to draw).
    pub empty: bool,
    /// Called on pen-down, before the stroke starts.
    pub on_start: Callback<()>,
    /// Called after every change.
    pub on_change: Callback<Change>,
    /// An image file was dropped.
    pub on_file: Callback<Blob>,
}

fn point(canvas: &HtmlCanvasElement, event: &PointerEvent) -> Point {
    let rect = canvas.get_bounding_client_rect();
    let scale_x = f64::from(SIDE) / rect.width().max(1.0);
    let scale_y = f64::from(SIDE) / rect.height().max(1.0);
    Point {
        x: (f64::from(event.client_x()) - rect.left()) * scale_x,
        y: (f64::from(event.client_y()) - rect.top()) * scale_y,
    }
}

/// The canvas to draw on.
#[component]
pub fn DrawingPad(props: &DrawingPadProps) -> Html {
    let pen_down = use_mut_ref(|| false);
    let pad = props.pad.clone();
    {
        let canvas = pad.canvas.clone();
        use_effect_with((), move |()| {
            if let Some(ctx) = canvas.cast::<HtmlCanvasElement>().as_ref().and_then(drawing::context) {
                drawing::clear(&ctx);
            }
        });
    }

    let onpointerdown = {
        let (pad, pen_down) = (pad.clone(), pen_down.clone());
        let (on_start, on_change) = (props.on_start.clone(), props.on_change.clone());
        Callback::from(move |event: PointerEvent| {
            let Some(el) = pad.canvas.cast::<HtmlCanvasElement>() else { return };
            if !event.is_primary() || event.button() > 0 {
                return;
            }
            event.prevent_default();
            let _ = el.set_pointer_capture(event.pointer_id());
            on_start.emit(());
            *pen_down.borrow_mut() = true;
            pad.strokes.borrow_mut().begin(point(&el, &event), pad.brush.width());
            if let (Some(ctx), Some(stroke)) = (drawing::context(&el), pad.strokes.borrow().last()) {
                drawing::paint_stroke(&ctx, stroke);
            }
            on_change.emit(Change::Drawing);
        })
    };
    let onpointermove = {
        let (pad, pen_down) = (pad.clone(), pen_down.clone());
        let on_change = props.on_change.clone();
        Callback::from(move |event: PointerEvent| {
            if !*pen_down.borrow() || !event.is_primary() {
                return;
            }
            let Some(el) = pad.canvas.cast::<HtmlCanvasElement>() else { return };
            event.prevent_default();
            pad.strokes.borrow_mut().extend(point(&el, &event));
            if let (Some(ctx), Some(stroke)) = (drawing::context(&el), pad.strokes.borrow().last()) {
                drawing::paint_tail(&ctx, stroke);
            }
            on_change.emit(Change::Drawing);
        })
    };
    let end = {
        let pad = pad.clone();
        let on_change = props.on_change.clone();
        Callback::from(move |_: PointerEvent| {
            if !std::mem::replace(&mut *pen_down.borrow_mut(), false) {
                return;
            }
            // Finish the stroke exactly as a repaint draws it (the tail
            // painting stops at the last midpoint).
            if let Some(ctx) = pad.canvas.cast::<HtmlCanvasElement>().as_ref().and_then(drawing::context) {
                drawing::repaint(&ctx, &pad.strokes.borrow());
            }
            on_change.emit(Change::StrokeEnded);
        })
    };
    let ondragover = Callback::from(|event: DragEvent| event.prevent_default());
    let ondrop = {
        let on_file = props.on_file.clone();
        Callback::from(move |event: DragEvent| {
            event.prevent_default();
            let file = event.data_transfer().and_then(|d| d.files()).and_then(|files| files.get(0));
            if let Some(file) = file {
                on_file.emit(file.into());
            }
        })
    };

    html! {
        <div class="pad-frame" {ondragover} {ondrop}>
            <canvas ref={pad.canvas.clone()} id="pad" class="pad" width={SIDE.to_string()} height={SIDE.to_string()}
                role="img" aria-label="Drawing area: draw a digit with a mouse, pen or finger, or drop an image here"
                {onpointerdown} {onpointermove} onpointerup={end.clone()} onpointercancel={end} />
            if props.empty {
                <p class="pad-hint" aria-hidden="true">{"Draw a digit here"}</p>
            }
        </div>
    }
}
