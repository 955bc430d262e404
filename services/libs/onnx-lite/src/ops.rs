//! The operators, on one image at a time (batch 1): their attributes, read
//! and checked when the model loads, and the arithmetic.
//!
//! A convolution is an im2col followed by a matrix product whose inner loop
//! runs over the output positions, contiguous in memory, which compilers
//! turn into SIMD (wasm's `simd128` in the browser). The model's 2.6 million
//! multiply-adds take about a millisecond that way.

use crate::RunError;
use crate::tensor::{Tensor, broadcast};

/// A 2-D window: kernel, strides, dilations and padding (top, left, bottom, right).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Steps between windows.
    pub strides: [usize; 2],
    /// Spacing inside a window.
    pub dilations: [usize; 2],
    /// Zero (or -inf) rows and columns added: top, left, bottom, right.
    pub pads: [usize; 4],
}

impl Window {
    /// The output's height and width for an input of `height` x `width`.
    ///
    /// # Errors
    /// When the window does not fit.
    pub fn output(&self, height: usize, width: usize) -> Result<[usize; 2], RunError> {
        let size = |input: usize, pad: usize, kernel: usize, dilation: usize, stride: usize| {
            let reach = dilation * (kernel - 1) + 1;
            (input + pad).checked_sub(reach).map(|room| room / stride + 1)
        };
        match (
            size(height, self.pads[0] + self.pads[2], self.kernel[0], self.dilations[0], self.strides[0]),
            size(width, self.pads[1] + self.pads[3], self.kernel[1], self.dilations[1], self.strides[1]),
        ) {
            (Some(h), Some(w)) => Ok([h, w]),
            _ => Err(RunError::Shape(format!("a {:?} window does not fit {height}x{width}", self.kernel))),
        }
    }
}

/// One operator of the graph, with what it holds.
#[derive(Debug, Clone)]
pub enum Op {
    /// `Conv`: weight `[M, C/group, kh, kw]`, optional bias `[M]`.
    Conv {
        /// The weights, as a `[group][M/group][C/group * kh * kw]` matrix.
        weight: Tensor,
        /// One per output channel.
        bias: Option<Vec<f32>>,
        /// The window.
        window: Window,
        /// Channel groups.
        group: usize,
    },
    /// `Gemm`: `alpha * A' B' + beta * C`.
    Gemm {
        /// Scale of the product.
        alpha: f32,
        /// Scale of `C`.
        beta: f32,
        /// Transpose `A`.
        trans_a: bool,
        /// Transpose `B`.
        trans_b: bool,
    },
    /// `MatMul` of two matrices.
    MatMul,
    /// `Relu`.
    Relu,
    /// `Flatten` at an axis.
    Flatten(usize),
    /// `Reshape` to a shape (0 keeps a size, -1 takes what is left).
    Reshape(Vec<i64>),
    /// `MaxPool`.
    MaxPool(Window),
    /// `AveragePool` (padding not counted).
    AveragePool(Window),
    /// `GlobalAveragePool`.
    GlobalAveragePool,
    /// `BatchNormalization` folded to `x * scale + shift` per channel.
    BatchNorm {
        /// Per channel.
        scale: Vec<f32>,
        /// Per channel.
        shift: Vec<f32>,
    },
    /// `Add`, `Sub`, `Mul`, `Div` with broadcasting.
    Arithmetic(Arithmetic),
    /// `Identity`, and `Dropout` at inference.
    Identity,
}

/// The element-wise operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arithmetic {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
}

impl Op {
    /// Applies the operator to its inputs (after those it holds).
    ///
    /// # Errors
    /// When the inputs do not have the shapes the operator needs.
    pub fn apply(&self, inputs: &[&Tensor]) -> Result<Tensor, RunError> {
        let first = || inputs.first().copied().ok_or_else(|| RunError::Shape("no input".into()));
        match self {
            Self::Conv { weight, bias, window, group } => conv(first()?, weight, bias.as_deref(), window, *group),
            Self::Gemm { alpha, beta, trans_a, trans_b } => {
                let (a, b) = (first()?, inputs.get(1).copied().ok_or_else(|| RunError::Shape("Gemm: no B".into()))?);
                gemm(a, b, inputs.get(2).copied(), *alpha, *beta, *trans_a, *trans_b)
            }
            Self::MatMul => {
                let (a, b) = (first()?, inputs.get(1).copied().ok_or_else(|| RunError::Shape("MatMul: no B".into()))?);
                gemm(a, b, None, 1.0, 0.0, false, false)
            }
            Self::Relu => {
                let x = first()?;
                Tensor::new(x.shape.clone(), x.data.iter().map(|&v| v.max(0.0)).collect())
            }
            Self::Flatten(axis) => {
                let x = first()?;
                let axis = (*axis).min(x.shape.len());
                let (outer, inner) = (x.shape[..axis].iter().product(), x.shape[axis..].iter().product());
                Tensor::new(vec![outer, inner], x.data.clone())
            }
            Self::Reshape(spec) => reshape(first()?, spec),
            Self::MaxPool(window) => pool(first()?, window, f32::NEG_INFINITY, f32::max, |best, _| best),
            Self::AveragePool(window) => pool(first()?, window, 0.0, |sum, v| sum + v, |sum, n| sum / n as f32),
            Self::GlobalAveragePool => {
                let x = first()?;
                let [channels, height, width] = image_shape(x)?;
                let plane = height * width;
                let data = x.data.chunks(plane).map(|c| c.iter().sum::<f32>() / plane as f32).collect();
                Tensor::new(vec![1, channels, 1, 1], data)
            }
            Self::BatchNorm { scale, shift } => {
                let x = first()?;
                let [channels, height, width] = image_shape(x)?;
                if channels != scale.len() {
                    return Err(RunError::Shape(format!(
                        "BatchNormalization of {channels} channels, {} known",
                        scale.len()
                    )));
                }
                let mut data = x.data.clone();
                for (c, plane) in data.chunks_mut(height * width).enumerate() {
                    plane.iter_mut().for_each(|v| *v = *v * scale[c] + shift[c]);
                }
                Tensor::new(x.shape.clone(), data)
            }
            Self::Arithmetic(kind) => {
                let (a, b) = (first()?, inputs.get(1).copied().ok_or_else(|| RunError::Shape("one operand".into()))?);
                match kind {
                    Arithmetic::Add => broadcast(a, b, |x, y| x + y),
                    Arithmetic::Sub => broadcast(a, b, |x, y| x - y),
                    Arithmetic::Mul => broadcast(a, b, |x, y| x * y),
                    Arithmetic::Div => broadcast(a, b, |x, y| x / y),
                }
            }
            Self::Identity => Ok(first()?.clone()),
        }
    }
}

/// `[channels, height, width]` of a `[1, C, H, W]` tensor.
fn image_shape(x: &Tensor) -> Result<[usize; 3], RunError> {
    match x.shape[..] {
        [1, c, h, w] => Ok([c, h, w]),
        _ => Err(RunError::Shape(format!("expected one image [1, C, H, W], got {:?}", x.shape))),
    }
}

fn conv(x: &Tensor, weight: &Tensor, bias: Option<&[f32]>, window: &Window, group: usize) -> Result<Tensor, RunError> {
    let [channels, height, width] = image_shape(x)?;
    let (outputs, per_group_in) = (weight.shape[0], weight.shape[1]);
    if channels != per_group_in * group || outputs % group != 0 {
        return Err(RunError::Shape(format!("Conv of {channels} channels with weights {:?}", weight.shape)));
    }
    let [out_h, out_w] = window.output(height, width)?;
    let positions = out_h * out_w;
    let k = per_group_in * window.kernel[0] * window.kernel[1];
    let per_group_out = outputs / group;
    let mut out = vec![0f32; outputs * positions];
    let mut columns = vec![0f32; k * positions];
    for g in 0..group {
        im2col(
            &x.data[g * per_group_in * height * width..][..per_group_in * height * width],
            [per_group_in, height, width],
            window,
            [out_h, out_w],
            &mut columns,
        );
        for m in g * per_group_out..(g + 1) * per_group_out {
            let row = &mut out[m * positions..(m + 1) * positions];
            row.fill(bias.map_or(0.0, |b| b[m]));
            for (w, column) in weight.data[m * k..(m + 1) * k].iter().zip(columns.chunks_exact(positions)) {
                if *w != 0.0 {
                    axpy(row, *w, column);
                }
            }
        }
    }
    Tensor::new(vec![1, outputs, out_h, out_w], out)
}

/// `y += a * x`: the inner loop of every product here.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `y += a * x`, four lanes at a time: the web app's build for browsers with
/// wasm SIMD. Written out, because the app is optimised for size (and linked
/// with LTO), where LLVM does not vectorise loops by itself. Multiplying and
/// then adding, as the scalar loop does, gives the same sums bit for bit.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
#[allow(unsafe_code)]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    use core::arch::wasm32::{f32x4_add, f32x4_mul, f32x4_splat, v128, v128_load, v128_store};
    let n = y.len().min(x.len());
    let lanes = n / 4 * 4;
    let a4 = f32x4_splat(a);
    for i in (0..lanes).step_by(4) {
        // SAFETY: i + 4 <= n, within both slices; wasm's v128 load and store
        // take any alignment, and y (a &mut) overlaps nothing.
        unsafe {
            let yp = y.as_mut_ptr().add(i).cast::<v128>();
            let xp = x.as_ptr().add(i).cast::<v128>();
            v128_store(yp, f32x4_add(v128_load(yp), f32x4_mul(a4, v128_load(xp))));
        }
    }
    for (y, x) in y[lanes..n].iter_mut().zip(&x[lanes..n]) {
        *y += a * x;
    }
}

/// Lays out every window of `input` (`[C, H, W]`) as a column: row `(c, ky,
/// kx)` of `columns` holds that tap for each output position (0 in the padding).
fn im2col(
    input: &[f32],
    [channels, height, width]: [usize; 3],
    w: &Window,
    [out_h, out_w]: [usize; 2],
    columns: &mut [f32],
) {
    let mut row = 0;
    for c in 0..channels {
        let plane = &input[c * height * width..(c + 1) * height * width];
        for ky in 0..w.kernel[0] {
            for kx in 0..w.kernel[1] {
                let dest = &mut columns[row * out_h * out_w..(row + 1) * out_h * out_w];
                for oy in 0..out_h {
                    let iy = (oy * w.strides[0] + ky * w.dilations[0]).wrapping_sub(w.pads[0]);
                    let dest = &mut dest[oy * out_w..(oy + 1) * out_w];
                    if iy >= height {
                        dest.fill(0.0);
                        continue;
                    }
                    for (ox, d) in dest.iter_mut().enumerate() {
                        let ix = (ox * w.strides[1] + kx * w.dilations[1]).wrapping_sub(w.pads[1]);
                        *d = if ix < width { plane[iy * width + ix] } else { 0.0 };
                    }
                }
                row += 1;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn gemm(
    a: &Tensor,
    b: &Tensor,
    c: Option<&Tensor>,
    alpha: f32,
    beta: f32,
    trans_a: bool,
    trans_b: bool,
) -> Result<Tensor, RunError> {
    let matrix = |t: &Tensor, transposed: bool| match t.shape[..] {
        [rows, cols] => Ok(if transposed { (cols, rows) } else { (rows, cols) }),
        _ => Err(RunError::Shape(format!("Gemm of a {:?} tensor", t.shape))),
    };
    let ((m, k), (k2, n)) = (matrix(a, trans_a)?, matrix(b, trans_b)?);
    if k != k2 {
        return Err(RunError::Shape(format!("Gemm of {m}x{k} and {k2}x{n}")));
    }
    let at = |i: usize, p: usize| if trans_a { a.data[p * m + i] } else { a.data[i * k + p] };
    let mut out = vec![0f32; m * n];
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        if trans_b {
            // B is [n, k]: each output is a dot product of contiguous rows.
            for (j, y) in row.iter_mut().enumerate() {
                let b_row = &b.data[j * k..(j + 1) * k];
                *y = (0..k).map(|p| at(i, p) * b_row[p]).sum::<f32>() * alpha;
            }
        } else {
            for p in 0..k {
                axpy(row, at(i, p) * alpha, &b.data[p * n..(p + 1) * n]);
            }
        }
    }
    let mut y = Tensor::new(vec![m, n], out)?;
    if let Some(c) = c.filter(|_| beta != 0.0) {
        y = broadcast(&y, c, |v, c| v + beta * c)?;
    }
    Ok(y)
}

fn reshape(x: &Tensor, spec: &[i64]) -> Result<Tensor, RunError> {
    let mut shape = Vec::with_capacity(spec.len());
    let mut unknown = None;
    for (i, &s) in spec.iter().enumerate() {
        match s {
            0 => shape.push(*x.shape.get(i).ok_or_else(|| RunError::Shape(format!("Reshape {spec:?}")))?),
            -1 if unknown.is_none() => {
                unknown = Some(i);
                shape.push(1);
            }
            s if s > 0 => shape.push(usize::try_from(s).map_err(|_| RunError::Shape(format!("Reshape {spec:?}")))?),
            _ => return Err(RunError::Shape(format!("Reshape {spec:?}"))),
        }
    }
    if let Some(i) = unknown {
        let known: usize = shape.iter().product();
        shape[i] = x.len() / known.max(1);
    }
    Tensor::new(shape, x.data.clone())
}

fn pool(
    x: &Tensor,
    w: &Window,
    start: f32,
    fold: impl Fn(f32, f32) -> f32,
    finish: impl Fn(f32, usize) -> f32,
) -> Result<Tensor, RunError> {
    let [channels, height, width] = image_shape(x)?;
    let [out_h, out_w] = w.output(height, width)?;
    let mut out = Vec::with_capacity(channels * out_h * out_w);
    for plane in x.data.chunks(height * width) {
        for oy in 0..out_h {
            for ox in 0..out_w {
                let (mut acc, mut taken) = (start, 0);
                for ky in 0..w.kernel[0] {
                    let iy = (oy * w.strides[0] + ky * w.dilations[0]).wrapping_sub(w.pads[0]);
                    for kx in 0..w.kernel[1] {
                        let ix = (ox * w.strides[1] + kx * w.dilations[1]).wrapping_sub(w.pads[1]);
                        if iy < height && ix < width {
                            acc = fold(acc, plane[iy * width + ix]);
                            taken += 1;
                        }
                    }
                }
                out.push(finish(acc, taken.max(1)));
            }
        }
    }
    Tensor::new(vec![1, channels, out_h, out_w], out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(kernel: usize, stride: usize, pad: usize) -> Window {
        Window { kernel: [kernel; 2], strides: [stride; 2], dilations: [1; 2], pads: [pad; 4] }
    }

    /// The convolution by its definition, loop by loop.
    fn naive_conv(x: &Tensor, weight: &Tensor, bias: &[f32], w: &Window) -> Vec<f32> {
        let [c, h, wd] = image_shape(x).expect("an image");
        let m = weight.shape[0];
        let [oh, ow] = w.output(h, wd).expect("fits");
        let mut out = vec![0f32; m * oh * ow];
        for o in 0..m {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut sum = bias[o];
                    for ic in 0..c {
                        for ky in 0..w.kernel[0] {
                            for kx in 0..w.kernel[1] {
                                let iy = (oy * w.strides[0] + ky) as isize - w.pads[0] as isize;
                                let ix = (ox * w.strides[1] + kx) as isize - w.pads[1] as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                    let v = x.data[(ic * h + iy as usize) * wd + ix as usize];
                                    let k = weight.data[((o * c + ic) * w.kernel[0] + ky) * w.kernel[1] + kx];
                                    sum += v * k;
                                }
                            }
                        }
                    }
                    out[(o * oh + oy) * ow + ox] = sum;
                }
            }
        }
        out
    }

    #[test]
    fn the_im2col_convolution_is_the_convolution_by_definition() {
        let values = |n: usize, seed: f32| (0..n).map(|i| (i as f32 * 0.37 + seed).sin()).collect::<Vec<_>>();
        for (kernel, stride, pad) in [(5, 2, 2), (3, 2, 1), (3, 1, 1), (1, 1, 0)] {
            let x = Tensor::new(vec![1, 3, 9, 7], values(3 * 9 * 7, 0.1)).expect("x");
            let weight = Tensor::new(vec![4, 3, kernel, kernel], values(4 * 3 * kernel * kernel, 0.7)).expect("w");
            let bias = values(4, 1.3);
            let w = window(kernel, stride, pad);
            let fast = conv(&x, &weight, Some(&bias), &w, 1).expect("conv");
            let slow = naive_conv(&x, &weight, &bias, &w);
            assert_eq!(fast.data.len(), slow.len());
            for (a, b) in fast.data.iter().zip(&slow) {
                assert!((a - b).abs() < 1e-5, "{kernel}x{kernel} stride {stride}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn gemm_with_a_transposed_b_and_a_bias_row() {
        let a = Tensor::new(vec![1, 3], vec![1.0, 2.0, 3.0]).expect("a");
        let b = Tensor::new(vec![2, 3], vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0]).expect("b");
        let c = Tensor::new(vec![2], vec![10.0, 20.0]).expect("c");
        let y = gemm(&a, &b, Some(&c), 1.0, 1.0, false, true).expect("gemm");
        assert_eq!((y.shape, y.data), (vec![1, 2], vec![14.0, 22.0]));
    }

    #[test]
    fn pools_and_reshapes() {
        let x = Tensor::new(vec![1, 1, 2, 2], vec![1.0, 5.0, 3.0, 2.0]).expect("x");
        assert_eq!(Op::MaxPool(window(2, 2, 0)).apply(&[&x]).expect("max").data, [5.0]);
        assert_eq!(Op::AveragePool(window(2, 2, 0)).apply(&[&x]).expect("avg").data, [2.75]);
        assert_eq!(Op::Reshape(vec![0, -1]).apply(&[&x]).expect("reshape").shape, [1, 4]);
        assert_eq!(Op::Flatten(1).apply(&[&x]).expect("flatten").shape, [1, 4]);
    }
}
