//! Reconciliation: before solving, find contracts whose deliveries nest
//! (weeks in a month, months in a quarter, quarters in a calendar) or overlap,
//! and report each arbitrage gap — the parent's price minus the average its
//! children imply, weighted by their hours.
//!
//! Works on the contracts' grid weights, so blocks and holidays are already
//! in: children *tile* a parent when their weights add up to the parent's at
//! every grid point.

use crate::engine::Contract;

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// `children` tile `parent` exactly; `gap = parent price − implied`.
    Nested {
        /// The longer contract.
        parent: String,
        /// The contracts that tile it, in input order.
        children: Vec<String>,
        /// The parent's quote.
        parent_price: f64,
        /// The hour-weighted average of the children's quotes.
        implied: f64,
        /// `parent_price − implied`.
        gap: f64,
    },
    /// Two contracts share delivery hours without one tiling into the other.
    Overlap {
        /// First contract.
        a: String,
        /// Second contract.
        b: String,
    },
}

fn inside(child: &Contract, parent: &Contract) -> bool {
    child
        .weights
        .iter()
        .zip(&parent.weights)
        .all(|(c, p)| *c <= *p + 1e-12)
}

fn shares(a: &Contract, b: &Contract) -> bool {
    a.weights
        .iter()
        .zip(&b.weights)
        .any(|(x, y)| *x > 0.0 && *y > 0.0)
}

/// Every nesting with its gap, and every overlap that is not a nesting.
pub fn findings(contracts: &[Contract]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut explained = std::collections::BTreeSet::new();
    for (pi, parent) in contracts.iter().enumerate() {
        let kids: Vec<usize> = (0..contracts.len())
            .filter(|&k| {
                k != pi
                    && contracts[k].weights != parent.weights
                    && inside(&contracts[k], parent)
                    && shares(&contracts[k], parent)
            })
            .collect();
        // Keep the children that do not overlap each other, earliest first,
        // and see whether they tile the parent.
        let mut chosen: Vec<usize> = Vec::new();
        for k in kids {
            if chosen
                .iter()
                .all(|&c| !shares(&contracts[c], &contracts[k]))
            {
                chosen.push(k);
            }
        }
        if chosen.len() < 2 {
            continue;
        }
        let tiles = (0..parent.weights.len()).all(|i| {
            let sum: f64 = chosen.iter().map(|&k| contracts[k].weights[i]).sum();
            (sum - parent.weights[i]).abs() <= 1e-9
        });
        if !tiles {
            continue;
        }
        let hours = |c: &Contract| c.weights.iter().sum::<f64>();
        let total: f64 = chosen.iter().map(|&k| hours(&contracts[k])).sum();
        let implied = chosen
            .iter()
            .map(|&k| hours(&contracts[k]) * contracts[k].price)
            .sum::<f64>()
            / total;
        for &k in &chosen {
            explained.insert((pi.min(k), pi.max(k)));
        }
        out.push(Finding::Nested {
            parent: parent.name.clone(),
            children: chosen.iter().map(|&k| contracts[k].name.clone()).collect(),
            parent_price: parent.price,
            implied,
            gap: parent.price - implied,
        });
    }
    for a in 0..contracts.len() {
        for b in a + 1..contracts.len() {
            let (ca, cb) = (&contracts[a], &contracts[b]);
            if shares(ca, cb) && !explained.contains(&(a, b)) && !inside(ca, cb) && !inside(cb, ca)
            {
                out.push(Finding::Overlap {
                    a: ca.name.clone(),
                    b: cb.name.clone(),
                });
            }
        }
    }
    out
}
