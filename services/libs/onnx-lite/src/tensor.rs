//! A dense `f32` tensor in row-major order, and numpy-style broadcasting.

use crate::RunError;

/// A dense tensor: its shape and its values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Sizes, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor of `shape` holding `data`.
    ///
    /// # Errors
    /// When `data` does not have as many values as `shape` says.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, RunError> {
        let expected: usize = shape.iter().product();
        if expected != data.len() {
            return Err(RunError::Shape(format!("{} values for shape {shape:?}", data.len())));
        }
        Ok(Self { shape, data })
    }

    /// Values in all.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// `f(a, b)` element by element, with numpy's broadcasting (shapes aligned
/// on the right; a size of 1 stretches).
///
/// # Errors
/// When the shapes do not broadcast.
pub fn broadcast(a: &Tensor, b: &Tensor, f: impl Fn(f32, f32) -> f32) -> Result<Tensor, RunError> {
    if a.shape == b.shape {
        let data = a.data.iter().zip(&b.data).map(|(&x, &y)| f(x, y)).collect();
        return Tensor::new(a.shape.clone(), data);
    }
    let rank = a.shape.len().max(b.shape.len());
    let padded = |shape: &[usize]| {
        let mut full = vec![1; rank - shape.len()];
        full.extend_from_slice(shape);
        full
    };
    let (sa, sb) = (padded(&a.shape), padded(&b.shape));
    let mut shape = Vec::with_capacity(rank);
    for (&x, &y) in sa.iter().zip(&sb) {
        shape.push(match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(RunError::Shape(format!("{:?} and {:?} do not broadcast", a.shape, b.shape))),
        });
    }
    // Strides of each operand over the output's index, 0 where it stretches.
    let strides = |full: &[usize]| {
        let mut strides = vec![0; rank];
        let mut step = 1;
        for i in (0..rank).rev() {
            strides[i] = if full[i] == 1 { 0 } else { step };
            step *= full[i];
        }
        strides
    };
    let (ta, tb) = (strides(&sa), strides(&sb));
    let total: usize = shape.iter().product();
    let mut data = Vec::with_capacity(total);
    let mut index = vec![0usize; rank];
    for _ in 0..total {
        let ia: usize = index.iter().zip(&ta).map(|(i, s)| i * s).sum();
        let ib: usize = index.iter().zip(&tb).map(|(i, s)| i * s).sum();
        data.push(f(a.data[ia], b.data[ib]));
        for d in (0..rank).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Tensor::new(shape, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scalar_and_a_row_broadcast_over_a_matrix() {
        let m = Tensor::new(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).expect("2x3");
        let s = Tensor::new(vec![], vec![10.0]).expect("scalar");
        assert_eq!(broadcast(&m, &s, |x, y| x + y).expect("adds").data, [11.0, 12.0, 13.0, 14.0, 15.0, 16.0]);
        let col = Tensor::new(vec![2, 1], vec![1.0, 2.0]).expect("2x1");
        let out = broadcast(&m, &col, |x, y| x * y).expect("multiplies");
        assert_eq!((out.shape, out.data), (vec![2, 3], vec![1.0, 2.0, 3.0, 8.0, 10.0, 12.0]));
        let bad = Tensor::new(vec![2], vec![1.0, 2.0]).expect("2");
        assert!(broadcast(&m, &bad, |x, _| x).is_err());
    }
}
