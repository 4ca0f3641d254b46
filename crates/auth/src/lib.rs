#![doc = include_str!("../README.md")]

mod error;
pub mod otpauth;
mod refusal;
pub mod seal;
mod secret;
pub mod session;
pub mod token;
pub mod totp;

pub use error::AuthError;
pub use refusal::SignInRefusal;
pub use seal::KeyRing;
pub use secret::{Secret, ct_eq};
pub use session::{Policy, SessionState, SessionTimes};
pub use token::{Token, TokenHash};
pub use totp::{TotpCheck, TotpStep};
