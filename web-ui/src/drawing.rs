//! The strokes of a drawing and how they are painted. The canvas keeps its
//! own resolution (`SIDE` pixels square) whatever size it is shown at, so
//! the image sent to the server does not depend on the screen.

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

/// The canvas' side in pixels.
pub const SIDE: u32 = 280;
/// The pen's width in canvas pixels: about MNIST's stroke once the drawing
/// is fitted into the 20-pixel box.
pub const PEN_WIDTH: f64 = 18.0;
const INK: &str = "#111";
const PAPER: &str = "#fff";

/// A point in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// From the left.
    pub x: f64,
    /// From the top.
    pub y: f64,
}

/// Every stroke of the current drawing, in order, for undo and repaint.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Strokes {
    strokes: Vec<Vec<Point>>,
}

impl Strokes {
    /// Starts a stroke at `p`.
    pub fn begin(&mut self, p: Point) {
        self.strokes.push(vec![p]);
    }

    /// Extends the current stroke.
    pub fn extend(&mut self, p: Point) {
        if let Some(stroke) = self.strokes.last_mut() {
            stroke.push(p);
        }
    }

    /// Removes the last stroke; `false` when there was none.
    pub fn undo(&mut self) -> bool {
        self.strokes.pop().is_some()
    }

    /// Removes every stroke.
    pub fn clear(&mut self) {
        self.strokes.clear();
    }

    /// The last stroke.
    pub fn last(&self) -> Option<&[Point]> {
        self.strokes.last().map(Vec::as_slice)
    }
}

/// The 2D context of a canvas.
pub fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

/// Paints blank paper.
pub fn clear(ctx: &CanvasRenderingContext2d) {
    ctx.set_fill_style_str(PAPER);
    ctx.fill_rect(0.0, 0.0, f64::from(SIDE), f64::from(SIDE));
}

/// Repaints every stroke (after an undo).
pub fn repaint(ctx: &CanvasRenderingContext2d, strokes: &Strokes) {
    clear(ctx);
    for stroke in &strokes.strokes {
        paint_stroke(ctx, stroke);
    }
}

/// Paints a whole stroke as one smooth path: quadratic curves through the
/// midpoints between samples, so fast movements do not look polygonal.
pub fn paint_stroke(ctx: &CanvasRenderingContext2d, stroke: &[Point]) {
    let Some(first) = stroke.first() else { return };
    pen(ctx);
    if stroke.len() == 1 {
        // A tap: a dot.
        ctx.begin_path();
        let _ = ctx.arc(first.x, first.y, PEN_WIDTH / 2.0, 0.0, std::f64::consts::TAU);
        ctx.set_fill_style_str(INK);
        ctx.fill();
        return;
    }
    ctx.begin_path();
    ctx.move_to(first.x, first.y);
    for pair in stroke.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        ctx.quadratic_curve_to(a.x, a.y, (a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
    }
    if let Some(last) = stroke.last() {
        ctx.line_to(last.x, last.y);
    }
    ctx.stroke();
}

/// Paints the newest piece of a stroke being drawn: from the midpoint before
/// the previous sample to the midpoint after it, matching [`paint_stroke`].
pub fn paint_tail(ctx: &CanvasRenderingContext2d, stroke: &[Point]) {
    let n = stroke.len();
    if n < 2 {
        if n == 1 {
            paint_stroke(ctx, stroke);
        }
        return;
    }
    let (b, c) = (stroke[n - 2], stroke[n - 1]);
    let start = if n >= 3 {
        let a = stroke[n - 3];
        Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 }
    } else {
        b
    };
    pen(ctx);
    ctx.begin_path();
    ctx.move_to(start.x, start.y);
    ctx.quadratic_curve_to(b.x, b.y, (b.x + c.x) / 2.0, (b.y + c.y) / 2.0);
    ctx.stroke();
}

fn pen(ctx: &CanvasRenderingContext2d) {
    ctx.set_stroke_style_str(INK);
    ctx.set_line_width(PEN_WIDTH);
    ctx.set_line_cap("round");
    ctx.set_line_join("round");
}

/// The canvas' pixels, RGBA, row by row.
pub fn pixels(ctx: &CanvasRenderingContext2d) -> Option<Vec<u8>> {
    let side = f64::from(SIDE);
    Some(ctx.get_image_data(0.0, 0.0, side, side).ok()?.data().0)
}

/// Paints 784 grey values (ink high) as a 28x28 image, ink dark on light
/// like the drawing.
pub fn paint_mnist(canvas: &HtmlCanvasElement, pixels: &[u8]) {
    let Some(ctx) = context(canvas) else { return };
    let mut rgba = Vec::with_capacity(pixels.len() * 4);
    for &v in pixels {
        let shade = 255 - v;
        rgba.extend_from_slice(&[shade, shade, shade, 255]);
    }
    if let Ok(image) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&rgba), 28, 28) {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_removes_the_last_stroke_only() {
        let mut strokes = Strokes::default();
        strokes.begin(Point { x: 1.0, y: 1.0 });
        strokes.extend(Point { x: 2.0, y: 2.0 });
        strokes.begin(Point { x: 5.0, y: 5.0 });
        assert!(strokes.undo());
        assert_eq!(strokes.last(), Some(&[Point { x: 1.0, y: 1.0 }, Point { x: 2.0, y: 2.0 }][..]));
        assert!(strokes.undo());
        assert!(!strokes.undo());
        assert_eq!(strokes, Strokes::default());
    }
}
