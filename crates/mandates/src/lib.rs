#![doc = include_str!("../README.md")]

pub mod comprehension;
mod demarche;
pub mod easy_read;
mod error;
pub mod fields;
mod ids;
mod journey;
pub mod legal;
mod mandate;
mod people;
pub mod rules;
pub mod speech;
mod verification;

pub use demarche::Demarche;
pub use error::{FieldError, MandateError, Refusal};
pub use fields::{Departement, Email, Siret};
pub use ids::{AidantId, AuthorizationId, MandateId, OrganisationId, UsagerId};
pub use journey::JourneyRefusal;
pub use mandate::{
    Authorization, EXPIRING_SOON, Mandate, MandateDuration, MandateStatus, Revocation,
    RevocationReason, content_hash,
};
pub use people::{
    Aidant, CoordinatorScope, FRANCE_INSEE_CODE, Gender, Organisation, OrganisationKind,
    PivotIdentity, Usager,
};
pub use verification::{VERIFICATION_CODE_BYTES, VerificationCode};
