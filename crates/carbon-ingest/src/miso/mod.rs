//! MISO connector.
pub mod parse;
