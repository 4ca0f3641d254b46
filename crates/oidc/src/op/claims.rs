//! What the provider asserts: the id_token's claims (OIDC Core §2, §3.1.3.6) and userinfo's
//! (§5.3), filtered by the granted scopes.

use ac_mandates::PivotIdentity;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::jws::Claims;
use super::scope::released_claims;
use crate::Acr;

/// OIDC Core §3.1.3.6: base64url of the left-most half of SHA-256 of the access token (every
/// algorithm we sign with hashes with SHA-256).
pub fn at_hash(access_token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref().get(..16).unwrap_or_default())
}

/// Who acted for the usager: RFC 8693 §4.1 `act`, added for clients registered to receive it.
/// The identifiers are ours (opaque ids), never a name or an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor<'a> {
    pub aidant_id: &'a str,
    pub organisation_id: &'a str,
}

impl Actor<'_> {
    fn claim(&self, issuer: &str) -> Value {
        json!({ "sub": self.aidant_id, "iss": issuer, "structure": self.organisation_id })
    }
}

/// The facts of one issued token that the id_token states.
#[derive(Debug, Clone)]
pub struct IdTokenFacts<'a> {
    pub issuer: &'a str,
    /// The usager's stable pseudonym (`usagers.subject`).
    pub subject: &'a str,
    pub client_id: &'a str,
    pub nonce: Option<&'a str>,
    /// When the aidant last proved their identity with their second factor.
    pub auth_time: OffsetDateTime,
    pub acr: Acr,
    pub access_token: &'a str,
    pub now: OffsetDateTime,
    /// Lifetime of the token; equal to the access token's.
    pub ttl: time::Duration,
    /// FranceConnect's delegation scope of the démarche chosen, when the client asked for the
    /// `rep_scope` claim.
    pub rep_scope: Option<&'a str>,
    pub actor: Option<Actor<'a>>,
}

/// OIDC Core §2 and §3.1.3.6–7: `iss`, `sub`, `aud`, `exp`, `iat`, `auth_time`, `nonce` (when
/// the request had one), `acr`, `at_hash`; `azp` is not needed with a single audience.
pub fn id_token_claims(facts: &IdTokenFacts<'_>) -> Claims {
    let mut claims = Claims::new();
    claims.insert("iss".into(), json!(facts.issuer));
    claims.insert("sub".into(), json!(facts.subject));
    claims.insert("aud".into(), json!(facts.client_id));
    claims.insert(
        "exp".into(),
        json!((facts.now + facts.ttl).unix_timestamp()),
    );
    claims.insert("iat".into(), json!(facts.now.unix_timestamp()));
    claims.insert("auth_time".into(), json!(facts.auth_time.unix_timestamp()));
    if let Some(nonce) = facts.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("acr".into(), json!(facts.acr.as_str()));
    claims.insert("at_hash".into(), json!(at_hash(facts.access_token)));
    if let Some(scope) = facts.rep_scope {
        claims.insert("rep_scope".into(), json!([scope]));
    }
    if let Some(actor) = &facts.actor {
        claims.insert("act".into(), actor.claim(facts.issuer));
    }
    claims
}

/// The value of one identity claim, in FranceConnect's formats: `birthdate` `YYYY-MM-DD`,
/// `gender` `male`/`female`, `birthplace` empty for people born abroad. `None` when the usager
/// has no such value (no e-mail address, no usual name).
fn claim_value(identity: &PivotIdentity, claim: &str) -> Option<Value> {
    let text = |s: &str| Some(Value::String(s.to_owned()));
    match claim {
        "given_name" => text(&identity.given_name),
        "family_name" => text(&identity.family_name),
        "birthdate" => {
            let d = identity.birthdate;
            Some(json!(format!(
                "{:04}-{:02}-{:02}",
                d.year(),
                u8::from(d.month()),
                d.day()
            )))
        }
        "gender" => text(identity.gender.key()),
        "birthplace" => text(identity.birthplace.as_deref().unwrap_or_default()),
        "birthcountry" => text(&identity.birthcountry),
        "email" => identity.email.as_ref().and_then(|e| text(e.as_str())),
        "preferred_username" => identity.preferred_username.as_deref().and_then(text),
        _ => None,
    }
}

/// Userinfo (OIDC Core §5.3.2): `sub` and only the claims of the granted scopes. A signed
/// response also carries `iss` and `aud` (§5.3.2) and, like FranceConnect's, `iat`/`exp`.
pub fn userinfo_claims(
    subject: &str,
    scopes: &[String],
    identity: &PivotIdentity,
    signed: Option<(&str, &str, OffsetDateTime, time::Duration)>,
) -> Claims {
    let mut claims = Claims::new();
    claims.insert("sub".into(), json!(subject));
    for claim in released_claims(scopes) {
        if let Some(value) = claim_value(identity, claim) {
            claims.insert(claim.to_owned(), value);
        }
    }
    if let Some((issuer, client_id, now, ttl)) = signed {
        claims.insert("iss".into(), json!(issuer));
        claims.insert("aud".into(), json!(client_id));
        claims.insert("iat".into(), json!(now.unix_timestamp()));
        claims.insert("exp".into(), json!((now + ttl).unix_timestamp()));
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use ac_mandates::Gender;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn identity() -> PivotIdentity {
        PivotIdentity {
            given_name: "Angela Claire Louise".into(),
            family_name: "DUBOIS".into(),
            birthdate: date!(1962 - 08 - 04),
            gender: Gender::Female,
            birthplace: Some("75107".into()),
            birthcountry: "99100".into(),
            email: Some("angela@exemple.fr".parse().unwrap()),
            preferred_username: None,
        }
    }

    #[test]
    fn at_hash_test_vector() {
        // OIDC Core 1.0 Appendix A.4 (id_token with at_hash, SHA-256).
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn id_token_has_every_required_claim() {
        let facts = IdTokenFacts {
            issuer: "https://ac.example",
            subject: "pseudonym",
            client_id: "fc",
            nonce: Some("n-0123456789"),
            auth_time: NOW - time::Duration::minutes(3),
            acr: Acr::Eidas1,
            access_token: "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
            now: NOW,
            ttl: time::Duration::seconds(60),
            rep_scope: Some("social_sante"),
            actor: Some(Actor {
                aidant_id: "a-1",
                organisation_id: "o-1",
            }),
        };
        let claims = id_token_claims(&facts);
        assert_eq!(claims["iss"], "https://ac.example");
        assert_eq!(claims["sub"], "pseudonym");
        assert_eq!(claims["aud"], "fc");
        assert_eq!(claims["iat"], NOW.unix_timestamp());
        assert_eq!(claims["exp"], NOW.unix_timestamp() + 60);
        assert_eq!(claims["auth_time"], NOW.unix_timestamp() - 180);
        assert_eq!(claims["nonce"], "n-0123456789");
        assert_eq!(claims["acr"], "eidas1");
        assert_eq!(claims["at_hash"], "77QmUPtjPfzWtF2AnpK9RQ");
        assert_eq!(claims["rep_scope"], json!(["social_sante"]));
        assert_eq!(claims["act"]["sub"], "a-1");
        assert_eq!(claims["act"]["structure"], "o-1");
        let bare = id_token_claims(&IdTokenFacts {
            nonce: None,
            rep_scope: None,
            actor: None,
            ..facts
        });
        for absent in ["nonce", "rep_scope", "act"] {
            assert!(!bare.contains_key(absent), "{absent}");
        }
    }

    #[test]
    fn userinfo_releases_only_granted_claims() {
        let scopes: Vec<String> = ["openid", "birth"].map(String::from).to_vec();
        let claims = userinfo_claims("pseudonym", &scopes, &identity(), None);
        assert_eq!(
            serde_json::Value::Object(claims),
            json!({"sub": "pseudonym", "birthplace": "75107", "birthcountry": "99100"})
        );
        let scopes: Vec<String> = ["openid", "profile", "email"].map(String::from).to_vec();
        let claims = userinfo_claims("s", &scopes, &identity(), None);
        assert_eq!(claims["birthdate"], "1962-08-04");
        assert_eq!(claims["gender"], "female");
        assert_eq!(claims["email"], "angela@exemple.fr");
        assert!(!claims.contains_key("preferred_username"), "none to give");
        assert!(!claims.contains_key("birthplace"));
        assert!(!claims.contains_key("iss"));
        let signed = userinfo_claims(
            "s",
            &scopes,
            &identity(),
            Some(("https://ac.example", "fc", NOW, time::Duration::seconds(60))),
        );
        assert_eq!(signed["iss"], "https://ac.example");
        assert_eq!(signed["aud"], "fc");
    }

    #[test]
    fn born_abroad_has_an_empty_birthplace() {
        let abroad = PivotIdentity {
            birthplace: None,
            birthcountry: "99217".into(),
            ..identity()
        };
        let scopes: Vec<String> = ["openid", "identite_pivot"].map(String::from).to_vec();
        let claims = userinfo_claims("s", &scopes, &abroad, None);
        assert_eq!(claims["birthplace"], "");
        assert_eq!(claims["birthcountry"], "99217");
    }
}
