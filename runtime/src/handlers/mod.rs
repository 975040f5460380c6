//! Challenge handlers: being written.
