//! Sign-in storage (links, TOTP devices, sessions, rate limits) on a fresh SQLite file and, when
//! AC_TEST_DATABASE_URL is set, on a fresh PostgreSQL schema: the same body on both.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_auth::totp::{TotpStep, code_at};
use ac_auth::{KeyRing, Policy, Secret, Token};
use ac_mandates::*;
use ac_storage::journal::AuditContext;
use ac_storage::rate_limits::{self, Limit};
use ac_storage::sessions::{self, Authentication, EndReason, StepUp};
use ac_storage::sign_in::{self, LinkRequest, SignIn};
use ac_storage::testing::TestDatabase;
use ac_storage::totp_devices::{self, CardSeed};
use ac_storage::{DbConnection, aidants, franceconnect_logins, organisations, purge};
use diesel::prelude::*;
use ring::rand::SystemRandom;
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

fn each(test: impl Fn(&mut DbConnection)) {
    for db in TestDatabase::each().expect("test database") {
        eprintln!("backend: {:?}", db.backend());
        test(&mut db.db.conn().unwrap());
    }
}

fn keys() -> KeyRing {
    KeyRing::parse(&KeyRing::generate_file_text(&SystemRandom::new()).unwrap()).unwrap()
}

/// An organisation and an aidant "a1" with an app device on the RFC seed.
fn setup(conn: &mut DbConnection, keys: &KeyRing) -> (AidantId, Email) {
    for id in ["o1", "o2"] {
        organisations::insert(
            conn,
            &Organisation {
                id: OrganisationId::new(id),
                name: format!("Structure {id}"),
                kind: OrganisationKind::Bibliotheque,
                address: "1 rue de la Paix".into(),
                departement: "29".parse().unwrap(),
                siret: "13002526500013".parse().unwrap(),
                allowed_demarches: Demarche::ALL.into_iter().collect(),
                is_active: true,
                renewal_requires_identification: true,
            },
            &AuditContext::cli(),
            NOW,
        )
        .unwrap();
    }
    let aidant = Aidant {
        id: AidantId::new("a1"),
        email: "camille@exemple.fr".parse().unwrap(),
        first_name: "Camille".into(),
        last_name: "Martin".into(),
        profession: "Médiatrice".into(),
        organisations: [OrganisationId::new("o1"), OrganisationId::new("o2")]
            .into_iter()
            .collect(),
        current_organisation: OrganisationId::new("o1"),
        can_create_mandates: true,
        // Two memberships and two scopes: the session reads them joined (one row per pair).
        referent_of: [OrganisationId::new("o2")].into_iter().collect(),
        coordinator_scopes: vec![
            CoordinatorScope::Departement("29".parse().unwrap()),
            CoordinatorScope::Organisation(OrganisationId::new("o2")),
        ],
        is_active: true,
    };
    aidants::insert(conn, &aidant, &AuditContext::cli(), NOW).unwrap();
    totp_devices::enrol_app(
        conn,
        &aidant.id,
        &Secret::new(SEED.to_vec()),
        keys,
        &SystemRandom::new(),
        &AuditContext::cli(),
        NOW,
    )
    .unwrap();
    (aidant.id, aidant.email)
}

fn code(at: OffsetDateTime) -> String {
    code_at(SEED, TotpStep::App, at.unix_timestamp(), 6)
}

fn token() -> Token {
    Token::generate(&SystemRandom::new()).unwrap()
}

fn journal_actions(conn: &mut DbConnection) -> Vec<String> {
    use ac_storage::schema::audit_pending;
    audit_pending::table
        .order(audit_pending::id)
        .select(audit_pending::entry)
        .load::<String>(conn)
        .unwrap()
        .into_iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_str(&e).unwrap();
            v["action"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Request a link, open it, type the code: the new session's token.
fn sign_in(conn: &mut DbConnection, keys: &KeyRing, email: &Email, at: OffsetDateTime) -> Token {
    let link = token();
    assert!(matches!(
        sign_in::request_link(conn, email, &link.hash(), &POLICY, None, at).unwrap(),
        LinkRequest::Created { .. }
    ));
    let stage = token();
    assert!(sign_in::open_link(conn, &link.hash(), &stage.hash(), &POLICY, None, at).unwrap());
    let session = token();
    let outcome = sign_in::complete_with_totp(
        conn,
        &stage.hash(),
        &session.hash(),
        &code(at),
        keys,
        &POLICY,
        GENEROUS,
        None,
        at,
    )
    .unwrap();
    assert!(matches!(outcome, SignIn::SignedIn { .. }), "{outcome:?}");
    session
}

#[test]
fn full_sign_in_then_logout() {
    each(|conn| {
        let keys = keys();
        let (id, email) = setup(conn, &keys);
        let session = sign_in(conn, &keys, &email, NOW);
        let Authentication::Active(active) =
            sessions::authenticate(conn, &session.hash(), &POLICY, None, NOW).unwrap()
        else {
            panic!("signed in");
        };
        // The same aidant as read on its own, memberships and scopes once each.
        assert_eq!(active.aidant, aidants::get(conn, &id).unwrap());
        assert_eq!(active.aidant.organisations.len(), 2);
        assert_eq!(active.aidant.coordinator_scopes.len(), 2);
        assert_eq!(active.structure_name, "Structure o1");
        assert_eq!(active.signed_in_at, NOW);
        assert_eq!(active.last_activity_at, NOW);
        assert!(!active.needs_step_up);
        let actions = journal_actions(conn);
        assert!(actions.ends_with(&["auth.link.requested".into(), "auth.signin.succeeded".into()]));
        // Only hashes are stored.
        use ac_storage::schema::auth_sessions;
        let stored: Vec<String> = auth_sessions::table
            .select(auth_sessions::id_hash)
            .load(conn)
            .unwrap();
        assert_eq!(stored, vec![session.hash().as_str().to_owned()]);

        assert!(
            sessions::end(
                conn,
                &session.hash(),
                EndReason::Logout,
                &AuditContext::aidant(&id, None),
                NOW
            )
            .unwrap()
        );
        assert!(matches!(
            sessions::authenticate(conn, &session.hash(), &POLICY, None, NOW).unwrap(),
            Authentication::None
        ));
        assert_eq!(journal_actions(conn).last().unwrap(), "auth.signout");
    });
}

#[test]
fn links_are_single_use_and_expire_and_unknown_addresses_store_nothing() {
    each(|conn| {
        let keys = keys();
        let (_, email) = setup(conn, &keys);
        let link = token();
        sign_in::request_link(conn, &email, &link.hash(), &POLICY, None, NOW).unwrap();
        assert!(
            sign_in::open_link(conn, &link.hash(), &token().hash(), &POLICY, None, NOW).unwrap()
        );
        assert!(
            !sign_in::open_link(conn, &link.hash(), &token().hash(), &POLICY, None, NOW).unwrap(),
            "second use"
        );
        let late = token();
        sign_in::request_link(conn, &email, &late.hash(), &POLICY, None, NOW).unwrap();
        let after = NOW + POLICY.link_ttl;
        assert!(
            !sign_in::open_link(conn, &late.hash(), &token().hash(), &POLICY, None, after).unwrap(),
            "expired"
        );
        let unknown: Email = "personne@exemple.fr".parse().unwrap();
        assert_eq!(
            sign_in::request_link(conn, &unknown, &token().hash(), &POLICY, None, NOW).unwrap(),
            LinkRequest::NoAccount
        );
        use ac_storage::schema::auth_sign_in_links;
        let links: i64 = auth_sign_in_links::table.count().get_result(conn).unwrap();
        assert_eq!(links, 2);
        let journal = journal_actions(conn);
        assert_eq!(
            journal
                .iter()
                .filter(|a| *a == "auth.signin.failed")
                .count(),
            2
        );
        assert_eq!(
            journal
                .iter()
                .filter(|a| *a == "auth.link.requested")
                .count(),
            3
        );
    });
}

#[test]
fn wrong_and_replayed_codes_then_lockout_and_unlock() {
    each(|conn| {
        let keys = keys();
        let (id, email) = setup(conn, &keys);
        let session = sign_in(conn, &keys, &email, NOW);
        // The code just used for sign-in is refused at step-up (replay).
        let replay =
            sessions::step_up(conn, &session.hash(), &code(NOW), &keys, &POLICY, None, NOW)
                .unwrap();
        assert_eq!(replay, StepUp::Refused);
        let later = NOW + Duration::seconds(30);
        assert_eq!(
            sessions::step_up(
                conn,
                &session.hash(),
                &code(later),
                &keys,
                &POLICY,
                None,
                later
            )
            .unwrap(),
            StepUp::Accepted
        );
        // Nine wrong codes: still usable; the tenth locks and ends the session.
        for i in 0..9 {
            assert_eq!(
                sessions::step_up(conn, &session.hash(), "000000", &keys, &POLICY, None, later)
                    .unwrap(),
                StepUp::Refused,
                "attempt {i}"
            );
        }
        assert_eq!(
            sessions::step_up(conn, &session.hash(), "000000", &keys, &POLICY, None, later)
                .unwrap(),
            StepUp::SessionEnded
        );
        assert!(matches!(
            sessions::authenticate(conn, &session.hash(), &POLICY, None, later).unwrap(),
            Authentication::None
        ));
        let devices = totp_devices::list_for_aidant(conn, &id).unwrap();
        assert!(devices[0].locked_at.is_some());
        // A correct code does not get through a locked device, and the outcome says it is locked.
        let link = token();
        sign_in::request_link(conn, &email, &link.hash(), &POLICY, None, later).unwrap();
        let stage = token();
        sign_in::open_link(conn, &link.hash(), &stage.hash(), &POLICY, None, later).unwrap();
        let t = later + Duration::seconds(30);
        assert_eq!(
            sign_in::complete_with_totp(
                conn,
                &stage.hash(),
                &token().hash(),
                &code(t),
                &keys,
                &POLICY,
                GENEROUS,
                None,
                t
            )
            .unwrap(),
            SignIn::Locked
        );
        assert_eq!(
            totp_devices::unlock(conn, &id, &AuditContext::cli(), t).unwrap(),
            1
        );
        let t = t + Duration::seconds(30);
        sign_in(conn, &keys, &email, t);
        let journal = journal_actions(conn);
        for action in [
            "auth.totp.locked",
            "auth.totp.unlocked",
            "auth.stepup.failed",
        ] {
            assert!(journal.iter().any(|a| a == action), "{action}");
        }
    });
}

#[test]
fn deactivation_ends_sessions_and_idle_sessions_end() {
    each(|conn| {
        let keys = keys();
        let (id, email) = setup(conn, &keys);
        let first = sign_in(conn, &keys, &email, NOW);
        let t = NOW + Duration::seconds(30);
        let second = sign_in(conn, &keys, &email, t);
        // Idle: the first session is over 30 minutes after it was last seen.
        let idle = t + Duration::minutes(29);
        assert!(matches!(
            sessions::authenticate(conn, &second.hash(), &POLICY, None, idle).unwrap(),
            Authentication::Active(_)
        ));
        assert!(matches!(
            sessions::authenticate(
                conn,
                &first.hash(),
                &POLICY,
                None,
                NOW + Duration::minutes(30)
            )
            .unwrap(),
            Authentication::None
        ));
        aidants::deactivate(conn, &id, &AuditContext::cli(), idle).unwrap();
        assert!(matches!(
            sessions::authenticate(conn, &second.hash(), &POLICY, None, idle).unwrap(),
            Authentication::None
        ));
        use ac_storage::schema::auth_sessions;
        let left: i64 = auth_sessions::table.count().get_result(conn).unwrap();
        assert_eq!(left, 0);
    });
}

#[test]
fn structure_switch_only_to_own_structures() {
    each(|conn| {
        let keys = keys();
        let (id, email) = setup(conn, &keys);
        let session = sign_in(conn, &keys, &email, NOW);
        let ctx = AuditContext::aidant(&id, None);
        sessions::switch_structure(
            conn,
            &session.hash(),
            &id,
            &OrganisationId::new("o2"),
            &ctx,
            NOW,
        )
        .unwrap();
        assert_eq!(
            aidants::get(conn, &id).unwrap().current_organisation,
            OrganisationId::new("o2")
        );
        assert!(
            sessions::switch_structure(
                conn,
                &session.hash(),
                &id,
                &OrganisationId::new("nope"),
                &ctx,
                NOW
            )
            .is_err()
        );
        assert_eq!(
            journal_actions(conn).last().unwrap(),
            "auth.structure.switched"
        );
    });
}

#[test]
fn rate_limit_windows() {
    each(|conn| {
        let limit = Limit {
            max: 3,
            window: Duration::minutes(15),
        };
        let verdicts: Vec<_> = (0..5)
            .map(|_| rate_limits::hit(conn, "link:ip:192.0.2.1", limit, NOW).unwrap())
            .collect();
        assert_eq!(
            verdicts.iter().map(|v| v.allowed()).collect::<Vec<_>>(),
            [true, true, true, false, false]
        );
        assert!(verdicts[3].first_refusal() && !verdicts[4].first_refusal());
        // Another key has its own count; a new window starts afresh.
        assert!(
            rate_limits::hit(conn, "link:ip:192.0.2.2", limit, NOW)
                .unwrap()
                .allowed()
        );
        let next = NOW + limit.window;
        let v = rate_limits::hit(conn, "link:ip:192.0.2.1", limit, next).unwrap();
        assert_eq!(v.hits, 1);
        use ac_storage::schema::auth_rate_limits;
        let keys: Vec<String> = auth_rate_limits::table
            .select(auth_rate_limits::key_hash)
            .load(conn)
            .unwrap();
        assert!(keys.iter().all(|k| k.len() == 64 && !k.contains("192.0.2")));
    });
}

#[test]
fn cards_are_imported_sealed_then_assigned() {
    each(|conn| {
        let keys = keys();
        let (id, _) = setup(conn, &keys);
        let rng = SystemRandom::new();
        let cards = vec![
            CardSeed {
                serial: "GALT1000001".into(),
                seed: Secret::new(vec![1; 20]),
            },
            CardSeed {
                serial: "GALT1000002".into(),
                seed: Secret::new(vec![2; 20]),
            },
        ];
        assert_eq!(
            totp_devices::import_cards(conn, &cards, &keys, &rng, &AuditContext::cli(), NOW)
                .unwrap(),
            2
        );
        // Importing a known serial again changes nothing.
        assert!(
            totp_devices::import_cards(conn, &cards[..1], &keys, &rng, &AuditContext::cli(), NOW)
                .is_err()
        );
        totp_devices::assign_card(conn, "GALT1000002", &id, &AuditContext::cli(), NOW).unwrap();
        assert!(
            totp_devices::assign_card(conn, "GALT1000002", &id, &AuditContext::cli(), NOW).is_err(),
            "already assigned"
        );
        let devices = totp_devices::list_for_aidant(conn, &id).unwrap();
        assert_eq!(devices.len(), 2);
        use ac_storage::schema::totp_devices as t;
        let sealed: Vec<String> = t::table.select(t::sealed_seed).load(conn).unwrap();
        assert!(sealed.iter().all(|s| s.starts_with("v1.")));
    });
}

#[test]
fn sessions_links_logins_and_rate_limit_counters_are_purged_a_day_after_they_end() {
    each(|conn| {
        let (aidant, email) = setup(conn, &keys());
        let day = purge::KEPT_AFTER_EXPIRY;
        let window = GENEROUS.window;
        // A session for 10 hours, a link for 5 minutes, a FranceConnect login for 10 minutes,
        // and a rate-limit counter whose window opens now.
        ac_storage::testing::signed_in_session(conn, &token().hash(), &aidant, NOW).unwrap();
        sign_in::request_link(conn, &email, &token().hash(), &POLICY, None, NOW).unwrap();
        franceconnect_logins::insert(
            conn,
            &"s".repeat(64),
            franceconnect_logins::Kind::Login,
            &aidant,
            "{}",
            NOW,
            NOW + Duration::minutes(10),
        )
        .unwrap();
        rate_limits::hit(conn, "link:ip:192.0.2.1", GENEROUS, NOW).unwrap();

        let purged = purge::expired(conn, window, NOW + day + window - Duration::seconds(1));
        let purged = purged.unwrap();
        assert_eq!((purged.sign_in_links, purged.franceconnect_logins), (1, 1));
        assert_eq!((purged.sessions, purged.rate_limits), (0, 0));

        let purged = purge::expired(conn, window, NOW + day + window).unwrap();
        assert_eq!((purged.rate_limits, purged.sessions), (1, 0));

        let purged = purge::expired(conn, window, NOW + Duration::hours(10) + day).unwrap();
        assert_eq!(purged.sessions, 1);
        assert_eq!(purged.total(), 1);
    });
}
