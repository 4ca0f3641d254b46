//! Validated field types. A value of one of these types has passed its rule, so code further in
//! never re-checks it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::FieldError;

/// Longest free-text field we accept (names, addresses, professions).
pub const MAX_TEXT_LEN: usize = 200;
/// RFC 5321 limits a forward path to 256 octets including brackets, so 254 for the address.
pub const MAX_EMAIL_LEN: usize = 254;

/// Trims and checks a free-text field: non-empty, at most [`MAX_TEXT_LEN`] characters, and no
/// control characters (they would break mail headers, logs and CSV exports).
pub fn text(value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::Empty);
    }
    if value.chars().count() > MAX_TEXT_LEN {
        return Err(FieldError::TooLong);
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::ControlCharacter);
    }
    Ok(value.to_owned())
}

/// An e-mail address, lower-cased so that uniqueness is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = FieldError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim().to_lowercase();
        if value.len() > MAX_EMAIL_LEN {
            return Err(FieldError::TooLong);
        }
        // Deliberately simple: one '@', non-empty parts, a dot in the domain, no spaces or
        // control characters. Deliverability is proven by the sign-in link, not by a regex.
        let (local, domain) = value.split_once('@').ok_or(FieldError::InvalidEmail)?;
        let well_formed = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if well_formed {
            Ok(Email(value))
        } else {
            Err(FieldError::InvalidEmail)
        }
    }
}

impl TryFrom<String> for Email {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An INSEE département code: 01–19, 2A, 2B, 21–95, or an overseas 971–976.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Departement(String);

impl Departement {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Departement {
    type Err = FieldError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim().to_uppercase();
        let valid = match value.as_str() {
            "2A" | "2B" => true,
            two if two.len() == 2 => {
                matches!(two.parse::<u8>(), Ok(n) if (1..=95).contains(&n) && n != 20)
            }
            three if three.len() == 3 => {
                matches!(three.parse::<u16>(), Ok(n) if (971..=976).contains(&n))
            }
            _ => false,
        };
        if valid {
            Ok(Departement(value))
        } else {
            Err(FieldError::InvalidDepartement)
        }
    }
}

impl TryFrom<String> for Departement {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Departement> for String {
    fn from(d: Departement) -> String {
        d.0
    }
}

impl fmt::Display for Departement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A SIRET: 14 digits passing the Luhn check (La Poste's establishments, SIREN 356000000, use a
/// digit-sum rule instead).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Siret(String);

impl Siret {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn luhn_valid(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl FromStr for Siret {
    type Err = FieldError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        let digits: Vec<u32> = value.chars().filter_map(|c| c.to_digit(10)).collect();
        if digits.len() != 14 || value.len() != 14 {
            return Err(FieldError::InvalidSiret);
        }
        let valid = if value.starts_with("356000000") {
            digits.iter().sum::<u32>().is_multiple_of(5)
        } else {
            luhn_valid(&digits)
        };
        if valid {
            Ok(Siret(value))
        } else {
            Err(FieldError::InvalidSiret)
        }
    }
}

impl TryFrom<String> for Siret {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Siret> for String {
    fn from(s: Siret) -> String {
        s.0
    }
}

impl fmt::Display for Siret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lower_cased_and_checked() {
        let email: Email = "  Camille.Martin@Exemple.FR ".parse().unwrap();
        assert_eq!(email.as_str(), "camille.martin@exemple.fr");
        for bad in [
            "", "a", "a@b", "@b.fr", "a@.fr", "a@b.fr.", "a b@c.fr", "a@b@c.fr", "a\n@b.fr",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@exemple.fr", "a".repeat(250));
        assert_eq!(long.parse::<Email>(), Err(FieldError::TooLong));
    }

    #[test]
    fn departement_codes() {
        for good in ["01", "13", "2A", "2b", "95", "971", "976"] {
            assert!(good.parse::<Departement>().is_ok(), "{good} refused");
        }
        for bad in ["00", "20", "96", "977", "1", "2C", "abc", ""] {
            assert_eq!(
                bad.parse::<Departement>(),
                Err(FieldError::InvalidDepartement),
                "{bad}"
            );
        }
    }

    #[test]
    fn siret_luhn() {
        // SIRET of a real public body (DINUM), and La Poste's digit-sum exception.
        assert!("130 025 265 00013".parse::<Siret>().is_ok());
        assert!("35600000000015".parse::<Siret>().is_ok());
        assert_eq!(
            "13002526500014".parse::<Siret>(),
            Err(FieldError::InvalidSiret)
        );
        assert_eq!(
            "1300252650001".parse::<Siret>(),
            Err(FieldError::InvalidSiret)
        );
        assert_eq!(
            "1300252650001a".parse::<Siret>(),
            Err(FieldError::InvalidSiret)
        );
    }

    #[test]
    fn text_fields() {
        assert_eq!(text("  Médiathèque  "), Ok("Médiathèque".to_owned()));
        assert_eq!(text("   "), Err(FieldError::Empty));
        assert_eq!(
            text(&"é".repeat(MAX_TEXT_LEN + 1)),
            Err(FieldError::TooLong)
        );
        assert_eq!(text("a\u{7}b"), Err(FieldError::ControlCharacter));
    }
}
