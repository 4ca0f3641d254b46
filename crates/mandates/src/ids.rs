//! Identifiers are opaque text (UUIDs in practice) wrapped in one type per kind of record, so an
//! aidant id can never be passed where a usager id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    )*};
}

id_type!(
    /// A partner structure (*structure*, `organisation` in the data).
    OrganisationId,
    /// An aidant account (also référents and coordinators).
    AidantId,
    /// A person helped (*aidé*, `usager` in the data).
    UsagerId,
    MandateId,
    AuthorizationId,
);
