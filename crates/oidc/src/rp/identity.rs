//! FranceConnect's *identité pivot* (userinfo claims) mapped to `ac_mandates::PivotIdentity`.

use ac_mandates::{Email, Gender, PivotIdentity};
use serde_json::Value;
use time::Date;
use time::macros::format_description;

use super::jwt::{Claims, string};
use crate::OidcError;

fn required<'c>(claims: &'c Claims, name: &'static str) -> Result<&'c str, OidcError> {
    string(claims, name)
        .filter(|v| !v.trim().is_empty())
        .ok_or(OidcError::Identity { field: name })
}

/// An optional text claim: absent, `null` and `""` all mean "not given" (FranceConnect sends an
/// empty `birthplace` for people born abroad).
fn optional(claims: &Claims, name: &'static str) -> Result<Option<String>, OidcError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(v)) if v.trim().is_empty() => Ok(None),
        Some(Value::String(v)) => Ok(Some(v.clone())),
        Some(_) => Err(OidcError::Identity { field: name }),
    }
}

pub(crate) fn pivot_identity(claims: &Claims) -> Result<PivotIdentity, OidcError> {
    let birthdate = Date::parse(
        required(claims, "birthdate")?,
        format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| OidcError::Identity { field: "birthdate" })?;
    let gender: Gender = required(claims, "gender")?
        .parse()
        .map_err(|_| OidcError::Identity { field: "gender" })?;
    let email = match optional(claims, "email")? {
        None => None,
        // A malformed optional address is dropped rather than blocking the identification.
        Some(text) => text.parse::<Email>().ok(),
    };
    let identity = PivotIdentity {
        given_name: required(claims, "given_name")?.to_owned(),
        family_name: required(claims, "family_name")?.to_owned(),
        birthdate,
        gender,
        birthplace: optional(claims, "birthplace")?,
        birthcountry: required(claims, "birthcountry")?.to_owned(),
        email,
        preferred_username: optional(claims, "preferred_username")?,
    };
    identity
        .validate()
        .map_err(|e| OidcError::Identity { field: e.code() })?;
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    fn claims(v: Value) -> Claims {
        v.as_object().unwrap().clone()
    }

    fn angela() -> Value {
        json!({
            "sub": "x", "given_name": "Angela Claire Louise", "family_name": "DUBOIS",
            "birthdate": "1962-08-24", "gender": "female", "birthplace": "75107",
            "birthcountry": "99100", "email": "angela@example.fr", "preferred_username": ""
        })
    }

    #[test]
    fn born_in_france_with_several_given_names() {
        let id = pivot_identity(&claims(angela())).unwrap();
        assert_eq!(id.given_name, "Angela Claire Louise");
        assert_eq!(id.birthdate, date!(1962 - 08 - 24));
        assert_eq!(id.gender, Gender::Female);
        assert_eq!(id.birthplace.as_deref(), Some("75107"));
        assert_eq!(
            id.email.as_ref().map(Email::as_str),
            Some("angela@example.fr")
        );
        assert_eq!(id.preferred_username, None);
    }

    #[test]
    fn born_abroad_has_no_birthplace() {
        for place in [json!(""), json!(null)] {
            let mut v = angela();
            v["birthplace"] = place;
            v["birthcountry"] = json!("99350");
            assert_eq!(pivot_identity(&claims(v)).unwrap().birthplace, None);
        }
        let mut missing_place = angela();
        missing_place["birthplace"] = json!("");
        assert!(matches!(
            pivot_identity(&claims(missing_place)),
            Err(OidcError::Identity { field: "MND110" })
        ));
    }

    #[test]
    fn malformed_claims_are_refused_by_name() {
        for (name, value) in [
            ("birthdate", json!("24/08/1962")),
            ("birthdate", json!("1962-02-30")),
            ("gender", json!("F")),
            ("given_name", json!("")),
            ("family_name", json!(null)),
            ("birthcountry", json!(99100)),
            ("birthplace", json!(75107)),
        ] {
            let mut v = angela();
            v[name] = value;
            assert!(
                matches!(pivot_identity(&claims(v)), Err(OidcError::Identity { .. })),
                "{name}"
            );
        }
        let mut bad_mail = angela();
        bad_mail["email"] = json!("not-an-address");
        assert_eq!(pivot_identity(&claims(bad_mail)).unwrap().email, None);
    }
}
