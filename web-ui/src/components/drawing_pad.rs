//! The drawing surface. Pointer events serve mouse, pen and touch alike; the
//! pointer is captured on press so a stroke that leaves the canvas still
//! ends, and `touch-action: none` (in the CSS) keeps a phone from scrolling
//! while drawing.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::{HtmlCanvasElement, PointerEvent};
use yew::prelude::*;

use crate::drawing::{self, Point, SIDE, Strokes};

/// The strokes, shared between the pad and the page (for undo and clear).
#[derive(Clone, Default)]
pub struct SharedStrokes(pub Rc<RefCell<Strokes>>);

impl PartialEq for SharedStrokes {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

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
    /// The canvas element.
    pub canvas: NodeRef,
    /// The strokes.
    pub strokes: SharedStrokes,
    /// Called on pen-down, before the stroke starts.
    pub on_start: Callback<()>,
    /// Called after every change.
    pub on_change: Callback<Change>,
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
    {
        let canvas = props.canvas.clone();
        use_effect_with((), move |()| {
            if let Some(ctx) = canvas.cast::<HtmlCanvasElement>().as_ref().and_then(drawing::context) {
                drawing::clear(&ctx);
            }
        });
    }

    let onpointerdown = {
        let (canvas, strokes, pen_down) = (props.canvas.clone(), props.strokes.clone(), pen_down.clone());
        let (on_start, on_change) = (props.on_start.clone(), props.on_change.clone());
        Callback::from(move |event: PointerEvent| {
            let Some(el) = canvas.cast::<HtmlCanvasElement>() else { return };
            if !event.is_primary() || event.button() > 0 {
                return;
            }
            event.prevent_default();
            let _ = el.set_pointer_capture(event.pointer_id());
            on_start.emit(());
            *pen_down.borrow_mut() = true;
            strokes.0.borrow_mut().begin(point(&el, &event));
            if let (Some(ctx), Some(stroke)) = (drawing::context(&el), strokes.0.borrow().last()) {
                drawing::paint_stroke(&ctx, stroke);
            }
            on_change.emit(Change::Drawing);
        })
    };
    let onpointermove = {
        let (canvas, strokes, pen_down) = (props.canvas.clone(), props.strokes.clone(), pen_down.clone());
        let on_change = props.on_change.clone();
        Callback::from(move |event: PointerEvent| {
            if !*pen_down.borrow() || !event.is_primary() {
                return;
            }
            let Some(el) = canvas.cast::<HtmlCanvasElement>() else { return };
            event.prevent_default();
            strokes.0.borrow_mut().extend(point(&el, &event));
            if let (Some(ctx), Some(stroke)) = (drawing::context(&el), strokes.0.borrow().last()) {
                drawing::paint_tail(&ctx, stroke);
            }
            on_change.emit(Change::Drawing);
        })
    };
    let end = {
        let (canvas, strokes, pen_down) = (props.canvas.clone(), props.strokes.clone(), pen_down);
        let on_change = props.on_change.clone();
        Callback::from(move |_: PointerEvent| {
            if !std::mem::replace(&mut *pen_down.borrow_mut(), false) {
                return;
            }
            // Finish the stroke exactly as a repaint draws it (the tail
            // painting stops at the last midpoint).
            if let Some(ctx) = canvas.cast::<HtmlCanvasElement>().as_ref().and_then(drawing::context) {
                drawing::repaint(&ctx, &strokes.0.borrow());
            }
            on_change.emit(Change::StrokeEnded);
        })
    };

    html! {
        <canvas ref={props.canvas.clone()} id="pad" class="pad" width={SIDE.to_string()} height={SIDE.to_string()}
            role="img" aria-label="Drawing area: draw one digit with a mouse, pen or finger"
            {onpointerdown} {onpointermove} onpointerup={end.clone()} onpointercancel={end} />
    }
}
