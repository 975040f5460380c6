//! Helpers for the integration tests.

pub mod http_server;
