//! The identity provider's storage, on a fresh SQLite file and (when
//! AC_TEST_DATABASE_URL is set) a fresh PostgreSQL schema: clients, key rotation, codes (single
//! use, lifetimes capped by the database), tokens, userinfo, and the mandate checked at each step.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_auth::TokenHash;
use ac_mandates::*;
use ac_storage::journal::AuditContext;
use ac_storage::mandate_consents::{self, Identification, PendingConsent};
use ac_storage::mandates::NewMandate;
use ac_storage::oidc_clients::{self, NewClient};
use ac_storage::oidc_grants::{
    self, CodeIssue, Delegation, NewAccessToken, NewCode, Redemption, UserinfoGrant,
};
use ac_storage::oidc_keys::{self, KeyState, NewKey};
use ac_storage::testing::TestDatabase;
use ac_storage::{
    Backend, DbConnection, StorageError, aidants, mandates, organisations, purge, usagers,
};
use std::collections::BTreeSet;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-03-10 14:30:00.5 UTC);
const CLIENT: &str = "franceconnect";
const REDIRECT: &str = "https://fc.example/callback";

fn ctx() -> AuditContext {
    AuditContext::cli()
}

fn each(test: impl Fn(&TestDatabase)) {
    for db in TestDatabase::each().expect("test database") {
        eprintln!("backend: {:?}", db.backend());
        test(&db);
    }
}

fn journal(conn: &mut DbConnection) -> Vec<serde_json::Value> {
    use ac_storage::schema::audit_pending;
    use diesel::prelude::*;
    audit_pending::table
        .order(audit_pending::id)
        .select(audit_pending::entry)
        .load::<String>(conn)
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect()
}

fn actions(conn: &mut DbConnection) -> Vec<String> {
    journal(conn)
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn register(conn: &mut DbConnection) {
    let hash = TokenHash::of(b"secret");
    let uris = strings(&[REDIRECT]);
    let out = strings(&["https://fc.example/logout"]);
    let scopes = strings(&["openid", "profile", "birth"]);
    oidc_clients::insert(
        conn,
        &NewClient {
            id: CLIENT,
            name: "FranceConnect",
            secret_hash: &hash,
            sealed_secret: None,
            redirect_uris: &uris,
            post_logout_redirect_uris: &out,
            auth_method: "client_secret_post",
            id_token_alg: "ES256",
            userinfo_alg: Some("ES256"),
            allowed_scopes: &scopes,
            act_claim: false,
        },
        &ctx(),
        NOW,
    )
    .unwrap();
}

struct Fixture {
    aidant: AidantId,
    org: OrganisationId,
    usager: UsagerId,
    mandate: MandateId,
}

fn identity(given: &str, family: &str) -> PivotIdentity {
    PivotIdentity {
        given_name: given.into(),
        family_name: family.into(),
        birthdate: date!(1962 - 08 - 24),
        gender: Gender::Female,
        birthplace: Some("75107".into()),
        birthcountry: FRANCE_INSEE_CODE.into(),
        email: None,
        preferred_username: None,
    }
}

fn fixture(conn: &mut DbConnection) -> Fixture {
    let org = Organisation {
        id: OrganisationId::new("org-a"),
        name: "Médiathèque".into(),
        kind: OrganisationKind::Bibliotheque,
        address: "1 rue".into(),
        departement: "29".parse().unwrap(),
        siret: "13002526500013".parse().unwrap(),
        allowed_demarches: Demarche::ALL
            .into_iter()
            .filter(|d| *d != Demarche::Justice)
            .collect(),
        is_active: true,
        renewal_requires_identification: true,
    };
    organisations::insert(conn, &org, &ctx(), NOW).unwrap();
    let aidant = Aidant {
        id: AidantId::new("alice"),
        email: "alice@exemple.fr".parse().unwrap(),
        first_name: "Alice".into(),
        last_name: "Martin".into(),
        profession: "Conseillère".into(),
        organisations: BTreeSet::from([org.id.clone()]),
        current_organisation: org.id.clone(),
        can_create_mandates: true,
        referent_of: BTreeSet::new(),
        coordinator_scopes: vec![],
        is_active: true,
    };
    aidants::insert(conn, &aidant, &ctx(), NOW).unwrap();
    let (usager, _) = usagers::upsert_identified(
        conn,
        &"a".repeat(64),
        &identity("Angela", "DUBOIS"),
        &ctx(),
        NOW,
    )
    .unwrap();
    let plan = mandates::create(
        conn,
        &NewMandate {
            aidant: &aidant.id,
            organisation: &org.id,
            usager: &usager.id,
            demarches: &[Demarche::Social, Demarche::Logement],
            duration: MandateDuration::OneMonth,
            legal_text_version: "2026-01",
            renewal_of: None,
        },
        &ctx(),
        NOW - Duration::days(1),
    )
    .unwrap();
    register(conn);
    Fixture {
        aidant: aidant.id,
        org: org.id,
        usager: usager.id,
        mandate: plan.mandate.id,
    }
}

fn new_code<'a>(hash: &'a TokenHash, scopes: &'a [String], at: OffsetDateTime) -> NewCode<'a> {
    NewCode {
        code_hash: hash,
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        code_challenge: None,
        nonce: Some("nonce"),
        scopes,
        rep_scope_claim: true,
        auth_time: at - Duration::minutes(2),
        acr: "eidas1",
        expires_at: at + Duration::seconds(30),
        // One request per code unless a test says otherwise.
        interaction_id: hash.as_str(),
        interaction_expires_at: at + Duration::minutes(5),
    }
}

fn issue(
    conn: &mut DbConnection,
    f: &Fixture,
    code: &TokenHash,
    demarche: Demarche,
    at: OffsetDateTime,
) -> CodeIssue {
    try_issue(conn, f, code, demarche, at).unwrap()
}

/// The choice step for the fixture's delegation, in the session `TokenHash::of(b"session")`.
fn try_issue(
    conn: &mut DbConnection,
    f: &Fixture,
    code: &TokenHash,
    demarche: Demarche,
    at: OffsetDateTime,
) -> Result<CodeIssue, StorageError> {
    let scopes = strings(&["openid", "birth"]);
    oidc_grants::issue_code(
        conn,
        &Delegation {
            aidant: &f.aidant,
            organisation: &f.org,
            usager: &f.usager,
            demarche,
        },
        &new_code(code, &scopes, at),
        &TokenHash::of(b"session"),
        &AuditContext::aidant(&f.aidant, None),
        at,
    )
}

fn redeem(
    conn: &mut DbConnection,
    code: &TokenHash,
    token: &TokenHash,
    at: OffsetDateTime,
) -> Redemption<&'static str> {
    try_redeem(conn, code, token, at).unwrap()
}

/// The token step for `CLIENT`, whose only protocol check is the code's expiry.
fn try_redeem(
    conn: &mut DbConnection,
    code: &TokenHash,
    token: &TokenHash,
    at: OffsetDateTime,
) -> Result<Redemption<&'static str>, StorageError> {
    oidc_grants::redeem_code(
        conn,
        code,
        CLIENT,
        |c| {
            if at >= c.expires_at {
                Err("code expired")
            } else {
                Ok(())
            }
        },
        &NewAccessToken {
            token_hash: token,
            expires_at: at + Duration::seconds(60),
        },
        &oidc_grants::client_context(CLIENT, None),
        at,
    )
}

#[test]
fn clients_are_registered_listed_replaced_and_turned_off_with_journal() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        register(conn);
        let client = oidc_clients::get(conn, CLIENT).unwrap().unwrap();
        assert_eq!(client.redirect_uris, [REDIRECT]);
        assert_eq!(client.allowed_scopes, ["openid", "profile", "birth"]);
        assert_eq!(client.userinfo_alg.as_deref(), Some("ES256"));
        assert_eq!(client.secret_hash, TokenHash::of(b"secret").as_str());
        assert!(matches!(
            oidc_clients::insert(
                conn,
                &NewClient {
                    id: CLIENT,
                    name: "again",
                    secret_hash: &TokenHash::of(b"x"),
                    sealed_secret: None,
                    redirect_uris: &strings(&[REDIRECT]),
                    post_logout_redirect_uris: &[],
                    auth_method: "client_secret_post",
                    id_token_alg: "ES256",
                    userinfo_alg: None,
                    allowed_scopes: &strings(&["openid"]),
                    act_claim: false,
                },
                &ctx(),
                NOW
            ),
            Err(StorageError::Conflict)
        ));
        oidc_clients::set_active(conn, CLIENT, false, &ctx(), NOW).unwrap();
        assert!(oidc_clients::get_active(conn, CLIENT).unwrap().is_none());
        assert_eq!(oidc_clients::list(conn).unwrap().len(), 1);
        let hs = NewClient {
            id: CLIENT,
            name: "FranceConnect v1",
            secret_hash: &TokenHash::of(b"new"),
            sealed_secret: Some("v1.k.sealed-secret"),
            redirect_uris: &strings(&[REDIRECT]),
            post_logout_redirect_uris: &[],
            auth_method: "client_secret_basic",
            id_token_alg: "HS256",
            userinfo_alg: None,
            allowed_scopes: &strings(&["openid"]),
            act_claim: true,
        };
        oidc_clients::replace(conn, &hs, &ctx(), NOW).unwrap();
        let replaced = oidc_clients::get_active(conn, CLIENT).unwrap().unwrap();
        assert_eq!(
            replaced.sealed_secret.as_deref(),
            Some("v1.k.sealed-secret")
        );
        assert!(replaced.act_claim);
        // The database refuses an HS256 client without its sealed secret, and a sealed secret
        // for a client that does not need it.
        for broken in [
            NewClient {
                sealed_secret: None,
                ..hs.clone()
            },
            NewClient {
                id_token_alg: "ES256",
                ..hs.clone()
            },
        ] {
            assert!(oidc_clients::replace(conn, &broken, &ctx(), NOW).is_err());
        }
        let entries = journal(conn);
        let created = entries
            .iter()
            .find(|e| e["action"] == "oidc_client.created")
            .unwrap();
        assert_eq!(created["client_id"], CLIENT);
        assert_eq!(created["details"]["auth_method"], "client_secret_post");
        assert!(
            !serde_json::to_string(&entries)
                .unwrap()
                .contains(TokenHash::of(b"secret").as_str()),
            "no secret hash in the journal"
        );
        assert_eq!(
            actions(conn)
                .iter()
                .filter(|a| *a == "oidc_client.updated")
                .count(),
            2
        );
    });
}

fn add_key(conn: &mut DbConnection, kid: &str, at: OffsetDateTime) -> oidc_keys::Rotation {
    oidc_keys::rotate(
        conn,
        &NewKey {
            kid,
            alg: "ES256",
            public_jwk: "{\"kty\":\"EC\"}",
            sealed_private_key: "v1.k.sealed-private-key",
        },
        &ctx(),
        at,
    )
    .unwrap()
}

#[test]
fn keys_are_published_before_they_sign() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let k = |c: char| c.to_string().repeat(43);
        let first = add_key(conn, &k('a'), NOW);
        assert_eq!(first.added, (k('a'), KeyState::Current));
        let second = add_key(conn, &k('b'), NOW + Duration::minutes(1));
        assert_eq!(second.added, (k('b'), KeyState::Next));
        assert_eq!(second.promoted, None);
        let third = add_key(conn, &k('c'), NOW + Duration::days(30));
        assert_eq!(third.added, (k('c'), KeyState::Next));
        assert_eq!(third.promoted, Some(k('b')));
        assert_eq!(third.retired, Some(k('a')));
        let states: Vec<(String, KeyState)> = oidc_keys::list(conn)
            .unwrap()
            .into_iter()
            .map(|r| (r.kid, r.state))
            .collect();
        assert_eq!(
            states,
            [
                (k('a'), KeyState::Retired),
                (k('b'), KeyState::Current),
                (k('c'), KeyState::Next)
            ]
        );
        let keys = oidc_keys::list(conn).unwrap();
        assert_eq!(keys[1].activated_at, Some(NOW + Duration::days(30)));
        assert_eq!(keys[0].retired_at, Some(NOW + Duration::days(30)));
        // A second current key is refused by the database itself.
        let sql = format!(
            "UPDATE oidc_signing_keys SET state = 'current', retired_at = NULL WHERE kid = '{}'",
            k('a')
        );
        assert!(db.execute_raw(&sql).is_err());
        let acts = actions(conn);
        assert_eq!(
            acts.iter().filter(|a| *a == "signing_key.created").count(),
            3
        );
        assert_eq!(
            acts.iter().filter(|a| *a == "signing_key.rotated").count(),
            1
        );
    });
}

#[test]
fn a_code_is_issued_used_once_and_its_replay_revokes_the_token() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let code = TokenHash::of(b"code-1");
        let CodeIssue::Issued(authorization) = issue(conn, &f, &code, Demarche::Social, NOW) else {
            panic!("refused");
        };
        let token = TokenHash::of(b"token-1");
        let Redemption::Granted {
            code: record,
            subject,
        } = redeem(conn, &code, &token, NOW + Duration::seconds(5))
        else {
            panic!("not granted");
        };
        assert_eq!(subject, "a".repeat(64));
        assert_eq!(record.authorization_id, authorization);
        assert_eq!(record.organisation_id, f.org);
        assert_eq!(record.scopes, ["openid", "birth"]);
        assert_eq!(record.nonce.as_deref(), Some("nonce"));
        let served = oidc_grants::userinfo(conn, &token, None, NOW + Duration::seconds(6)).unwrap();
        let UserinfoGrant::Served { usager, .. } = served else {
            panic!("{served:?}")
        };
        assert_eq!(usager.identity.given_name, "Angela");
        // The replay: refused, and the token issued from the code is revoked.
        assert_eq!(
            redeem(
                conn,
                &code,
                &TokenHash::of(b"token-2"),
                NOW + Duration::seconds(7)
            ),
            Redemption::Replayed { revoked_tokens: 1 }
        );
        assert_eq!(
            oidc_grants::userinfo(conn, &token, None, NOW + Duration::seconds(8)).unwrap(),
            UserinfoGrant::InvalidToken
        );
        // Another client cannot redeem (or burn) a code that is not theirs.
        let other = TokenHash::of(b"code-2");
        issue(conn, &f, &other, Demarche::Logement, NOW);
        let stolen = oidc_grants::redeem_code(
            conn,
            &other,
            "someone-else",
            |_| Ok::<(), &str>(()),
            &NewAccessToken {
                token_hash: &TokenHash::of(b"t"),
                expires_at: NOW + Duration::seconds(60),
            },
            &oidc_grants::client_context("someone-else", None),
            NOW,
        )
        .unwrap();
        assert_eq!(stolen, Redemption::Unknown);
        assert!(matches!(
            redeem(
                conn,
                &other,
                &TokenHash::of(b"token-3"),
                NOW + Duration::seconds(1)
            ),
            Redemption::Granted { .. }
        ));
        assert_eq!(
            redeem(
                conn,
                &TokenHash::of(b"never-issued"),
                &TokenHash::of(b"t4"),
                NOW
            ),
            Redemption::Unknown
        );
        let entries = journal(conn);
        let started = entries
            .iter()
            .find(|e| e["action"] == "delegation.started")
            .unwrap();
        assert_eq!(started["actor"]["kind"], "aidant");
        assert_eq!(started["organisation_id"], "org-a");
        assert_eq!(started["usager"], "a".repeat(64));
        assert_eq!(started["demarche"], "social");
        assert_eq!(started["client_id"], CLIENT);
        assert_eq!(started["target"], authorization.as_str());
        let completed = entries
            .iter()
            .find(|e| e["action"] == "delegation.completed")
            .unwrap();
        assert_eq!(completed["actor"]["kind"], "client");
        assert_eq!(completed["details"]["aidant"], "alice");
        let replay = entries
            .iter()
            .find(|e| e["details"]["reason"] == "code_replayed")
            .unwrap();
        assert_eq!(replay["action"], "delegation.refused");
        assert_eq!(replay["details"]["revoked_tokens"], "1");
        assert_eq!(
            actions(conn)
                .iter()
                .filter(|a| *a == "delegation.token_issued")
                .count(),
            2
        );
    });
}

#[test]
fn userinfo_is_not_served_without_its_journal_entry() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let code = TokenHash::of(b"code-1");
        issue(conn, &f, &code, Demarche::Social, NOW);
        let token = TokenHash::of(b"token-1");
        redeem(conn, &code, &token, NOW + Duration::seconds(5));
        // Userinfo writes nothing but its entry (no transaction of its own): if the entry cannot
        // be written, the identity is not served.
        db.execute_raw("DROP TABLE audit_pending").unwrap();
        assert!(oidc_grants::userinfo(conn, &token, None, NOW + Duration::seconds(6)).is_err());
    });
}

/// Makes every journal entry fail when it is written (a trigger), so a test can see what a step
/// leaves behind when its entry cannot be stored.
fn refuse_journal_entries(db: &TestDatabase, refuse: bool) {
    let sql = match (db.backend(), refuse) {
        (Backend::Sqlite, true) => {
            "CREATE TRIGGER refuse_entries BEFORE INSERT ON audit_pending \
             BEGIN SELECT RAISE(ABORT, 'journal refused'); END;"
        }
        (Backend::Sqlite, false) => "DROP TRIGGER refuse_entries;",
        (Backend::Postgres, true) => {
            "CREATE OR REPLACE FUNCTION refuse_entries() RETURNS trigger LANGUAGE plpgsql \
             AS $$ BEGIN RAISE EXCEPTION 'journal refused'; END $$; \
             CREATE TRIGGER refuse_entries BEFORE INSERT ON audit_pending \
             FOR EACH ROW EXECUTE FUNCTION refuse_entries();"
        }
        (Backend::Postgres, false) => "DROP TRIGGER refuse_entries ON audit_pending;",
    };
    db.execute_raw(sql).unwrap();
}

fn last_activity(conn: &mut DbConnection, session: &TokenHash) -> OffsetDateTime {
    use ac_storage::schema::auth_sessions as s;
    use diesel::prelude::*;
    s::table
        .find(session.as_str())
        .select(s::last_activity_at)
        .first::<time::PrimitiveDateTime>(conn)
        .unwrap()
        .assume_utc()
}

#[test]
fn code_and_token_are_stored_with_their_journal_entry_or_not_at_all() {
    use ac_storage::schema::{oidc_access_tokens, oidc_authorization_codes};
    use diesel::prelude::*;
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        // The aidant's session, signed in (its last activity) ten minutes ago.
        let session = TokenHash::of(b"session");
        let before = NOW - Duration::minutes(10);
        ac_storage::testing::signed_in_session(conn, &session, &f.aidant, before).unwrap();
        let code = TokenHash::of(b"code-1");
        let codes = |conn: &mut DbConnection| -> i64 {
            oidc_authorization_codes::table
                .count()
                .get_result(conn)
                .unwrap()
        };

        // The choice: no entry, so no code and no session activity either.
        refuse_journal_entries(db, true);
        let attempt = try_issue(conn, &f, &code, Demarche::Social, NOW);
        assert!(attempt.is_err(), "{attempt:?}");
        assert_eq!(codes(conn), 0);
        assert_eq!(last_activity(conn, &session), before);
        refuse_journal_entries(db, false);
        assert!(matches!(
            issue(conn, &f, &code, Demarche::Social, NOW),
            CodeIssue::Issued(_)
        ));
        assert_eq!(codes(conn), 1);
        assert!(last_activity(conn, &session) > before);

        // The exchange: no entry, so the code is not consumed and no token exists.
        refuse_journal_entries(db, true);
        let token = TokenHash::of(b"token-1");
        let attempt = try_redeem(conn, &code, &token, NOW + Duration::seconds(1));
        assert!(attempt.is_err(), "{attempt:?}");
        let used: Option<time::PrimitiveDateTime> = oidc_authorization_codes::table
            .find(code.as_str())
            .select(oidc_authorization_codes::used_at)
            .first(conn)
            .unwrap();
        assert_eq!(used, None);
        let tokens: i64 = oidc_access_tokens::table.count().get_result(conn).unwrap();
        assert_eq!(tokens, 0);
        refuse_journal_entries(db, false);
        assert!(matches!(
            redeem(conn, &code, &token, NOW + Duration::seconds(2)),
            Redemption::Granted { .. }
        ));
    });
}

#[test]
fn on_postgresql_the_code_and_token_writes_are_prepared_once_per_connection() {
    each(|db| {
        if db.backend() != Backend::Postgres {
            return;
        }
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        for n in 0..3u8 {
            let code = TokenHash::of(&[b'c', n]);
            issue(conn, &f, &code, Demarche::Social, NOW);
            let granted = redeem(conn, &code, &TokenHash::of(&[b't', n]), NOW);
            assert!(matches!(granted, Redemption::Granted { .. }));
        }
        // diesel names (prepares) only the statements it caches; the others are unnamed and
        // planned at every call, which these two hot writes must not be.
        for start in ["WITH answered AS", "WITH used AS"] {
            let sql = format!(
                "SELECT COUNT(*) AS n FROM pg_prepared_statements WHERE statement LIKE '{start}%'"
            );
            assert_eq!(
                ac_storage::testing::count(conn, &sql).unwrap(),
                1,
                "{start}"
            );
        }
    });
}

#[test]
fn of_concurrent_exchanges_of_one_code_one_wins_and_its_token_is_revoked() {
    each(|db| {
        let f = fixture(&mut db.db.conn().unwrap());
        for round in 0..5u8 {
            let code = TokenHash::of(&[b'c', round]);
            issue(&mut db.db.conn().unwrap(), &f, &code, Demarche::Social, NOW);
            let start = std::sync::Barrier::new(4);
            let outcomes: Vec<Redemption<&str>> = std::thread::scope(|scope| {
                let racers: Vec<_> = (0..4u8)
                    .map(|i| {
                        let (start, code) = (&start, &code);
                        scope.spawn(move || {
                            let conn = &mut *db.db.conn().unwrap();
                            start.wait();
                            redeem(conn, code, &TokenHash::of(&[b't', round, i]), NOW)
                        })
                    })
                    .collect();
                racers.into_iter().map(|r| r.join().unwrap()).collect()
            });
            let granted = outcomes
                .iter()
                .filter(|o| matches!(o, Redemption::Granted { .. }))
                .count();
            let replayed = outcomes
                .iter()
                .filter(|o| matches!(o, Redemption::Replayed { .. }))
                .count();
            assert_eq!((granted, replayed), (1, 3), "{outcomes:?}");
            // Every replay revoked the winner's token, whichever order they came in.
            let live = (0..4u8)
                .filter(|i| {
                    oidc_grants::userinfo(
                        &mut db.db.conn().unwrap(),
                        &TokenHash::of(&[b't', round, *i]),
                        None,
                        NOW,
                    )
                    .unwrap()
                        != UserinfoGrant::InvalidToken
                })
                .count();
            assert_eq!(live, 0);
        }
    });
}

#[test]
fn of_parallel_choices_for_one_request_one_code_is_issued_and_the_others_write_nothing() {
    each(|db| {
        let f = fixture(&mut db.db.conn().unwrap());
        let scopes = strings(&["openid", "birth"]);
        for round in 0..3u8 {
            let request = format!("request-{round}");
            let before = journal(&mut db.db.conn().unwrap()).len();
            let start = std::sync::Barrier::new(4);
            let outcomes: Vec<CodeIssue> = std::thread::scope(|scope| {
                let racers: Vec<_> = (0..4u8)
                    .map(|i| {
                        let (start, f, scopes, request) = (&start, &f, &scopes, &request);
                        scope.spawn(move || {
                            let conn = &mut *db.db.conn().unwrap();
                            let hash = TokenHash::of(&[b'p', round, i]);
                            // Another démarche each time: the request, not the choice, is
                            // what may be answered once.
                            let demarche =
                                [Demarche::Social, Demarche::Logement][usize::from(i % 2)];
                            start.wait();
                            oidc_grants::issue_code(
                                conn,
                                &Delegation {
                                    aidant: &f.aidant,
                                    organisation: &f.org,
                                    usager: &f.usager,
                                    demarche,
                                },
                                &NewCode {
                                    interaction_id: request,
                                    ..new_code(&hash, scopes, NOW)
                                },
                                &TokenHash::of(b"session"),
                                &AuditContext::aidant(&f.aidant, None),
                                NOW,
                            )
                            .unwrap()
                        })
                    })
                    .collect();
                racers.into_iter().map(|r| r.join().unwrap()).collect()
            });
            let issued = outcomes
                .iter()
                .filter(|o| matches!(o, CodeIssue::Issued(_)))
                .count();
            let answered = outcomes
                .iter()
                .filter(|o| **o == CodeIssue::AlreadyAnswered)
                .count();
            assert_eq!((issued, answered), (1, 3), "{outcomes:?}");
            // One code stored for the request, one `delegation.started` entry.
            let stored = (0..4u8)
                .filter(|i| {
                    let sql = format!(
                        "SELECT COUNT(*) AS n FROM oidc_authorization_codes WHERE code_hash = '{}'",
                        TokenHash::of(&[b'p', round, *i]).as_str()
                    );
                    ac_storage::testing::count(&mut db.db.conn().unwrap(), &sql).unwrap() == 1
                })
                .count();
            assert_eq!(stored, 1);
            assert_eq!(journal(&mut db.db.conn().unwrap()).len(), before + 1);
        }
    });
}

#[test]
fn an_expired_code_is_consumed_and_refused() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let code = TokenHash::of(b"code");
        issue(conn, &f, &code, Demarche::Social, NOW);
        assert_eq!(
            redeem(
                conn,
                &code,
                &TokenHash::of(b"t"),
                NOW + Duration::seconds(30)
            ),
            Redemption::Refused("code expired")
        );
        assert_eq!(
            redeem(
                conn,
                &code,
                &TokenHash::of(b"t2"),
                NOW + Duration::seconds(31)
            ),
            Redemption::Replayed { revoked_tokens: 0 }
        );
    });
}

#[test]
fn the_mandate_is_checked_at_each_step() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        // Not covered: no code, and the refusal is journaled.
        assert_eq!(
            issue(conn, &f, &TokenHash::of(b"c0"), Demarche::Argent, NOW),
            CodeIssue::Refused(Refusal::DemarcheNotCovered)
        );
        let refused = journal(conn)
            .into_iter()
            .rev()
            .find(|e| e["action"] == "delegation.refused")
            .unwrap();
        assert_eq!(refused["details"]["reason"], "ACT006");
        assert_eq!(refused["details"]["step"], "authorize");

        // Revoked between the code and the token.
        let code = TokenHash::of(b"c1");
        issue(conn, &f, &code, Demarche::Social, NOW);
        let social = mandates::get(conn, &f.mandate)
            .unwrap()
            .authorizations
            .into_iter()
            .find(|a| a.demarche == Demarche::Social)
            .unwrap();
        mandates::revoke_authorization(
            conn,
            &f.aidant,
            &f.mandate,
            &social.id,
            mandates::RevocationConsent::NotRecorded,
            &ctx(),
            NOW + Duration::seconds(1),
        )
        .unwrap();
        assert_eq!(
            redeem(
                conn,
                &code,
                &TokenHash::of(b"t1"),
                NOW + Duration::seconds(2)
            ),
            Redemption::MandateRefused(Refusal::Revoked)
        );

        // Revoked between the token and userinfo.
        let code = TokenHash::of(b"c2");
        issue(
            conn,
            &f,
            &code,
            Demarche::Logement,
            NOW + Duration::seconds(3),
        );
        let token = TokenHash::of(b"t2");
        assert!(matches!(
            redeem(conn, &code, &token, NOW + Duration::seconds(4)),
            Redemption::Granted { .. }
        ));
        mandates::revoke_mandate(
            conn,
            &f.aidant,
            &f.mandate,
            mandates::RevocationConsent::NotRecorded,
            &ctx(),
            NOW + Duration::seconds(5),
        )
        .unwrap();
        let refused =
            oidc_grants::userinfo(conn, &token, None, NOW + Duration::seconds(6)).unwrap();
        assert!(
            matches!(
                refused,
                UserinfoGrant::MandateRefused {
                    refusal: Refusal::Revoked,
                    ..
                }
            ),
            "{refused:?}"
        );
        let steps: Vec<String> = journal(conn)
            .iter()
            .filter(|e| e["action"] == "delegation.refused")
            .map(|e| e["details"]["step"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(steps, ["authorize", "token", "userinfo"]);
    });
}

#[test]
fn expired_mandates_and_tokens_stop_the_use() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let code = TokenHash::of(b"c");
        issue(conn, &f, &code, Demarche::Social, NOW);
        let token = TokenHash::of(b"t");
        assert!(matches!(
            redeem(conn, &code, &token, NOW + Duration::seconds(1)),
            Redemption::Granted { .. }
        ));
        assert_eq!(
            oidc_grants::userinfo(conn, &token, None, NOW + Duration::seconds(61)).unwrap(),
            UserinfoGrant::InvalidToken,
            "a 60-second token"
        );
        // The one-month mandate (created a day before NOW) has expired 31 days later.
        let later = NOW + Duration::days(31);
        assert_eq!(
            issue(conn, &f, &TokenHash::of(b"late"), Demarche::Social, later),
            CodeIssue::Refused(Refusal::Expired)
        );
    });
}

#[test]
fn lifetimes_are_capped_by_the_database() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let scopes = strings(&["openid"]);
        let hash = TokenHash::of(b"long");
        let too_long = NewCode {
            expires_at: NOW + Duration::seconds(31),
            ..new_code(&hash, &scopes, NOW)
        };
        let result = oidc_grants::issue_code(
            conn,
            &Delegation {
                aidant: &f.aidant,
                organisation: &f.org,
                usager: &f.usager,
                demarche: Demarche::Social,
            },
            &too_long,
            &TokenHash::of(b"s"),
            &ctx(),
            NOW,
        );
        assert!(result.is_err(), "a 31-second code is refused");
        let code = TokenHash::of(b"ok");
        issue(conn, &f, &code, Demarche::Social, NOW);
        let long_token = oidc_grants::redeem_code(
            conn,
            &code,
            CLIENT,
            |_| Ok::<(), &str>(()),
            &NewAccessToken {
                token_hash: &TokenHash::of(b"t"),
                expires_at: NOW + Duration::seconds(61),
            },
            &ctx(),
            NOW,
        );
        assert!(long_token.is_err(), "a 61-second token is refused");
        // Nothing was half-written: the code is still unused.
        assert!(matches!(
            redeem(conn, &code, &TokenHash::of(b"t2"), NOW),
            Redemption::Granted { .. }
        ));
    });
}

#[test]
fn the_choice_lists_usagers_with_an_authorization_in_force() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let mut add = |subject: char, given: &str, family: &str, demarches: &[Demarche]| {
            let (u, _) = usagers::upsert_identified(
                conn,
                &subject.to_string().repeat(64),
                &identity(given, family),
                &ctx(),
                NOW,
            )
            .unwrap();
            mandates::create(
                conn,
                &NewMandate {
                    aidant: &f.aidant,
                    organisation: &f.org,
                    usager: &u.id,
                    demarches,
                    duration: MandateDuration::OneYear,
                    legal_text_version: "2026-01",
                    renewal_of: None,
                },
                &ctx(),
                NOW,
            )
            .unwrap();
            u.id
        };
        let bernard = add('b', "Paul", "BERNARD", &[Demarche::Argent]);
        let percent = add('c', "Zoé", "PER%CENT", &[Demarche::Social]);
        let all: Vec<Demarche> = Demarche::ALL.to_vec();
        let names = |found: Vec<oidc_grants::Eligible>| -> Vec<(String, Vec<Demarche>)> {
            found
                .into_iter()
                .map(|e| (e.family_name, e.demarches))
                .collect()
        };
        assert_eq!(
            names(oidc_grants::eligible_usagers(conn, &f.org, &all, None, None, NOW, 50).unwrap()),
            [
                ("BERNARD".to_owned(), vec![Demarche::Argent]),
                (
                    "DUBOIS".to_owned(),
                    vec![Demarche::Social, Demarche::Logement]
                ),
                ("PER%CENT".to_owned(), vec![Demarche::Social]),
            ]
        );
        // Restricted to what the client may receive (rep_scope ∩ allowed).
        assert_eq!(
            names(
                oidc_grants::eligible_usagers(
                    conn,
                    &f.org,
                    &[Demarche::Logement],
                    None,
                    None,
                    NOW,
                    50
                )
                .unwrap()
            ),
            [("DUBOIS".to_owned(), vec![Demarche::Logement])]
        );
        // Server-side search on the names, case-insensitive and literal.
        for (search, expected) in [
            ("ber", vec!["BERNARD"]),
            ("ANGELA", vec!["DUBOIS"]),
            ("%", vec!["PER%CENT"]),
            ("zzz", vec![]),
        ] {
            let found =
                oidc_grants::eligible_usagers(conn, &f.org, &all, Some(search), None, NOW, 50)
                    .unwrap();
            let found: Vec<String> = found.into_iter().map(|e| e.family_name).collect();
            assert_eq!(found, expected, "{search}");
        }
        assert_eq!(
            oidc_grants::eligible_usagers(conn, &f.org, &all, None, None, NOW, 1)
                .unwrap()
                .len(),
            1
        );
        let one = oidc_grants::eligible_usagers(conn, &f.org, &all, None, Some(&bernard), NOW, 1)
            .unwrap();
        assert_eq!(one[0].usager_id, bernard);
        // A démarche the structure no longer allows is not offered.
        let allowed: std::collections::BTreeSet<Demarche> = Demarche::ALL
            .into_iter()
            .filter(|d| *d != Demarche::Argent)
            .collect();
        organisations::set_allowed_demarches(conn, &f.org, &allowed, &ctx(), NOW).unwrap();
        let found = oidc_grants::eligible_usagers(conn, &f.org, &all, None, None, NOW, 50).unwrap();
        assert!(
            found.iter().all(|e| e.usager_id != bernard),
            "argent no longer allowed"
        );
        organisations::set_allowed_demarches(
            conn,
            &f.org,
            &Demarche::ALL.into_iter().collect(),
            &ctx(),
            NOW,
        )
        .unwrap();
        // Revoked or expired authorizations are not offered, nor other structures'.
        mandates::revoke_mandate(
            conn,
            &f.aidant,
            &f.mandate,
            mandates::RevocationConsent::NotRecorded,
            &ctx(),
            NOW,
        )
        .unwrap();
        let found = oidc_grants::eligible_usagers(
            conn,
            &f.org,
            &all,
            None,
            None,
            NOW + Duration::seconds(1),
            50,
        )
        .unwrap();
        assert_eq!(
            found
                .iter()
                .map(|e| e.usager_id.clone())
                .collect::<Vec<_>>(),
            [bernard, percent]
        );
        assert!(
            oidc_grants::eligible_usagers(
                conn,
                &f.org,
                &all,
                None,
                None,
                NOW + Duration::days(400),
                50
            )
            .unwrap()
            .is_empty()
        );
        assert!(
            oidc_grants::eligible_usagers(
                conn,
                &OrganisationId::new("other"),
                &all,
                None,
                None,
                NOW,
                50
            )
            .unwrap()
            .is_empty()
        );
    });
}

#[test]
fn expired_codes_tokens_and_consents_are_purged_a_day_after_they_expire_a_code_after_its_tokens() {
    each(|db| {
        let conn = &mut *db.db.conn().unwrap();
        let f = fixture(conn);
        let day = purge::KEPT_AFTER_EXPIRY;
        let window = Duration::minutes(15);
        let (exchanged, token) = (TokenHash::of(b"exchanged"), TokenHash::of(b"token"));
        let (unused, fresh) = (TokenHash::of(b"unused"), TokenHash::of(b"fresh"));
        // Codes expire 30 s after issue, tokens 60 s after the exchange.
        issue(conn, &f, &exchanged, Demarche::Social, NOW);
        assert!(matches!(
            redeem(conn, &exchanged, &token, NOW + Duration::seconds(1)),
            Redemption::Granted { .. }
        ));
        issue(conn, &f, &unused, Demarche::Social, NOW);
        issue(conn, &f, &fresh, Demarche::Social, NOW + day);
        // A consent waiting on the tablet for 10 minutes.
        let consent = PendingConsent {
            organisation: f.org.clone(),
            usager: f.usager.clone(),
            draft: "{}".into(),
            renewal_of: None,
            identification: Identification::FranceConnect,
            comprehension: ac_mandates::comprehension::Check::new(),
        };
        let consent_ends = NOW + Duration::minutes(10);
        mandate_consents::insert(
            conn,
            &"c".repeat(64),
            &f.aidant,
            &consent,
            NOW,
            consent_ends,
        )
        .unwrap();

        // A day after the codes expired, the exchanged one waits for its token (alive 31 s more).
        let purged = purge::expired(conn, window, NOW + day + Duration::seconds(30)).unwrap();
        assert_eq!((purged.codes, purged.access_tokens), (1, 0));
        // Within the day, a replay is still recognised, and journaled as one.
        assert!(matches!(
            redeem(
                conn,
                &exchanged,
                &TokenHash::of(b"other"),
                NOW + day + Duration::seconds(30)
            ),
            Redemption::Replayed { .. }
        ));
        assert_eq!(actions(conn).last().unwrap(), "delegation.refused");

        let purged = purge::expired(conn, window, NOW + day + Duration::seconds(61)).unwrap();
        assert_eq!((purged.codes, purged.access_tokens), (1, 1));
        assert!(matches!(
            redeem(
                conn,
                &exchanged,
                &TokenHash::of(b"late"),
                NOW + day + Duration::seconds(62)
            ),
            Redemption::Unknown
        ));
        let left = |conn: &mut DbConnection, table: &str| {
            ac_storage::testing::count(conn, &format!("SELECT COUNT(*) AS n FROM {table}")).unwrap()
        };
        assert_eq!(
            left(conn, "oidc_authorization_codes"),
            1,
            "the fresh code stays"
        );
        assert_eq!(left(conn, "oidc_access_tokens"), 0);
        assert_eq!((purged.consents, purged.answered_requests), (0, 0));
        // The ids of the requests answered at NOW (accepted until NOW + 5 min) go with the
        // consent; the fresh code's request stays.
        let purged = purge::expired(conn, window, consent_ends + day).unwrap();
        assert_eq!(
            (purged.consents, purged.answered_requests, purged.total()),
            (1, 2, 3)
        );
        assert_eq!(left(conn, "oidc_answered_requests"), 1);
    });
}
