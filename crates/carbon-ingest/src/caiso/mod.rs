//! CAISO connector.
pub mod parse;
