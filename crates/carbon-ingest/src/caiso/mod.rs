//! CAISO: OASIS price reports.
pub mod connector;
pub mod parse;
