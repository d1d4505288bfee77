//! Kingdee K3Cloud WebAPI client: the source end of the pipeline. The producer asks it for one
//! ExecuteBillQuery page at a time ([`KingdeeClient`]), paging by keyset ([`Keyset`], [`Cursor`](crate::record::Cursor)).

mod auth_gate;
mod client;
mod error;
mod keyset;
mod metadata;
mod query;
mod retry;
mod session;
mod sign;

#[cfg(test)]
mod client_tests;

pub use auth_gate::{AuthBackoffSettings, AuthGate};
pub use client::KingdeeClient;
pub use error::{ErrorClass, KingdeeError};
pub use keyset::Keyset;
pub use metadata::{FormField, FormMetadata};
pub use query::BillQuery;

/// reqwest is built without a default crypto provider; rustls uses the process default, so
/// install ring's once. Another part of the program may have installed one already: keep it.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only means another thread won the race; its provider is as good.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    }
}
