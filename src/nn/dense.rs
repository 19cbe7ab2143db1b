//! A dense product for the few-row products of the streamed models (Silero's
//! layers, the wake embedding's last layers): `y = b + a w` with 1 to a few
//! rows, where the weights are read once and nothing is packed.
//!
//! The loop is plain Rust, compiled for the SIMD level found at run time
//! (pulp: AVX2 on most x86-64 CPUs, the baseline's SSE2 otherwise). Every
//! level computes the same numbers: a multiply then an add, never fused.

/// `y[r] = b + sum over kk of a[kk][r] * w[kk]`: `a` is `k x m`, one column
/// per output row (`[k][m]`), `w` is `k x n` row-major, `y` is `m x n`
/// row-major, `b` (`n`) or zeros.
///
/// For each `kk`, row `kk` of `w`, scaled, is added to each row of `y`: the
/// rows of `y` stay in the L1 cache and `w` is read once, whatever the number
/// of rows. With 1 to 4 rows such a product is bound by reading the weights.
pub fn product(arch: pulp::Arch, a: &[f32], m: usize, w: &[f32], b: Option<&[f32]>, y: &mut [f32]) {
    arch.dispatch(Product { a, m, w, b, y });
}

struct Product<'a> {
    a: &'a [f32],
    m: usize,
    w: &'a [f32],
    b: Option<&'a [f32]>,
    y: &'a mut [f32],
}

impl pulp::WithSimd for Product<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Self { a, m, w, b, y } = self;
        let n = y.len() / m.max(1);
        if n == 0 {
            return;
        }
        for yr in y.chunks_exact_mut(n) {
            match b {
                Some(b) => yr.copy_from_slice(&b[..n]),
                None => yr.fill(0.0),
            }
        }
        for (ak, wr) in a.chunks_exact(m).zip(w.chunks_exact(n)) {
            for (&v, yr) in ak.iter().zip(y.chunks_exact_mut(n)) {
                for (acc, w) in yr.iter_mut().zip(wr) {
                    *acc += v * w;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_is_the_matrix_product() {
        let (k, m, n) = (7, 3, 19);
        let a: Vec<f32> = (0..k * m).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let b: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        let mut y = vec![f32::NAN; m * n];
        product(pulp::Arch::new(), &a, m, &w, Some(&b), &mut y);
        for r in 0..m {
            for j in 0..n {
                let want: f64 = f64::from(b[j])
                    + (0..k)
                        .map(|kk| f64::from(a[kk * m + r]) * f64::from(w[kk * n + j]))
                        .sum::<f64>();
                assert!((f64::from(y[r * n + j]) - want).abs() < 1e-5, "y[{r}][{j}]");
            }
        }
        product(pulp::Arch::new(), &a, m, &w, None, &mut y);
        assert!((y[0] - (0..k).map(|kk| a[kk * m] * w[kk * n]).sum::<f32>()).abs() < 1e-5);
    }
}
