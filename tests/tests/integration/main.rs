//! The one integration-test binary of acmebox.

mod sandbox;
