//! One error type over every layer, for embedders that use several.

use std::fmt;

/// Result alias of the facade.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error of any layer. Each variant holds that layer's own error, whose message it shows.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// From the challenge vocabulary or a handler.
    Challenge(crate::challenge::Error),
    /// From the egress policy.
    #[cfg(feature = "egress")]
    Egress(crate::egress::Error),
    /// From a DNS-01 propagation check.
    #[cfg(feature = "propagation")]
    Propagation(crate::propagation::Error),
    /// From the sandbox host or the config file.
    #[cfg(feature = "sandbox")]
    Sandbox(crate::sandbox::Error),
    /// From the ACME client.
    #[cfg(feature = "client")]
    Client(crate::client::Error),
    /// From an ACME client's hook.
    #[cfg(feature = "hooks")]
    Hooks(crate::hooks::Error),
    /// From the conformance kit.
    #[cfg(feature = "conformance")]
    Conformance(crate::conformance::Error),
}

impl Error {
    fn inner(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            Error::Challenge(err) => err,
            #[cfg(feature = "egress")]
            Error::Egress(err) => err,
            #[cfg(feature = "propagation")]
            Error::Propagation(err) => err,
            #[cfg(feature = "sandbox")]
            Error::Sandbox(err) => err,
            #[cfg(feature = "client")]
            Error::Client(err) => err,
            #[cfg(feature = "hooks")]
            Error::Hooks(err) => err,
            #[cfg(feature = "conformance")]
            Error::Conformance(err) => err,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner(), f)
    }
}

/// Transparent: the layer's error is this error, not its cause, so `source` is the layer's.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner().source()
    }
}

macro_rules! from_layer {
    ($($feature:literal => $variant:ident($ty:ty)),* $(,)?) => {$(
        #[cfg(feature = $feature)]
        impl From<$ty> for Error {
            fn from(err: $ty) -> Self {
                Error::$variant(err)
            }
        }
    )*};
}

impl From<crate::challenge::Error> for Error {
    fn from(err: crate::challenge::Error) -> Self {
        Error::Challenge(err)
    }
}

from_layer! {
    "egress" => Egress(crate::egress::Error),
    "propagation" => Propagation(crate::propagation::Error),
    "sandbox" => Sandbox(crate::sandbox::Error),
    "client" => Client(crate::client::Error),
    "hooks" => Hooks(crate::hooks::Error),
    "conformance" => Conformance(crate::conformance::Error),
}
