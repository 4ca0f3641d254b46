//! "No journal, no action": each state-changing operation writes its journal entry in the same
//! transaction as the change, so when the entry cannot be written, nothing happens. One helper
//! (`ac_storage::testing::no_journal_no_action`) checks it for every operation below, on SQLite
//! and, when AC_TEST_DATABASE_URL is set, on PostgreSQL: an entry written in a second
//! transaction after the commit makes it fail.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_auth::totp::{TotpStep, code_at};
use ac_auth::{KeyRing, Policy, Secret, Token, TokenHash};
use ac_mandates::*;
use ac_storage::console::team::{self, Invitation};
use ac_storage::journal::AuditContext;
use ac_storage::mandates::{NewMandate, RevocationConsent};
use ac_storage::oidc_clients::{self, NewClient};
use ac_storage::rate_limits::Limit;
use ac_storage::sign_in::{self, SignIn};
use ac_storage::testing::{
    TestDatabase, aidant_of, count, no_journal_no_action, pivot_identity, structure,
};
use ac_storage::totp_devices::{self, Removal};
use ac_storage::{DbConnection, StorageError, aidants, mandates, organisations, usagers};
use ring::rand::SystemRandom;
use std::collections::BTreeSet;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-22 09:00:10 UTC);
const SEED: &[u8] = b"12345678901234567890";
const POLICY: Policy = Policy {
    link_ttl: Duration::minutes(5),
    totp_stage_ttl: Duration::minutes(5),
    idle_timeout: Duration::minutes(30),
    max_lifetime: Duration::hours(10),
    step_up_after: Duration::minutes(15),
    lockout_failures: 10,
};
const GENEROUS: Limit = Limit {
    max: 1000,
    window: Duration::minutes(15),
};

fn each(test: impl Fn(&TestDatabase)) {
    for db in TestDatabase::each().expect("test database") {
        eprintln!("backend: {:?}", db.backend());
        test(&db);
    }
}

fn cli() -> AuditContext {
    AuditContext::cli()
}

fn keys() -> KeyRing {
    KeyRing::parse(&KeyRing::generate_file_text(&SystemRandom::new()).unwrap()).unwrap()
}

/// A number read by a query (`… AS n`), as an observation.
fn n(sql: &'static str) -> impl Fn(&mut DbConnection) -> Result<i64, StorageError> {
    move |conn| count(conn, sql)
}

struct World {
    org: OrganisationId,
    referent: AidantId,
    aidant: AidantId,
    email: Email,
    usager: UsagerId,
    keys: KeyRing,
}

/// One structure, its référent, an aidant with an app on the RFC 6238 seed, one usager.
fn world(conn: &mut DbConnection) -> World {
    let org = OrganisationId::new("o1");
    organisations::insert(conn, &structure("o1", "Médiathèque").unwrap(), &cli(), NOW).unwrap();
    let person = |id: &str, email: &str, referent: bool| Aidant {
        referent_of: if referent {
            BTreeSet::from([org.clone()])
        } else {
            BTreeSet::new()
        },
        ..aidant_of(id, email.parse().unwrap(), &org)
    };
    let referent = person("r1", "referente@exemple.fr", true);
    let aidant = person("a1", "camille@exemple.fr", false);
    aidants::insert(conn, &referent, &cli(), NOW).unwrap();
    aidants::insert(conn, &aidant, &cli(), NOW).unwrap();
    let keys = keys();
    totp_devices::enrol_app(
        conn,
        &aidant.id,
        &Secret::new(SEED.to_vec()),
        &keys,
        &SystemRandom::new(),
        &cli(),
        NOW,
    )
    .unwrap();
    let (usager, _) =
        usagers::upsert_identified(conn, &"e".repeat(64), &pivot_identity(), &cli(), NOW).unwrap();
    World {
        org,
        referent: referent.id,
        aidant: aidant.id,
        email: aidant.email,
        usager: usager.id,
        keys,
    }
}

fn mandate(
    conn: &mut DbConnection,
    w: &World,
    demarches: &[Demarche],
) -> Result<Mandate, StorageError> {
    mandates::create(
        conn,
        &NewMandate {
            aidant: &w.aidant,
            organisation: &w.org,
            usager: &w.usager,
            demarches,
            duration: MandateDuration::OneYear,
            legal_text_version: "2026-01",
            renewal_of: None,
        },
        &AuditContext::aidant(&w.aidant, None),
        NOW,
    )
    .map(|plan| plan.mandate)
}

#[track_caller]
fn check<R>(result: Result<R, String>) -> R {
    match result {
        Ok(done) => done,
        Err(why) => panic!("{why}"),
    }
}

#[test]
fn mandate_creation_and_revocations_and_supersession() {
    each(|db| {
        let w = world(&mut db.db.conn().unwrap());
        let m = check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM mandates"),
            |conn| mandate(conn, &w, &[Demarche::Social, Demarche::Argent]),
        ));
        let renewed_argent = check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM authorizations WHERE revocation_reason = 'superseded'"),
            |conn| mandate(conn, &w, &[Demarche::Argent]),
        ));
        let as_aidant = AuditContext::aidant(&w.aidant, None);
        let social = m
            .authorizations
            .iter()
            .find(|a| a.demarche == Demarche::Social)
            .unwrap()
            .id
            .clone();
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM authorizations WHERE revoked_at IS NOT NULL"),
            |conn| {
                mandates::revoke_authorization(
                    conn,
                    &w.aidant,
                    &m.id,
                    &social,
                    RevocationConsent::OnScreen,
                    &as_aidant,
                    NOW + Duration::hours(1),
                )
            },
        ));
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM authorizations WHERE revoked_at IS NOT NULL"),
            |conn| {
                mandates::revoke_mandate(
                    conn,
                    &w.aidant,
                    &renewed_argent.id,
                    RevocationConsent::OnScreen,
                    &as_aidant,
                    NOW + Duration::hours(2),
                )
            },
        ));
    });
}

#[test]
fn each_sign_in_step_and_the_lockout() {
    each(|db| {
        let w = world(&mut db.db.conn().unwrap());
        let (link, stage, session) = (token(), token(), token());
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM auth_sign_in_links"),
            |conn| sign_in::request_link(conn, &w.email, &link.hash(), &POLICY, None, NOW),
        ));
        // Opening a link journals only its failures (the sign-in itself is journaled when the
        // code is accepted), so it has no entry to refuse.
        assert!(
            sign_in::open_link(
                &mut db.db.conn().unwrap(),
                &link.hash(),
                &stage.hash(),
                &POLICY,
                None,
                NOW
            )
            .unwrap()
        );
        let signed_in = check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM auth_sessions WHERE stage = 'active'"),
            |conn| complete(conn, &w, &stage.hash(), &session.hash(), &code(NOW)),
        ));
        assert!(
            matches!(signed_in, SignIn::SignedIn { .. }),
            "{signed_in:?}"
        );

        // Nine wrong codes, then the tenth locks the device: with its entry or not at all.
        let conn = &mut *db.db.conn().unwrap();
        let (link, stage) = (token(), token());
        let later = NOW + Duration::minutes(1);
        sign_in::request_link(conn, &w.email, &link.hash(), &POLICY, None, later).unwrap();
        assert!(
            sign_in::open_link(conn, &link.hash(), &stage.hash(), &POLICY, None, later).unwrap()
        );
        for _ in 0..9 {
            let refused = complete(conn, &w, &stage.hash(), &token().hash(), "000000").unwrap();
            assert_eq!(refused, SignIn::Refused);
        }
        let locked = check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM totp_devices WHERE locked_at IS NOT NULL"),
            |conn| complete(conn, &w, &stage.hash(), &token().hash(), "000000"),
        ));
        // The tenth wrong code locks the device, and the outcome says so.
        assert_eq!(locked, SignIn::Locked);
    });
}

fn token() -> Token {
    Token::generate(&SystemRandom::new()).unwrap()
}

fn code(at: OffsetDateTime) -> String {
    code_at(SEED, TotpStep::App, at.unix_timestamp(), 6)
}

fn complete(
    conn: &mut DbConnection,
    w: &World,
    stage: &TokenHash,
    session: &TokenHash,
    code: &str,
) -> Result<SignIn, StorageError> {
    sign_in::complete_with_totp(
        conn, stage, session, code, &w.keys, &POLICY, GENEROUS, None, NOW,
    )
}

#[test]
fn referent_actions() {
    each(|db| {
        let w = world(&mut db.db.conn().unwrap());
        let as_referent = AuditContext::aidant(&w.referent, None);
        let email: Email = "nouvelle@exemple.fr".parse().unwrap();
        let invited = check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM aidants"),
            |conn| {
                team::invite(
                    conn,
                    &w.org,
                    &Invitation {
                        email: &email,
                        first_name: "Lou",
                        last_name: "Bernard",
                        profession: "Conseillère numérique",
                    },
                    &as_referent,
                    NOW,
                )
            },
        ));
        assert!(invited.is_ok(), "{invited:?}");
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM organisation_demarches"),
            |conn| {
                organisations::set_allowed_demarches(
                    conn,
                    &w.org,
                    &BTreeSet::from([Demarche::Social]),
                    &as_referent,
                    NOW,
                )
            },
        ));
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM organisations WHERE renewal_requires_identification"),
            |conn| {
                organisations::set_renewal_requires_identification(
                    conn,
                    &w.org,
                    false,
                    &as_referent,
                    NOW,
                )
            },
        ));
        // Lock the aidant's device (ten wrong codes), then unlock it as the référent would.
        {
            let conn = &mut *db.db.conn().unwrap();
            let (link, stage) = (token(), token());
            sign_in::request_link(conn, &w.email, &link.hash(), &POLICY, None, NOW).unwrap();
            sign_in::open_link(conn, &link.hash(), &stage.hash(), &POLICY, None, NOW).unwrap();
            for _ in 0..10 {
                complete(conn, &w, &stage.hash(), &token().hash(), "000000").unwrap();
            }
        }
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM totp_devices WHERE locked_at IS NULL"),
            |conn| totp_devices::unlock(conn, &w.aidant, &as_referent, NOW),
        ));
        let device = totp_devices::list_for_aidant(&mut db.db.conn().unwrap(), &w.aidant).unwrap()
            [0]
        .id
        .clone();
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM totp_devices WHERE aidant_id IS NOT NULL"),
            |conn| {
                totp_devices::remove_device(
                    conn,
                    &device,
                    &w.aidant,
                    Removal::Retire,
                    Some(&w.org),
                    "lost",
                    &as_referent,
                    NOW,
                )
            },
        ));
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM aidants WHERE is_active"),
            |conn| aidants::deactivate(conn, &w.aidant, &as_referent, NOW),
        ));
    });
}

#[test]
fn client_registration() {
    each(|db| {
        let (uris, none, scopes) = (
            vec!["https://partenaire.example/retour".to_owned()],
            vec![],
            vec!["openid".to_owned()],
        );
        let hash = TokenHash::of(b"secret");
        let client = |name| NewClient {
            id: "partenaire",
            name,
            secret_hash: &hash,
            sealed_secret: None,
            redirect_uris: &uris,
            post_logout_redirect_uris: &none,
            auth_method: "client_secret_post",
            id_token_alg: "ES256",
            userinfo_alg: None,
            allowed_scopes: &scopes,
            act_claim: false,
        };
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM oidc_clients"),
            |conn| oidc_clients::insert(conn, &client("Partenaire"), &cli(), NOW),
        ));
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM oidc_clients WHERE name = 'Partenaire'"),
            |conn| oidc_clients::replace(conn, &client("Partenaire renommé"), &cli(), NOW),
        ));
        check(no_journal_no_action(
            db,
            n("SELECT COUNT(*) AS n FROM oidc_clients WHERE is_active"),
            |conn| oidc_clients::set_active(conn, "partenaire", false, &cli(), NOW),
        ));
    });
}
