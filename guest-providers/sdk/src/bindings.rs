//! Bindings generated from the `acmebox:provider/provider` world.
//!
//! WASI interfaces are not generated here: they map onto the `wasip2` crate, which the `http`
//! module uses directly, so there is one set of WASI types in a provider.

wit_bindgen::generate!({
    world: "acmebox:provider/provider",
    path: "../../wit",
    with: {
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
    },
    additional_derives: [PartialEq, Eq],
    pub_export_macro: true,
    export_macro_name: "export_world",
    default_bindings_module: "$crate::bindings",
});
