//! eIDAS levels of assurance as FranceConnect names them in `acr` / `acr_values`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Ordered: `Eidas1 < Eidas2 < Eidas3`, so "at least the requested level" is `got >= requested`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Acr {
    Eidas1,
    Eidas2,
    Eidas3,
}

impl Acr {
    pub const ALL: [Acr; 3] = [Acr::Eidas1, Acr::Eidas2, Acr::Eidas3];

    pub const fn as_str(self) -> &'static str {
        match self {
            Acr::Eidas1 => "eidas1",
            Acr::Eidas2 => "eidas2",
            Acr::Eidas3 => "eidas3",
        }
    }
}

impl FromStr for Acr {
    type Err = ();
    fn from_str(value: &str) -> Result<Self, ()> {
        Self::ALL
            .into_iter()
            .find(|acr| acr.as_str() == value)
            .ok_or(())
    }
}

impl fmt::Display for Acr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_round_trip() {
        assert!(Acr::Eidas1 < Acr::Eidas2 && Acr::Eidas2 < Acr::Eidas3);
        for acr in Acr::ALL {
            assert_eq!(acr.as_str().parse(), Ok(acr));
        }
        assert!("EIDAS1".parse::<Acr>().is_err());
        assert!("eidas4".parse::<Acr>().is_err());
    }
}
