//! The drawing pad: its canvas, the strokes painted on it, and the brush.
//! The strokes live beside the canvas they are painted on, not in the
//! page's state: a pointer move paints without a re-render, and the page
//! learns of each change through [`Change`](crate::components::drawing_pad::Change).

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::drawing::{self, Brush, Picture, Strokes};

/// The pad: share it with the components that draw on or read it.
#[derive(Clone)]
pub struct Pad {
    /// The canvas element.
    pub canvas: NodeRef,
    /// What is drawn.
    pub strokes: Rc<RefCell<Strokes>>,
    /// The brush new strokes use.
    pub brush: UseStateHandle<Brush>,
}

impl PartialEq for Pad {
    fn eq(&self, other: &Self) -> bool {
        self.canvas == other.canvas && Rc::ptr_eq(&self.strokes, &other.strokes) && *self.brush == *other.brush
    }
}

impl Pad {
    fn repaint(&self) {
        if let Some(ctx) = self.canvas.cast::<HtmlCanvasElement>().as_ref().and_then(drawing::context) {
            drawing::repaint(&ctx, &self.strokes.borrow());
        }
    }

    /// Removes the last stroke; `false` when there was none.
    pub fn undo(&self) -> bool {
        let undone = self.strokes.borrow_mut().undo();
        if undone {
            self.repaint();
        }
        undone
    }

    /// Puts back the last stroke undone; `false` when there was none.
    pub fn redo(&self) -> bool {
        let redone = self.strokes.borrow_mut().redo();
        if redone {
            self.repaint();
        }
        redone
    }

    /// Blank paper.
    pub fn clear(&self) {
        self.strokes.borrow_mut().clear();
        self.repaint();
    }

    /// Starts over from a picture.
    pub fn start_from(&self, picture: Picture) {
        self.strokes.borrow_mut().start_from(picture);
        self.repaint();
    }

    /// Whether nothing is drawn.
    pub fn is_empty(&self) -> bool {
        self.strokes.borrow().is_empty()
    }

    /// Whether there is a stroke to undo, and one to redo.
    pub fn can_undo_redo(&self) -> (bool, bool) {
        self.strokes.borrow().can_undo_redo()
    }
}

/// The page's drawing pad.
#[hook]
pub fn use_pad() -> Pad {
    let canvas = use_node_ref();
    let strokes = use_mut_ref(Strokes::default);
    let brush = use_state(Brush::default);
    Pad { canvas, strokes, brush }
}
