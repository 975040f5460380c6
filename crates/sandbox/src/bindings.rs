//! Host bindings generated from `wit/` (world `acmebox:provider/provider`).
//!
//! `wasi:http` and its dependencies map to the types of `wasmtime-wasi-http` and
//! `wasmtime-wasi`, so the outgoing handler is theirs and only its `send_request` hook is ours.

mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "acmebox:provider/provider",
        exports: { default: async },
        require_store_data_send: true,
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        },
    });
}

pub(crate) use generated::ProviderPre;
pub(crate) use generated::acmebox::provider::{config, log, types};
