//! Scenario curves (stub until the next increment).
