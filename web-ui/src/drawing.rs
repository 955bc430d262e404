//! The strokes of a drawing and how they are painted. The canvas keeps its
//! own resolution (`SIDE` pixels square) whatever size it is shown at, so
//! the image sent to the server does not depend on the screen.

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

/// The canvas' side in pixels.
pub const SIDE: u32 = 280;
const INK: &str = "#111";
const PAPER: &str = "#fff";

/// The pen's width, in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Brush {
    /// 10 px: fine lines, thickened by the preprocessing.
    Thin,
    /// 18 px: about MNIST's stroke once the drawing is fitted into the
    /// 20-pixel box.
    #[default]
    Medium,
    /// 28 px.
    Thick,
}

impl Brush {
    /// Every brush, thinnest first.
    pub const ALL: [Self; 3] = [Self::Thin, Self::Medium, Self::Thick];

    /// Its width in canvas pixels.
    pub fn width(self) -> f64 {
        match self {
            Self::Thin => 10.0,
            Self::Medium => 18.0,
            Self::Thick => 28.0,
        }
    }

    /// Its name, for people.
    pub fn name(self) -> &'static str {
        match self {
            Self::Thin => "Thin",
            Self::Medium => "Medium",
            Self::Thick => "Thick",
        }
    }
}

/// A point in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// From the left.
    pub x: f64,
    /// From the top.
    pub y: f64,
}

/// One stroke: its pen width and its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Stroke {
    /// Pen width, canvas pixels.
    pub width: f64,
    /// The points, in order.
    pub points: Vec<Point>,
}

/// A picture the drawing starts from (an uploaded image), fitted to the canvas.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture(pub web_sys::ImageBitmap);

/// The current drawing: an optional picture under every stroke, in order,
/// and the strokes undone since the last new one, for redo.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Strokes {
    picture: Option<Picture>,
    strokes: Vec<Stroke>,
    undone: Vec<Stroke>,
}

impl Strokes {
    /// Starts a stroke at `p` with a pen `width` wide; nothing is left to redo.
    pub fn begin(&mut self, p: Point, width: f64) {
        self.strokes.push(Stroke { width, points: vec![p] });
        self.undone.clear();
    }

    /// Extends the current stroke.
    pub fn extend(&mut self, p: Point) {
        if let Some(stroke) = self.strokes.last_mut() {
            stroke.points.push(p);
        }
    }

    /// Removes the last stroke; `false` when there was none.
    pub fn undo(&mut self) -> bool {
        self.strokes.pop().map(|stroke| self.undone.push(stroke)).is_some()
    }

    /// Puts back the stroke undone last; `false` when there was none.
    pub fn redo(&mut self) -> bool {
        self.undone.pop().map(|stroke| self.strokes.push(stroke)).is_some()
    }

    /// Whether there is a stroke to undo, and one to redo.
    pub fn can_undo_redo(&self) -> (bool, bool) {
        (!self.strokes.is_empty(), !self.undone.is_empty())
    }

    /// Removes every stroke and the picture.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Starts over from `picture`.
    pub fn start_from(&mut self, picture: Picture) {
        *self = Self { picture: Some(picture), ..Self::default() };
    }

    /// The last stroke.
    pub fn last(&self) -> Option<&Stroke> {
        self.strokes.last()
    }

    /// Whether nothing is drawn.
    pub fn is_empty(&self) -> bool {
        self.strokes.is_empty() && self.picture.is_none()
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

/// Repaints the picture and every stroke (after an undo).
pub fn repaint(ctx: &CanvasRenderingContext2d, strokes: &Strokes) {
    clear(ctx);
    if let Some(Picture(bitmap)) = &strokes.picture {
        paint_picture(ctx, bitmap);
    }
    for stroke in &strokes.strokes {
        paint_stroke(ctx, stroke);
    }
}

/// Paints `bitmap` centred on the canvas, scaled to fit (never cropped), and
/// stretches its edge rows or columns over the bands left beside it: a band
/// of blank paper next to a photo's darker paper would read as a stroke.
fn paint_picture(ctx: &CanvasRenderingContext2d, bitmap: &web_sys::ImageBitmap) {
    let (w, h) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    if w < 1.0 || h < 1.0 {
        return;
    }
    let side = f64::from(SIDE);
    let scale = (side / w).min(side / h);
    let (dw, dh) = (w * scale, h * scale);
    let (x0, y0) = ((side - dw) / 2.0, (side - dh) / 2.0);
    let _ = ctx.draw_image_with_image_bitmap_and_dw_and_dh(bitmap, x0, y0, dw, dh);
    // (source x, y, width, height) -> (destination x, y, width, height)
    let bands = if x0 > 0.5 {
        [((0.0, 0.0, 1.0, h), (0.0, y0, x0, dh)), ((w - 1.0, 0.0, 1.0, h), (x0 + dw, y0, side - x0 - dw, dh))]
    } else if y0 > 0.5 {
        [((0.0, 0.0, w, 1.0), (x0, 0.0, dw, y0)), ((0.0, h - 1.0, w, 1.0), (x0, y0 + dh, dw, side - y0 - dh))]
    } else {
        return;
    };
    for ((sx, sy, sw, sh), (dx, dy, dw, dh)) in bands {
        let _ = ctx.draw_image_with_image_bitmap_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
            bitmap, sx, sy, sw, sh, dx, dy, dw, dh,
        );
    }
}

/// Paints a whole stroke as one smooth path: quadratic curves through the
/// midpoints between samples, so fast movements do not look polygonal.
pub fn paint_stroke(ctx: &CanvasRenderingContext2d, stroke: &Stroke) {
    let Stroke { width, points: stroke } = stroke;
    let Some(first) = stroke.first() else { return };
    pen(ctx, *width);
    if stroke.len() == 1 {
        // A tap: a dot.
        ctx.begin_path();
        let _ = ctx.arc(first.x, first.y, width / 2.0, 0.0, std::f64::consts::TAU);
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
pub fn paint_tail(ctx: &CanvasRenderingContext2d, whole: &Stroke) {
    let stroke = &whole.points;
    let n = stroke.len();
    if n < 2 {
        if n == 1 {
            paint_stroke(ctx, whole);
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
    pen(ctx, whole.width);
    ctx.begin_path();
    ctx.move_to(start.x, start.y);
    ctx.quadratic_curve_to(b.x, b.y, (b.x + c.x) / 2.0, (b.y + c.y) / 2.0);
    ctx.stroke();
}

fn pen(ctx: &CanvasRenderingContext2d, width: f64) {
    ctx.set_stroke_style_str(INK);
    ctx.set_line_width(width);
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

    fn at(x: f64) -> Point {
        Point { x, y: x }
    }

    #[test]
    fn undo_and_redo_walk_the_strokes_and_a_new_stroke_ends_redo() {
        let mut strokes = Strokes::default();
        assert!(strokes.is_empty());
        strokes.begin(at(1.0), 18.0);
        strokes.extend(at(2.0));
        strokes.begin(at(5.0), 10.0);
        assert_eq!(strokes.can_undo_redo(), (true, false));
        assert!(strokes.undo());
        assert_eq!(strokes.last(), Some(&Stroke { width: 18.0, points: vec![at(1.0), at(2.0)] }));
        assert!(strokes.redo());
        assert_eq!(strokes.last().map(|s| s.width), Some(10.0));
        assert!(!strokes.redo());
        assert!(strokes.undo() && strokes.undo());
        assert!(!strokes.undo());
        assert_eq!(strokes.can_undo_redo(), (false, true));
        strokes.begin(at(3.0), 28.0);
        assert_eq!(strokes.can_undo_redo(), (true, false), "a new stroke leaves nothing to redo");
        strokes.clear();
        assert_eq!(strokes, Strokes::default());
    }
}
