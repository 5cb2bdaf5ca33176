//! Integration tests of carbon-ingest.
