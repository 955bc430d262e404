//! Drawings made of pen strokes, as a person makes them on a canvas: for
//! tests that need something other than an MNIST digit (a smiley, a
//! scribble).

/// A polyline in pixel coordinates.
pub type Stroke = Vec<(f32, f32)>;

/// Pen strokes (polylines in pixel coordinates) drawn `pen` pixels wide with
/// anti-aliased edges, as black ink on a transparent RGBA canvas.
pub fn draw_strokes(width: usize, height: usize, strokes: &[Stroke], pen: f32) -> Vec<u8> {
    let mut canvas = vec![0u8; width * height * 4];
    for y in 0..height {
        for x in 0..width {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let d = strokes
                .iter()
                .flat_map(|s| s.windows(2).map(|w| (w[0], w[1])).chain(s.first().map(|&p| (p, p))))
                .map(|((ax, ay), (bx, by))| {
                    let (vx, vy) = (bx - ax, by - ay);
                    let len = vx * vx + vy * vy;
                    let t = if len == 0.0 { 0.0 } else { (((px - ax) * vx + (py - ay) * vy) / len).clamp(0.0, 1.0) };
                    ((px - ax - t * vx).powi(2) + (py - ay - t * vy).powi(2)).sqrt()
                })
                .fold(f32::MAX, f32::min);
            let coverage = (pen / 2.0 - d + 0.5).clamp(0.0, 1.0);
            canvas[(y * width + x) * 4 + 3] = (coverage * 255.0).round() as u8;
        }
    }
    canvas
}

/// A white `side x side` gray canvas with one black dot of `diameter`
/// pixels in the middle: a tap, too small to read.
pub fn tap(side: usize, diameter: usize) -> Vec<u8> {
    let (c, r) = (side as f32 / 2.0, diameter as f32 / 2.0);
    (0..side * side).map(|i| if ((i % side) as f32 - c).hypot((i / side) as f32 - c) <= r { 0 } else { 255 }).collect()
}

/// Points on an ellipse arc from angle `a0` to `a1` (radians).
pub fn arc(cx: f32, cy: f32, rx: f32, ry: f32, a0: f32, a1: f32) -> Stroke {
    (0..=32).map(|i| a0 + (a1 - a0) * i as f32 / 32.0).map(|a| (cx + rx * a.cos(), cy + ry * a.sin())).collect()
}

/// Things people draw on a digit pad that are not digits, on a 280x280
/// canvas: a smiley, a scribble, a hash sign and a star.
pub fn doodles() -> Vec<(&'static str, Vec<Stroke>)> {
    use std::f32::consts::PI;
    let smiley = vec![
        arc(140.0, 140.0, 100.0, 100.0, 0.0, 2.0 * PI),
        vec![(105.0, 105.0), (105.0, 120.0)],
        vec![(175.0, 105.0), (175.0, 120.0)],
        arc(140.0, 150.0, 55.0, 45.0, 0.2 * PI, 0.8 * PI),
    ];
    let scribble = vec![vec![
        (40.0, 60.0),
        (240.0, 90.0),
        (50.0, 120.0),
        (235.0, 150.0),
        (45.0, 185.0),
        (240.0, 210.0),
        (60.0, 240.0),
    ]];
    let hash = vec![
        vec![(100.0, 40.0), (90.0, 240.0)],
        vec![(180.0, 40.0), (170.0, 240.0)],
        vec![(40.0, 100.0), (240.0, 105.0)],
        vec![(40.0, 180.0), (240.0, 185.0)],
    ];
    let star = vec![
        (0..=5)
            .map(|k| {
                let a = -PI / 2.0 + 4.0 * PI * k as f32 / 5.0;
                (140.0 + 110.0 * a.cos(), 150.0 + 110.0 * a.sin())
            })
            .collect(),
    ];
    vec![("smiley", smiley), ("scribble", scribble), ("hash sign", hash), ("star", star)]
}
