//! The discovery document (OIDC Discovery 1.0 §3, RFC 8414 §2) and the endpoints' paths.

use serde_json::{Value, json};

use super::scope::{IDENTITY_CLAIMS, SUPPORTED_SCOPES};
use crate::{Acr, SigningAlg};

/// Where each endpoint lives under the issuer (the service's public URL).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
pub const AUTHORIZE_PATH: &str = "/oidc/authorize";
pub const TOKEN_PATH: &str = "/oidc/token";
pub const USERINFO_PATH: &str = "/oidc/userinfo";
pub const JWKS_PATH: &str = "/oidc/jwks";
pub const END_SESSION_PATH: &str = "/oidc/session/end";

/// The document for `issuer`, listing the asymmetric algorithms that have a current key (HS256 is
/// always possible, with a client's own secret).
pub fn document(issuer: &str, algorithms: &[SigningAlg]) -> Value {
    let mut algs: Vec<&str> = algorithms
        .iter()
        .filter(|a| !a.is_symmetric())
        .map(|a| a.as_str())
        .collect();
    algs.push(SigningAlg::HS256.as_str());
    let mut claims = vec![
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "at_hash",
        "rep_scope",
        "act",
    ];
    claims.extend(IDENTITY_CLAIMS);
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "end_session_endpoint": format!("{issuer}{END_SESSION_PATH}"),
        "scopes_supported": SUPPORTED_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "userinfo_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": [Acr::Eidas1.as_str()],
        "claims_supported": claims,
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": ["fr-FR"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_and_capability_is_listed() {
        let doc = document("https://ac.example", &[SigningAlg::ES256]);
        assert_eq!(doc["issuer"], "https://ac.example");
        assert_eq!(doc["token_endpoint"], "https://ac.example/oidc/token");
        assert_eq!(
            doc["end_session_endpoint"],
            "https://ac.example/oidc/session/end"
        );
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["acr_values_supported"], json!(["eidas1"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["ES256", "HS256"])
        );
        assert!(
            doc["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("identite_pivot"))
        );
        let with_rsa = document(
            "https://ac.example",
            &[SigningAlg::ES256, SigningAlg::RS256],
        );
        assert_eq!(
            with_rsa["userinfo_signing_alg_values_supported"],
            json!(["ES256", "RS256", "HS256"])
        );
    }
}
