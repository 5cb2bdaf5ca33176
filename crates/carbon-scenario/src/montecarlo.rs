//! Monte Carlo bands (stub until the next increment).
