//! Sign-in helpers: accounts with a known TOTP seed, the mailed link, forms and their CSRF
//! tokens, and the whole journey in one call.
#![allow(clippy::indexing_slicing)] // test support: a panic is a failed test

use ac_auth::totp::{TotpStep, code_at};
use ac_auth::{Secret, Token};
use ac_mandates::{Aidant, AidantId, Demarche, Organisation, OrganisationId, OrganisationKind};
use ac_storage::journal::AuditContext;
use ac_storage::{aidants, organisations, totp_devices};
use reqwest::StatusCode;
use std::collections::BTreeSet;
use std::time::Duration;

use crate::TestApp;

/// The RFC 6238 test seed: every aidant made by [`TestApp::with_aidant`] has an app on it.
pub const TOTP_SEED: &[u8] = b"12345678901234567890";

/// The value of the hidden `csrf` input of a page.
pub fn extract_csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

impl TestApp {
    /// An active aidant of these structures (created if missing), with an authenticator app on
    /// [`TOTP_SEED`]. The first structure is the current one.
    pub fn with_aidant(&self, email: &str, structures: &[&str]) -> AidantId {
        let conn = &mut *self.db.db.conn().unwrap();
        let now = self.clock_now();
        for id in structures {
            let id = OrganisationId::new(*id);
            if organisations::get(conn, &id).is_err() {
                let organisation = Organisation {
                    name: format!("Structure {id}"),
                    id,
                    kind: OrganisationKind::FranceServices,
                    address: "1 place de la Mairie".into(),
                    departement: "29".parse().unwrap(),
                    siret: "13002526500013".parse().unwrap(),
                    allowed_demarches: Demarche::ALL.into_iter().collect(),
                    is_active: true,
                    renewal_requires_identification: true,
                };
                organisations::insert(conn, &organisation, &AuditContext::cli(), now).unwrap();
            }
        }
        let id = AidantId::new(format!("aidant-{}", email.replace(['@', '.'], "-")));
        let aidant = Aidant {
            id: id.clone(),
            email: email.parse().unwrap(),
            first_name: "Camille".into(),
            last_name: "Martin".into(),
            profession: "Conseillère numérique".into(),
            organisations: structures.iter().map(|s| OrganisationId::new(*s)).collect(),
            current_organisation: OrganisationId::new(structures[0]),
            can_create_mandates: true,
            referent_of: BTreeSet::new(),
            coordinator_scopes: vec![],
            is_active: true,
        };
        aidants::insert(conn, &aidant, &AuditContext::cli(), now).unwrap();
        totp_devices::enrol_app(
            conn,
            &id,
            &Secret::new(TOTP_SEED.to_vec()),
            &self.state.auth.keys,
            &ring::rand::SystemRandom::new(),
            &AuditContext::cli(),
            now,
        )
        .unwrap();
        id
    }

    /// Makes `aidant` a coordinator of the whole pilot.
    pub fn coordinate_nationally(&self, aidant: &AidantId) {
        let conn = &mut *self.db.db.conn().unwrap();
        aidants::set_coordinator_scopes(
            conn,
            aidant,
            &[ac_mandates::CoordinatorScope::National],
            &AuditContext::cli(),
            self.clock_now(),
        )
        .unwrap();
    }

    /// Loads the demo pilot and returns its first référent, made a coordinator of the whole
    /// pilot too: an account that gets past every console's checks (its TOTP app is on
    /// `ac_demo::DEMO_TOTP_SEED`).
    pub fn demo_referent_coordinating_everything(&self) -> Aidant {
        let referent = {
            let conn = &mut *self.db.db.conn().unwrap();
            ac_demo::load(
                conn,
                &self.state.auth.keys,
                &self.state.franceconnect.demo_pseudonyms().unwrap(),
                &AuditContext::cli(),
                self.clock_now(),
            )
            .unwrap();
            aidants::list(conn, None)
                .unwrap()
                .into_iter()
                .find(|a| !a.referent_of.is_empty())
                .unwrap()
        };
        self.coordinate_nationally(&referent.id);
        referent
    }

    pub fn clock_now(&self) -> time::OffsetDateTime {
        use ac_clock::Clock;
        self.clock.now()
    }

    /// The code the aidant's app shows now.
    pub fn totp_now(&self) -> String {
        self.totp_now_on(TOTP_SEED)
    }

    /// The code an app on `seed` shows now (the demo's accounts use `ac_demo::DEMO_TOTP_SEED`).
    pub fn totp_now_on(&self, seed: &[u8]) -> String {
        code_at(seed, TotpStep::App, self.clock_now().unix_timestamp(), 6)
    }

    /// Moves the clock to the next 30-second step, so a fresh code exists.
    pub fn next_totp_step(&self) {
        self.clock.advance(time::Duration::seconds(30));
    }

    /// Messages the memory mailer holds, oldest first.
    pub fn sent_mail(&self) -> Vec<ac_mail::SentMail> {
        self.state.mailer.sent()
    }

    /// Waits (the mail is sent after the response) for the `count`-th message and returns the
    /// link token it carries.
    pub async fn wait_for_link(&self, count: usize) -> Token {
        for _ in 0..200 {
            let sent = self.sent_mail();
            if sent.len() >= count {
                return link_token(&sent[count - 1].text);
            }
            tokio_sleep().await;
        }
        panic!("no sign-in e-mail number {count} within 10 s");
    }

    /// GETs a page and returns its CSRF token.
    pub async fn csrf_of(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        extract_csrf(&res.text().await.unwrap())
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Asks for a sign-in link through the form.
    pub async fn request_link(&self, email: &str) -> reqwest::Response {
        let csrf = self.csrf_of("/connexion").await;
        self.post_form("/connexion", &[("email", email), ("csrf", &csrf)])
            .await
    }

    /// Opens a link as a person does: the confirmation page, then its button.
    pub async fn open_link(&self, token: &str) -> reqwest::Response {
        let csrf = self.csrf_of(&format!("/connexion/lien/{token}")).await;
        let res = self
            .post_form("/connexion/lien", &[("token", token), ("csrf", &csrf)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/connexion/code");
        res
    }

    /// Types a code on the code page.
    pub async fn submit_code(&self, code: &str) -> reqwest::Response {
        let csrf = self.csrf_of("/connexion/code").await;
        self.post_form("/connexion/code", &[("code", code), ("csrf", &csrf)])
            .await
    }

    /// The whole journey for an aidant made by [`Self::with_aidant`]; returns the link token.
    pub async fn sign_in(&self, email: &str) -> Token {
        self.sign_in_on(email, TOTP_SEED).await
    }

    /// The whole journey for an aidant whose app is on `seed`; returns the link token.
    pub async fn sign_in_on(&self, email: &str, seed: &[u8]) -> Token {
        let before = self.sent_mail().len();
        assert_eq!(self.request_link(email).await.status(), StatusCode::OK);
        let link = self.wait_for_link(before + 1).await;
        self.open_link(link.expose()).await;
        let res = self.submit_code(&self.totp_now_on(seed)).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign-in refused");
        assert_eq!(res.headers()["location"], "/espace");
        link
    }

    /// A cookie of the client, by name.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = self.base_url.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    /// Action codes of the journal (see [`Self::journal`]).
    pub fn journal_actions(&self) -> Vec<String> {
        self.journal()
            .into_iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The journal entries written so far (pending, then integrated).
    pub fn journal(&self) -> Vec<serde_json::Value> {
        use ac_storage::schema::{audit_log, audit_pending};
        use diesel::prelude::*;
        let conn = &mut *self.db.db.conn().unwrap();
        // Pending first: an entry integrated between the two reads is then seen twice, never
        // missed (tests only check for presence).
        let mut entries: Vec<String> = audit_pending::table
            .order(audit_pending::id)
            .select(audit_pending::entry)
            .load(conn)
            .unwrap();
        entries.extend(
            audit_log::table
                .order(audit_log::seq)
                .select(audit_log::entry)
                .load::<String>(conn)
                .unwrap(),
        );
        entries
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect()
    }
}

/// The token at the end of the `/connexion/lien/` URL in a message's text.
pub fn link_token(text: &str) -> Token {
    let marker = "/connexion/lien/";
    let start = text.find(marker).expect("a sign-in link") + marker.len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    Token::parse(&token).expect("a well-formed token")
}

async fn tokio_sleep() {
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
}
