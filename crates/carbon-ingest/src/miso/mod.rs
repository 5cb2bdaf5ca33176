//! MISO: market reports and the public 5-minute API.
pub mod connector;
pub mod parse;
