//! Scopes and the claims they release (docs/domain.md, "FranceConnect"; FranceConnect's scope names): `openid`
//! gives `sub`; each identity claim has a scope of its own name; `profile`, `birth` and
//! `identite_pivot` are bundles.

/// Every scope the provider knows, in the order discovery lists them.
pub const SUPPORTED_SCOPES: [&str; 12] = [
    "openid",
    "profile",
    "birth",
    "identite_pivot",
    "email",
    "given_name",
    "family_name",
    "birthdate",
    "gender",
    "birthplace",
    "birthcountry",
    "preferred_username",
];

/// Every claim userinfo may release (besides `sub`).
pub const IDENTITY_CLAIMS: [&str; 8] = [
    "given_name",
    "family_name",
    "birthdate",
    "gender",
    "birthplace",
    "birthcountry",
    "email",
    "preferred_username",
];

/// The claims a scope releases at userinfo (OIDC Core §5.4, with FranceConnect's bundles).
pub fn claims_of_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "family_name",
            "given_name",
            "preferred_username",
            "gender",
            "birthdate",
        ],
        "birth" => &["birthplace", "birthcountry"],
        "identite_pivot" => &[
            "given_name",
            "family_name",
            "birthdate",
            "gender",
            "birthplace",
            "birthcountry",
        ],
        "email" => &["email"],
        "given_name" => &["given_name"],
        "family_name" => &["family_name"],
        "birthdate" => &["birthdate"],
        "gender" => &["gender"],
        "birthplace" => &["birthplace"],
        "birthcountry" => &["birthcountry"],
        "preferred_username" => &["preferred_username"],
        _ => &[],
    }
}

/// A scope token's characters (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`).
fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 64
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The scopes of a request, split on spaces (RFC 6749 §3.3), or `None` when a token is not
/// well formed. Order and duplicates do not matter to us.
pub fn parse_scopes(value: &str) -> Option<Vec<&str>> {
    let tokens: Vec<&str> = value.split(' ').filter(|s| !s.is_empty()).collect();
    tokens.iter().all(|t| is_scope_token(t)).then_some(tokens)
}

/// What is granted: the requested scopes the provider knows and the client may ask for, in the
/// catalogue's order, each once. Unknown or disallowed scopes are dropped rather than refused
/// (RFC 6749 §3.3 lets the server grant less; the token response then lists what was granted).
pub fn granted_scopes(requested: &[&str], allowed: &[String]) -> Vec<String> {
    SUPPORTED_SCOPES
        .iter()
        .filter(|s| requested.contains(s) && allowed.iter().any(|a| a == *s))
        .map(|s| (*s).to_owned())
        .collect()
}

/// The claims released by a set of granted scopes, each once, in [`IDENTITY_CLAIMS`] order.
pub fn released_claims(scopes: &[String]) -> Vec<&'static str> {
    IDENTITY_CLAIMS
        .iter()
        .copied()
        .filter(|claim| scopes.iter().any(|s| claims_of_scope(s).contains(claim)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn bundles_release_their_claims() {
        assert_eq!(
            released_claims(&strings(&["openid", "birth"])),
            ["birthplace", "birthcountry"]
        );
        assert_eq!(
            released_claims(&strings(&["openid", "identite_pivot"])),
            [
                "given_name",
                "family_name",
                "birthdate",
                "gender",
                "birthplace",
                "birthcountry"
            ]
        );
        assert_eq!(
            released_claims(&strings(&["openid", "profile", "email"])),
            [
                "given_name",
                "family_name",
                "birthdate",
                "gender",
                "email",
                "preferred_username"
            ]
        );
        assert!(released_claims(&strings(&["openid"])).is_empty());
    }

    #[test]
    fn granted_scopes_are_known_allowed_and_ordered() {
        let allowed = strings(&["openid", "profile", "birth", "email"]);
        assert_eq!(
            granted_scopes(&["email", "openid", "phone", "profile", "email"], &allowed),
            strings(&["openid", "profile", "email"])
        );
        assert_eq!(
            granted_scopes(&["openid", "identite_pivot"], &allowed),
            strings(&["openid"])
        );
    }

    #[test]
    fn scope_tokens_follow_rfc_6749() {
        assert_eq!(
            parse_scopes("openid  profile"),
            Some(vec!["openid", "profile"])
        );
        assert_eq!(parse_scopes(""), Some(vec![]));
        assert!(parse_scopes("openid pro\"file").is_none());
        assert!(parse_scopes("openid pro\\file").is_none());
        assert!(parse_scopes("openid\tprofile").is_none());
        assert!(parse_scopes("openid é").is_none());
    }
}
