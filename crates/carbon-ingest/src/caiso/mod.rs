//! CAISO: OASIS price reports.
pub mod parse;
