//! The forward filter (Hamilton 1989) and backward smoother (Kim 1994) for a
//! k-state Markov chain with given per-period emission log-densities — shared
//! by the Markov-switching regression and the Gaussian HMM.

/// Filter and smoother output.
#[derive(Debug, Clone)]
pub struct Filtered {
    /// Log-likelihood `Σ log f(y_t | y_<t)`.
    pub llf: f64,
    /// `Pr(S_t = j | y_<t)`, row-major `T × k`.
    pub predicted: Vec<f64>,
    /// `Pr(S_t = j | y_≤t)`.
    pub filtered: Vec<f64>,
}

/// Hamilton filter. `logf` is `T × k` (row-major) log-densities of each
/// observation under each state; `p[i*k + j] = Pr(S_t = j | S_{t-1} = i)`;
/// `init` the distribution of the first state before seeing data.
pub fn filter(logf: &[f64], k: usize, p: &[f64], init: &[f64]) -> Filtered {
    let t_len = logf.len() / k;
    let mut predicted = vec![0.0; t_len * k];
    let mut filtered = vec![0.0; t_len * k];
    let mut llf = 0.0;
    let mut prior = init.to_vec();
    let mut scratch = vec![0.0; k];
    for t in 0..t_len {
        let l = &logf[t * k..(t + 1) * k];
        predicted[t * k..(t + 1) * k].copy_from_slice(&prior);
        let m = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for j in 0..k {
            scratch[j] = prior[j] * (l[j] - m).exp();
            sum += scratch[j];
        }
        if sum <= 0.0 || !sum.is_finite() {
            llf = f64::NEG_INFINITY;
            sum = 1.0;
            scratch.copy_from_slice(&prior);
        } else {
            llf += m + sum.ln();
        }
        for j in 0..k {
            filtered[t * k + j] = scratch[j] / sum;
        }
        for (j, out) in prior.iter_mut().enumerate() {
            *out = (0..k).map(|i| filtered[t * k + i] * p[i * k + j]).sum();
        }
    }
    Filtered {
        llf,
        predicted,
        filtered,
    }
}

/// A flat row-major matrix (`k` columns) as rows.
pub fn rows(flat: &[f64], k: usize) -> Vec<Vec<f64>> {
    flat.chunks(k).map(<[f64]>::to_vec).collect()
}

/// Flat per-period probabilities (`k` per period) as one row per period,
/// and the most likely state of each period (the argmax).
pub fn rows_and_labels(flat: &[f64], k: usize) -> (Vec<Vec<f64>>, Vec<usize>) {
    let rows = rows(flat, k);
    let labels = rows
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        })
        .collect();
    (rows, labels)
}

/// Kim smoother: `Pr(S_t = j | y_≤T)` (`T × k`) and the summed joint
/// probabilities `Σ_t Pr(S_{t-1} = i, S_t = j | y_≤T)` (`k × k`).
pub fn smooth(f: &Filtered, k: usize, p: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let t_len = f.filtered.len() / k;
    let mut sm = vec![0.0; t_len * k];
    let mut joint = vec![0.0; k * k];
    if t_len == 0 {
        return (sm, joint);
    }
    let last = (t_len - 1) * k;
    sm[last..].copy_from_slice(&f.filtered[last..]);
    let mut ratio = vec![0.0; k];
    for t in (0..t_len - 1).rev() {
        for j in 0..k {
            let pred = f.predicted[(t + 1) * k + j];
            ratio[j] = if pred > 0.0 {
                sm[(t + 1) * k + j] / pred
            } else {
                0.0
            };
        }
        for i in 0..k {
            let fi = f.filtered[t * k + i];
            let mut s = 0.0;
            for j in 0..k {
                let a = fi * p[i * k + j] * ratio[j];
                joint[i * k + j] += a;
                s += a;
            }
            sm[t * k + i] = s;
        }
    }
    (sm, joint)
}

/// The stationary distribution of `p` (solves `πᵀ(I − P) = 0`, `Σπ = 1`).
pub fn ergodic(p: &[f64], k: usize) -> Vec<f64> {
    // Replace one balance equation with the normalisation and solve.
    let mut a = nalgebra::DMatrix::<f64>::zeros(k, k);
    for j in 0..k {
        for i in 0..k {
            a[(j, i)] = if i == j { 1.0 } else { 0.0 } - p[i * k + j];
        }
    }
    for i in 0..k {
        a[(k - 1, i)] = 1.0;
    }
    let mut b = nalgebra::DVector::<f64>::zeros(k);
    b[k - 1] = 1.0;
    match a.lu().solve(&b) {
        Some(x) if x.iter().all(|v| v.is_finite() && *v >= -1e-12) => {
            x.iter().map(|v| v.max(0.0)).collect()
        }
        _ => vec![1.0 / k as f64; k],
    }
}

/// `log N(y; mean, var)`.
pub fn log_normal(y: f64, mean: f64, var: f64) -> f64 {
    let d = y - mean;
    -0.5 * ((2.0 * std::f64::consts::PI * var).ln() + d * d / var)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ergodic_of_two_states() {
        // p11 = 0.9, p21 = 0.3: π1 = 0.3 / (0.1 + 0.3).
        let pi = ergodic(&[0.9, 0.1, 0.3, 0.7], 2);
        assert!((pi[0] - 0.75).abs() < 1e-12 && (pi[1] - 0.25).abs() < 1e-12);
    }

    #[test]
    fn one_state_filter_is_the_iid_likelihood() {
        let y = [1.0, 2.0, -0.5];
        let logf: Vec<f64> = y.iter().map(|v| log_normal(*v, 0.5, 2.0)).collect();
        let f = filter(&logf, 1, &[1.0], &[1.0]);
        assert!((f.llf - logf.iter().sum::<f64>()).abs() < 1e-12);
        let (sm, joint) = smooth(&f, 1, &[1.0]);
        assert!(sm.iter().all(|v| (v - 1.0).abs() < 1e-12));
        assert!((joint[0] - 2.0).abs() < 1e-12);
    }
}
