#![doc = include_str!("../README.md")]

mod acr;
mod alg;
mod error;
pub mod op;
mod pseudonym;
pub mod rp;

pub use acr::Acr;
pub use alg::SigningAlg;
pub use error::{OidcError, ProviderErrorCode};
pub use pseudonym::{PseudonymKey, SUBJECT_LEN, usager_subject};
