//! Symmetric pentadiagonal matrices — the roughness `Q` in the grid's own
//! order — and their banded Cholesky factor. `O(n)` memory and work, so an
//! hourly curve over years (tens of thousands of points) costs milliseconds.

/// A symmetric matrix with two bands either side of the diagonal:
/// `d[0][i] = Q[i][i]`, `d[1][i] = Q[i][i+1]`, `d[2][i] = Q[i][i+2]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    d: [Vec<f64>; 3],
}

impl Band {
    /// The zero matrix of size `n`.
    pub fn zeros(n: usize) -> Band {
        Band {
            d: [vec![0.0; n], vec![0.0; n], vec![0.0; n]],
        }
    }

    /// Size.
    pub fn len(&self) -> usize {
        self.d[0].len()
    }

    /// True for the empty matrix.
    pub fn is_empty(&self) -> bool {
        self.d[0].is_empty()
    }

    /// Adds `v · ddᵀ` for a difference stencil `dd` placed at `at`.
    fn stencil(&mut self, at: usize, dd: &[f64], v: f64) {
        for (a, wa) in dd.iter().enumerate() {
            for (b, wb) in dd.iter().enumerate().skip(a) {
                self.d[b - a][at + a] += v * wa * wb;
            }
        }
    }

    /// `D₂ᵀD₂ + τ·D₁ᵀD₁` on `n` points.
    pub fn roughness(n: usize, tension: f64) -> Band {
        let mut q = Band::zeros(n);
        for i in 0..n.saturating_sub(2) {
            q.stencil(i, &[1.0, -2.0, 1.0], 1.0);
        }
        if tension > 0.0 {
            for i in 0..n.saturating_sub(1) {
                q.stencil(i, &[-1.0, 1.0], tension);
            }
        }
        q
    }

    /// Adds `v · (x[i+1] − x[i])²` to the quadratic form.
    pub fn add_first_difference(&mut self, i: usize, v: f64) {
        self.stencil(i, &[-1.0, 1.0], v);
    }

    /// `Q[i][j]` for `|i − j| ≤ 2` (zero outside the band).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        let (lo, hi) = if i <= j { (i, j) } else { (j, i) };
        if hi - lo > 2 {
            0.0
        } else {
            self.d[hi - lo][lo]
        }
    }

    /// `Q x`.
    pub fn mul(&self, x: &[f64]) -> Vec<f64> {
        let n = self.len();
        (0..n)
            .map(|i| {
                let mut s = self.d[0][i] * x[i];
                for k in 1..=2 {
                    if i + k < n {
                        s += self.d[k][i] * x[i + k];
                    }
                    if i >= k {
                        s += self.d[k][i - k] * x[i - k];
                    }
                }
                s
            })
            .collect()
    }

    /// `xᵀ Q x`.
    pub fn quad(&self, x: &[f64]) -> f64 {
        self.mul(x).iter().zip(x).map(|(a, b)| a * b).sum()
    }

    /// The Cholesky factor of `scale · Q + shift · I`; `None` when that is not
    /// positive definite.
    pub fn cholesky(&self, scale: f64, shift: f64) -> Option<Cholesky> {
        let n = self.len();
        let (mut l0, mut l1, mut l2) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for j in 0..n {
            let mut a = scale * self.d[0][j] + shift;
            if j >= 1 {
                a -= l1[j - 1] * l1[j - 1];
            }
            if j >= 2 {
                a -= l2[j - 2] * l2[j - 2];
            }
            if !(a > 0.0 && a.is_finite()) {
                return None;
            }
            let p = a.sqrt();
            l0[j] = p;
            if j + 1 < n {
                let mut b = scale * self.d[1][j];
                if j >= 1 {
                    b -= l2[j - 1] * l1[j - 1];
                }
                l1[j] = b / p;
            }
            if j + 2 < n {
                l2[j] = scale * self.d[2][j] / p;
            }
        }
        Some(Cholesky { l0, l1, l2 })
    }
}

/// `L` with `L Lᵀ = M`: `l0` the diagonal, `l1[i] = L[i+1][i]`, `l2[i] = L[i+2][i]`.
#[derive(Debug, Clone)]
pub struct Cholesky {
    l0: Vec<f64>,
    l1: Vec<f64>,
    l2: Vec<f64>,
}

impl Cholesky {
    /// Solves `M x = b` in place.
    pub fn solve_in_place(&self, b: &mut [f64]) {
        let n = self.l0.len();
        for i in 0..n {
            let mut s = b[i];
            if i >= 1 {
                s -= self.l1[i - 1] * b[i - 1];
            }
            if i >= 2 {
                s -= self.l2[i - 2] * b[i - 2];
            }
            b[i] = s / self.l0[i];
        }
        for i in (0..n).rev() {
            let mut s = b[i];
            if i + 1 < n {
                s -= self.l1[i] * b[i + 1];
            }
            if i + 2 < n {
                s -= self.l2[i] * b[i + 2];
            }
            b[i] = s / self.l0[i];
        }
    }
}
