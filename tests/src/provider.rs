//! Identity provider helpers: a registered client, usagers with mandates, and the
//! aidant's side of a flow through HTTP (the pages a person would click through).
#![allow(clippy::indexing_slicing)] // test support: a panic is a failed test

use ac_auth::TokenHash;
use ac_mandates::{
    AidantId, Demarche, FRANCE_INSEE_CODE, Gender, MandateDuration, MandateId, OrganisationId,
    PivotIdentity, UsagerId,
};
use ac_storage::journal::AuditContext;
use ac_storage::mandates::{self, NewMandate};
use ac_storage::oidc_clients::{self, NewClient};
use ac_storage::usagers;
use reqwest::StatusCode;
use time::Date;
use time::macros::date;

use crate::{TestApp, extract_csrf};

pub const CLIENT_ID: &str = "franceconnect-test";
pub const CLIENT_SECRET: &str = "test-client-secret-0123456789-abcdefghijklmnopqrstu";
/// Never contacted: the "browser" stops at the redirect and reads its query.
pub const REDIRECT_URI: &str = "https://fc.example/api/v2/oidc-callback";
pub const POST_LOGOUT_URI: &str = "https://fc.example/api/v2/logout-callback";

/// A client registration for the tests; FranceConnect's by default.
#[derive(Debug, Clone)]
pub struct ClientSetup {
    pub id: String,
    pub secret: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub auth_method: &'static str,
    pub id_token_alg: &'static str,
    pub userinfo_alg: Option<&'static str>,
    pub scopes: Vec<String>,
    pub act_claim: bool,
}

impl Default for ClientSetup {
    fn default() -> Self {
        Self {
            id: CLIENT_ID.into(),
            secret: CLIENT_SECRET.into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            post_logout_redirect_uris: vec![POST_LOGOUT_URI.into()],
            auth_method: "client_secret_post",
            id_token_alg: "ES256",
            userinfo_alg: Some("ES256"),
            scopes: ac_oidc::op::SUPPORTED_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            act_claim: false,
        }
    }
}

/// The values a flow goes through the pages with.
#[derive(Debug, Clone, Default)]
pub struct Picked {
    /// The `Location` of the last answer (the code, or an error, at the client's redirect URI).
    pub location: String,
    pub code: Option<String>,
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The `href`s of a page's links starting with `prefix`, HTML-unescaped.
pub fn links(html: &str, prefix: &str) -> Vec<String> {
    let html = html.replace("&#x2F;", "/");
    let marker = format!("href=\"{prefix}");
    let mut out = Vec::new();
    let mut rest = html.as_str();
    while let Some(start) = rest.find(&marker) {
        let from = start + "href=\"".len();
        let end = rest[from..].find('"').unwrap() + from;
        out.push(rest[from..end].replace("&amp;", "&").replace("&#x2F;", "/"));
        rest = &rest[end..];
    }
    out
}

/// The démarche page of the person named `family_name` on a list page: what choosing them and
/// pressing « Continuer » requests.
pub fn person_path(list: &str, family_name: &str) -> Option<String> {
    let html = list.replace("&#x2F;", "/").replace("&amp;", "&");
    let block = html
        .split("<div class=\"fr-fieldset__element\">")
        .find(|b| b.contains("name=\"usager\"") && b.contains(family_name))?;
    let marker = "name=\"usager\" value=\"";
    let start = block.find(marker)? + marker.len();
    let id = &block[start..start + block[start..].find('"')?];
    let mut url = reqwest::Url::parse("http://x/oidc/selection/demarche").ok()?;
    url.query_pairs_mut()
        .append_pair("i", &hidden(list, "i"))
        .append_pair("usager", id);
    Some(format!("{}?{}", url.path(), url.query()?))
}

/// The value of a hidden input.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end]
        .replace("&amp;", "&")
        .replace("&#x2F;", "/")
}

impl TestApp {
    /// Registers a client (its secret sealed when it uses HS256).
    pub fn with_client(&self, setup: &ClientSetup) {
        let conn = &mut *self.db.db.conn().unwrap();
        let hs256 = setup.id_token_alg == "HS256" || setup.userinfo_alg == Some("HS256");
        let sealed = hs256.then(|| {
            self.state
                .provider
                .seal_client_secret(&setup.id, &setup.secret)
                .unwrap()
        });
        oidc_clients::insert(
            conn,
            &NewClient {
                id: &setup.id,
                name: "FranceConnect (tests)",
                secret_hash: &TokenHash::of(setup.secret.as_bytes()),
                sealed_secret: sealed.as_deref(),
                redirect_uris: &setup.redirect_uris,
                post_logout_redirect_uris: &setup.post_logout_redirect_uris,
                auth_method: setup.auth_method,
                id_token_alg: setup.id_token_alg,
                userinfo_alg: setup.userinfo_alg,
                allowed_scopes: &setup.scopes,
                act_claim: setup.act_claim,
            },
            &AuditContext::cli(),
            self.clock_now(),
        )
        .unwrap();
    }

    /// A usager (identified through FranceConnect) with a one-year mandate of `organisation`
    /// for `demarches`, created now by `aidant`.
    pub fn with_mandate(
        &self,
        aidant: &AidantId,
        organisation: &str,
        given_name: &str,
        family_name: &str,
        demarches: &[Demarche],
    ) -> (UsagerId, MandateId) {
        self.with_mandate_of(
            aidant,
            organisation,
            (given_name, family_name, date!(1962 - 08 - 24)),
            demarches,
            MandateDuration::OneYear,
        )
    }

    /// A usager (given name, family name, birth date; found again by the two names) with a
    /// mandate of `organisation` for `demarches` over `duration`, created now by `aidant`.
    pub fn with_mandate_of(
        &self,
        aidant: &AidantId,
        organisation: &str,
        person: (&str, &str, Date),
        demarches: &[Demarche],
        duration: MandateDuration,
    ) -> (UsagerId, MandateId) {
        self.mandate_given("2026-01", aidant, organisation, person, demarches, duration)
    }

    /// [`Self::with_mandate`], given under the legal text `legal_text_version`.
    pub fn with_mandate_under(
        &self,
        legal_text_version: &str,
        aidant: &AidantId,
        organisation: &str,
        given_name: &str,
        family_name: &str,
        demarches: &[Demarche],
    ) -> (UsagerId, MandateId) {
        self.mandate_given(
            legal_text_version,
            aidant,
            organisation,
            (given_name, family_name, date!(1962 - 08 - 24)),
            demarches,
            MandateDuration::OneYear,
        )
    }

    fn mandate_given(
        &self,
        legal_text_version: &str,
        aidant: &AidantId,
        organisation: &str,
        (given_name, family_name, birthdate): (&str, &str, Date),
        demarches: &[Demarche],
        duration: MandateDuration,
    ) -> (UsagerId, MandateId) {
        let conn = &mut *self.db.db.conn().unwrap();
        let now = self.clock_now();
        let subject = hex_of(&format!("{given_name}|{family_name}"));
        let identity = PivotIdentity {
            given_name: given_name.into(),
            family_name: family_name.into(),
            birthdate,
            gender: Gender::Female,
            birthplace: Some("75107".into()),
            birthcountry: FRANCE_INSEE_CODE.into(),
            email: Some("angela.dubois@exemple.fr".parse().unwrap()),
            preferred_username: None,
        };
        let (usager, _) =
            usagers::upsert_identified(conn, &subject, &identity, &AuditContext::cli(), now)
                .unwrap();
        let plan = mandates::create(
            conn,
            &NewMandate {
                aidant,
                organisation: &OrganisationId::new(organisation),
                usager: &usager.id,
                demarches,
                duration,
                legal_text_version,
                renewal_of: None,
            },
            &AuditContext::cli(),
            now,
        )
        .unwrap();
        (usager.id, plan.mandate.id)
    }

    /// Revokes every démarche of a mandate now.
    pub fn revoke(&self, aidant: &AidantId, mandate: &MandateId) {
        let conn = &mut *self.db.db.conn().unwrap();
        mandates::revoke_mandate(
            conn,
            aidant,
            mandate,
            mandates::RevocationConsent::NotRecorded,
            &AuditContext::cli(),
            self.clock_now(),
        )
        .unwrap();
    }

    /// The aidant's side, from an authorization URL to the redirect back to the client: the
    /// list page, the person named `family_name`, the démarche, and the code when asked.
    pub async fn pick(
        &self,
        authorize_url: &str,
        family_name: &str,
        demarche: Demarche,
        totp: Option<&str>,
    ) -> Picked {
        let res = self.client.get(authorize_url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{authorize_url}");
        let list = res.text().await.unwrap();
        let person = person_path(&list, family_name)
            .unwrap_or_else(|| panic!("{family_name} is not offered:\n{list}"));
        let res = self.get(&person).await;
        assert_eq!(res.status(), StatusCode::OK);
        let page = res.text().await.unwrap();
        self.choose(&page, demarche, totp).await
    }

    /// Submits a démarche page's form.
    pub async fn choose(&self, page: &str, demarche: Demarche, totp: Option<&str>) -> Picked {
        let mut form = vec![
            ("csrf", extract_csrf(page)),
            ("i", hidden(page, "i")),
            ("usager", hidden(page, "usager")),
            ("demarche", demarche.key().to_owned()),
        ];
        if let Some(code) = totp {
            form.push(("code", code.to_owned()));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = self.post_form("/oidc/choix", &form).await;
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no redirect: {}", res.status()));
        Picked {
            code: query_param(&location, "code"),
            location,
        }
    }
}

fn hex_of(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
