//! Tokens no honest provider sends, served by a forging provider written for these tests
//! (`support::ForgingOp`: discovery, a JWKS we control, token and userinfo endpoints returning what
//! the test sets). The tokens are signed here with `jsonwebtoken` and ES256 keys made with ring.
//! Each case is refused with its own typed error; the first test shows the same setup succeeds
//! when nothing is forged, so the refusals are not accidents.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use ac_oidc::rp::{AuthorizationCode, Identification, PendingLogin, ProtocolVersion, RelyingParty};
use ac_oidc::{OidcError, PseudonymKey, SigningAlg, usager_subject};
use serde_json::{Value, json};
use std::time::Duration;
use support::*;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

struct Setup {
    op: ForgingOp,
    rp: RelyingParty,
    key: EcKey,
    pending: PendingLogin,
}

async fn setup_with(version: ProtocolVersion, algorithms: Vec<SigningAlg>) -> Setup {
    let key = EcKey::generate("key-1");
    let op = ForgingOp::start(json!({ "keys": [key.jwk()] })).await;
    let rp = RelyingParty::discover(rp_config(&op.issuer, version, algorithms), NOW)
        .await
        .unwrap();
    let (_, pending) = rp.begin(None, "b", NOW).unwrap();
    Setup {
        op,
        rp,
        key,
        pending,
    }
}

async fn setup() -> Setup {
    setup_with(
        ProtocolVersion::V2,
        vec![SigningAlg::ES256, SigningAlg::RS256],
    )
    .await
}

impl Setup {
    fn id_claims(&self) -> Value {
        let now = NOW.unix_timestamp();
        json!({
            "iss": self.op.issuer, "sub": "sub-angela", "aud": CLIENT_ID,
            "exp": now + 60, "iat": now, "nonce": self.pending.nonce.expose(), "acr": "eidas1",
        })
    }

    fn userinfo_claims(&self) -> Value {
        json!({
            "iss": self.op.issuer, "aud": CLIENT_ID, "sub": "sub-angela",
            "given_name": "Angela Claire Louise", "family_name": "DUBOIS",
            "birthdate": "1962-08-24", "gender": "female", "birthplace": "75107",
            "birthcountry": "99100",
        })
    }

    /// Serves `id_token`, and the honest signed userinfo.
    fn serve(&self, id_token: String) {
        let userinfo = self.key.sign(&self.userinfo_claims());
        self.serve_both(id_token, userinfo);
    }

    fn serve_both(&self, id_token: String, userinfo: String) {
        self.op.set(|f| {
            f.id_token = id_token;
            f.userinfo = userinfo;
        });
    }

    fn with(&self, base: Value, change: impl FnOnce(&mut Value)) -> Value {
        let mut claims = base;
        change(&mut claims);
        claims
    }

    async fn complete(&self) -> Result<Identification, OidcError> {
        self.rp
            .complete(AuthorizationCode::new("code".into()), &self.pending, NOW)
            .await
    }

    async fn refused(&self) -> OidcError {
        match self.complete().await {
            Ok(who) => panic!("accepted: {who:?}"),
            Err(e) => e,
        }
    }
}

#[actix_web::test]
async fn the_honest_case_passes_and_yields_only_the_pseudonym() {
    let s = setup().await;
    s.serve(s.key.sign(&s.id_claims()));
    let who = s.complete().await.unwrap();
    let key = PseudonymKey::new(&[42; 32]).unwrap();
    assert_eq!(
        who.subject,
        usager_subject(&key, &s.op.issuer, "sub-angela")
    );
    assert_eq!(who.identity.family_name, "DUBOIS");
    assert!(
        !format!("{who:?}").contains("sub-angela"),
        "no raw sub in Debug"
    );
}

#[actix_web::test]
async fn wrong_issuer() {
    let s = setup().await;
    let claims = s.with(s.id_claims(), |c| c["iss"] = json!("https://evil.example"));
    s.serve(s.key.sign(&claims));
    assert!(matches!(s.refused().await, OidcError::WrongIssuer));
    // The signed userinfo is held to the same issuer.
    let userinfo = s.with(s.userinfo_claims(), |c| {
        c["iss"] = json!("https://evil.example")
    });
    s.serve_both(s.key.sign(&s.id_claims()), s.key.sign(&userinfo));
    assert!(matches!(s.refused().await, OidcError::WrongIssuer));
}

#[actix_web::test]
async fn wrong_audience() {
    let s = setup().await;
    for change in [
        json!({"aud": "another-client"}),
        json!({"aud": [CLIENT_ID, "another-client"]}),
        json!({"aud": CLIENT_ID, "azp": "another-client"}),
    ] {
        let claims = s.with(s.id_claims(), |c| {
            for (k, v) in change.as_object().unwrap() {
                c[k] = v.clone();
            }
        });
        s.serve(s.key.sign(&claims));
        assert!(
            matches!(s.refused().await, OidcError::WrongAudience),
            "{change}"
        );
    }
    let userinfo = s.with(s.userinfo_claims(), |c| c["aud"] = json!("another-client"));
    s.serve_both(s.key.sign(&s.id_claims()), s.key.sign(&userinfo));
    assert!(matches!(s.refused().await, OidcError::WrongAudience));
}

#[actix_web::test]
async fn bad_signature() {
    let s = setup().await;
    // Another key that claims the published kid.
    let impostor = EcKey::generate("key-1");
    s.serve(impostor.sign(&s.id_claims()));
    assert!(matches!(s.refused().await, OidcError::BadSignature));
    // A genuine token whose payload was changed afterwards.
    let genuine = s.key.sign(&s.id_claims());
    let forged_payload = s
        .key
        .sign(&s.with(s.id_claims(), |c| c["sub"] = json!("sub-other")));
    let parts: Vec<&str> = genuine.split('.').collect();
    let other: Vec<&str> = forged_payload.split('.').collect();
    s.serve(format!("{}.{}.{}", parts[0], other[1], parts[2]));
    assert!(matches!(s.refused().await, OidcError::BadSignature));
    // The userinfo too.
    s.serve_both(
        s.key.sign(&s.id_claims()),
        impostor.sign(&s.userinfo_claims()),
    );
    assert!(matches!(s.refused().await, OidcError::BadSignature));
}

#[actix_web::test]
async fn alg_none_is_refused() {
    let s = setup().await;
    s.serve(unsigned(&s.id_claims()));
    assert!(matches!(s.refused().await, OidcError::AlgorithmRefused { alg } if alg == "none"));
    s.serve_both(s.key.sign(&s.id_claims()), unsigned(&s.userinfo_claims()));
    assert!(matches!(s.refused().await, OidcError::AlgorithmRefused { alg } if alg == "none"));
}

/// The classic confusion: a token "signed" HS256 with the provider's public key as the HMAC key.
#[actix_web::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let s = setup().await;
    let public_forms: Vec<Vec<u8>> = vec![
        s.key.public.clone(),
        serde_json::to_vec(&s.key.jwk()).unwrap(),
        s.key.public[1..33].to_vec(),
    ];
    for secret in &public_forms {
        s.serve(sign_hs256(secret, Some("key-1"), &s.id_claims()));
        assert!(
            matches!(s.refused().await, OidcError::AlgorithmRefused { alg } if alg == "HS256"),
            "v2 never accepts HS256"
        );
    }

    // In legacy v1 mode HS256 is allowed, but keyed only by the client secret.
    let v1 = setup_with(ProtocolVersion::V1Legacy, vec![SigningAlg::HS256]).await;
    v1.op.set(|f| {
        f.userinfo_type = "application/json";
        f.userinfo = v1.userinfo_claims().to_string();
    });
    for secret in &public_forms {
        v1.op
            .set(|f| f.id_token = sign_hs256(secret, Some("key-1"), &v1.id_claims()));
        assert!(matches!(v1.refused().await, OidcError::BadSignature));
    }
    // And an ES256 token is not accepted there either: the allow-list is exactly HS256.
    v1.op.set(|f| f.id_token = v1.key.sign(&v1.id_claims()));
    assert!(matches!(v1.refused().await, OidcError::AlgorithmRefused { alg } if alg == "ES256"));
    // The honest v1 token passes, so the refusals above are about the key.
    v1.op
        .set(|f| f.id_token = sign_hs256(CLIENT_SECRET.as_bytes(), None, &v1.id_claims()));
    v1.complete().await.unwrap();
}

#[actix_web::test]
async fn expired_or_future_tokens() {
    let s = setup().await;
    let now = NOW.unix_timestamp();
    let expired = s.with(s.id_claims(), |c| {
        c["exp"] = json!(now - 31);
        c["iat"] = json!(now - 91);
    });
    s.serve(s.key.sign(&expired));
    assert!(matches!(s.refused().await, OidcError::Expired));
    let future = s.with(s.id_claims(), |c| c["iat"] = json!(now + 300));
    s.serve(s.key.sign(&future));
    assert!(matches!(s.refused().await, OidcError::IssuedAt));
    let no_exp = s.with(s.id_claims(), |c| {
        c.as_object_mut().unwrap().remove("exp");
    });
    s.serve(s.key.sign(&no_exp));
    // openidconnect already refuses to read a token response whose id_token lacks `exp`.
    assert!(matches!(
        s.refused().await,
        OidcError::MalformedToken(_) | OidcError::BadResponse { step: "token", .. }
    ));
}

#[actix_web::test]
async fn wrong_or_missing_nonce() {
    let s = setup().await;
    // A token minted for another login of ours.
    let (_, other_login) = s.rp.begin(None, "b", NOW).unwrap();
    let claims = s.with(s.id_claims(), |c| {
        c["nonce"] = json!(other_login.nonce.expose())
    });
    s.serve(s.key.sign(&claims));
    assert!(matches!(s.refused().await, OidcError::NonceMismatch));
    let missing = s.with(s.id_claims(), |c| {
        c.as_object_mut().unwrap().remove("nonce");
    });
    s.serve(s.key.sign(&missing));
    assert!(matches!(s.refused().await, OidcError::NonceMismatch));
}

#[actix_web::test]
async fn an_at_hash_of_another_access_token_is_refused() {
    let s = setup().await;
    // The forging provider hands out the access token "forged-access-token".
    let right = {
        use base64::Engine;
        let digest = ring::digest::digest(&ring::digest::SHA256, b"forged-access-token");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
    };
    let claims = s.with(s.id_claims(), |c| c["at_hash"] = json!(right));
    s.serve(s.key.sign(&claims));
    s.complete().await.unwrap();
    let claims = s.with(s.id_claims(), |c| {
        c["at_hash"] = json!("77QmUPtjPfzWtF2AnpK9RQ")
    });
    s.serve(s.key.sign(&claims));
    assert!(matches!(s.refused().await, OidcError::AccessTokenHash));
}

#[actix_web::test]
async fn userinfo_about_someone_else() {
    let s = setup().await;
    let userinfo = s.with(s.userinfo_claims(), |c| c["sub"] = json!("sub-other"));
    s.serve_both(s.key.sign(&s.id_claims()), s.key.sign(&userinfo));
    assert!(matches!(s.refused().await, OidcError::SubjectMismatch));
}

#[actix_web::test]
async fn missing_or_unknown_acr() {
    let s = setup().await;
    for acr in [
        json!(null),
        json!("eidas0"),
        json!("EIDAS3"),
        json!("eidas 3"),
    ] {
        let claims = s.with(s.id_claims(), |c| c["acr"] = acr.clone());
        s.serve(s.key.sign(&claims));
        assert!(
            matches!(s.refused().await, OidcError::AcrTooLow { .. }),
            "{acr}"
        );
    }
}

#[actix_web::test]
async fn v2_requires_a_signed_userinfo() {
    let s = setup().await;
    s.op.set(|f| {
        f.id_token = s.key.sign(&s.id_claims());
        f.userinfo_type = "application/json";
        f.userinfo = s.userinfo_claims().to_string();
    });
    assert!(matches!(s.refused().await, OidcError::UserinfoNotSigned));
}

#[actix_web::test]
async fn unknown_kid_is_fetched_once_per_token_then_refused_until_published() {
    let s = setup().await;
    assert_eq!(s.op.jwks_hits(), 1, "loaded at discovery");
    let next = EcKey::generate("key-2");
    s.serve_both(next.sign(&s.id_claims()), next.sign(&s.userinfo_claims()));
    assert!(
        matches!(s.refused().await, OidcError::UnknownKey { kid } if kid.as_deref() == Some("key-2"))
    );
    assert_eq!(s.op.jwks_hits(), 2, "one refetch, no loop");
    assert!(matches!(s.refused().await, OidcError::UnknownKey { .. }));
    assert_eq!(s.op.jwks_hits(), 3, "one refetch per token");

    // The provider rotates: publishes key-2 beside key-1. The next token is accepted after one
    // refetch, and the userinfo signed with the same key needs none.
    s.op.set(|f| f.jwks = json!({ "keys": [next.jwk(), s.key.jwk()] }));
    s.complete().await.unwrap();
    assert_eq!(s.op.jwks_hits(), 4);
    s.complete().await.unwrap();
    assert_eq!(s.op.jwks_hits(), 4, "cached");
}

#[actix_web::test]
async fn back_channel_follows_no_redirect_and_times_out() {
    let s = setup().await;
    s.serve(s.key.sign(&s.id_claims()));
    s.op.set(|f| f.token_redirect = true);
    let err = s.refused().await;
    assert!(
        matches!(
            err,
            OidcError::TokenRefused { .. } | OidcError::BadResponse { .. }
        ),
        "a 307 is an answer, not a hop: {err:?}"
    );

    let mut config = rp_config(&s.op.issuer, ProtocolVersion::V2, vec![SigningAlg::ES256]);
    config.http.timeout = Duration::from_millis(500);
    let impatient = RelyingParty::discover(config, NOW).await.unwrap();
    s.op.set(|f| {
        f.token_redirect = false;
        f.token_delay = Duration::from_secs(2);
    });
    let err = impatient
        .complete(AuthorizationCode::new("code".into()), &s.pending, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, OidcError::Unreachable { step: "token", .. }),
        "{err:?}"
    );
}

#[actix_web::test]
async fn discovery_with_another_issuer_is_refused() {
    let s = setup().await;
    s.op.set(|f| f.advertised_issuer = Some("https://evil.example".into()));
    let err = RelyingParty::discover(
        rp_config(&s.op.issuer, ProtocolVersion::V2, vec![SigningAlg::ES256]),
        NOW,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, OidcError::Discovery(_)), "{err:?}");
    s.op.stop().await;
}
