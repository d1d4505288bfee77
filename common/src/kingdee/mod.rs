//! Kingdee K3Cloud WebAPI client: the source end of the pipeline. The producer asks it for one
//! ExecuteBillQuery page at a time ([`KingdeeClient`]), paging by keyset ([`Keyset`], [`Cursor`]).

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
pub use client::{KingdeeClient, install_crypto_provider};
pub use error::{ErrorClass, KingdeeError};
pub use keyset::Keyset;
pub use metadata::{FormField, FormMetadata};
pub use query::BillQuery;
