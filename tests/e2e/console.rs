//! The référent and coordinator consoles through HTTP, on the demo pilot and on
//! datasets with known counts: every page and export in its own scope, in a neighbouring scope
//! and with a tampered id; export content and CSV escaping; dashboard figures; the team
//! operations; the integrity panel and the anomaly rules. Each test runs on SQLite and, when
//! AC_TEST_DATABASE_URL is set, PostgreSQL.

mod browser;
mod every_page_browser;

use ac_audit::Action;
use ac_auth::Secret;
use ac_clock::Clock;
use ac_e2e::{TOTP_SEED, TestApp, extract_csrf};
use ac_mandates::{
    Aidant, AidantId, Demarche, Gender, MandateDuration, Organisation, OrganisationId,
    OrganisationKind, PivotIdentity, UsagerId,
};
use ac_storage::journal::{self, AuditContext, Event};
use ac_storage::mandates::NewMandate;
use ac_storage::{aidants, mandates, organisations, totp_devices, usagers, write};
use reqwest::StatusCode;
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Gives an existing account an authenticator app on the test seed, so it can sign in.
fn enrol(app: &TestApp, aidant: &AidantId) {
    let conn = &mut *app.db.db.conn().unwrap();
    totp_devices::enrol_app(
        conn,
        aidant,
        &Secret::new(TOTP_SEED.to_vec()),
        &app.state.auth.keys,
        &ring::rand::SystemRandom::new(),
        &AuditContext::cli(),
        app.clock.now(),
    )
    .unwrap();
}

/// Integrates every pending entry and signs a checkpoint (what the worker does in the
/// background).
fn integrate(app: &TestApp) {
    ac_web::audit_worker::run_once(&app.state, true).unwrap();
}

fn denials(app: &TestApp) -> usize {
    app.journal_actions()
        .iter()
        .filter(|a| *a == "access.denied")
        .count()
}

/// The demo pilot's structures and accounts used by the scope tests.
struct Pilot {
    quimper: OrganisationId,
    chateaulin: OrganisationId,
    lorient: OrganisationId,
    quimper_referent: Aidant,
    quimper_aidant: Aidant,
    chateaulin_aidant: Aidant,
    coordinator_29: Aidant,
    national: Aidant,
}

fn find_org(all: &[Organisation], name: &str) -> OrganisationId {
    all.iter().find(|o| o.name == name).unwrap().id.clone()
}

fn load_pilot(app: &TestApp) -> Pilot {
    let conn = &mut *app.db.db.conn().unwrap();
    ac_demo::load(
        conn,
        &app.state.auth.keys,
        &app.state.franceconnect.demo_pseudonyms().unwrap(),
        &AuditContext::cli(),
        app.clock.now(),
    )
    .unwrap();
    let all = organisations::list(conn).unwrap();
    let quimper = find_org(&all, "Médiathèque des Ursulines");
    let chateaulin = find_org(&all, "France Services de Châteaulin");
    let lorient = find_org(&all, "Centre social des Trois Rivières");
    let mut team = |org: &OrganisationId| aidants::list(conn, Some(org)).unwrap();
    let quimper_team = team(&quimper);
    let quimper_referent = quimper_team
        .iter()
        .find(|a| a.referent_of.contains(&quimper))
        .unwrap()
        .clone();
    let only_here = |team: &[Aidant], org: &OrganisationId| {
        team.iter()
            .find(|a| {
                a.organisations.len() == 1
                    && a.referent_of.is_empty()
                    && a.coordinator_scopes.is_empty()
                    && a.organisations.contains(org)
            })
            .unwrap()
            .clone()
    };
    let quimper_aidant = only_here(&quimper_team, &quimper);
    let chateaulin_aidant = only_here(&team(&chateaulin), &chateaulin);
    let everyone = aidants::list(conn, None).unwrap();
    let coordinator = |email: &str| {
        everyone
            .iter()
            .find(|a| a.email.as_str() == email)
            .unwrap()
            .clone()
    };
    let pilot = Pilot {
        coordinator_29: coordinator("coordination.29@departement.example"),
        national: coordinator("pilotage@national.example"),
        quimper,
        chateaulin,
        lorient,
        quimper_referent,
        quimper_aidant,
        chateaulin_aidant,
    };
    drop(everyone);
    for a in [
        &pilot.quimper_referent,
        &pilot.quimper_aidant,
        &pilot.coordinator_29,
        &pilot.national,
    ] {
        enrol(app, &a.id);
    }
    pilot
}

/// The seq of an integrated entry of this structure.
fn entry_of(app: &TestApp, organisation: &OrganisationId) -> i64 {
    use ac_storage::schema::audit_log;
    use diesel::prelude::*;
    let conn = &mut *app.db.db.conn().unwrap();
    audit_log::table
        .filter(audit_log::organisation_id.eq(organisation.as_str()))
        .select(audit_log::seq)
        .order(audit_log::seq.desc())
        .first(conn)
        .unwrap()
}

async fn status_of(app: &TestApp, path: &str) -> StatusCode {
    app.get(path).await.status()
}

async fn body_of(app: &TestApp, path: &str) -> String {
    let res = app.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.text().await.unwrap()
}

/// Asserts a request is refused with the consoles' 403 and journaled.
async fn assert_refused(app: &TestApp, path: &str) {
    let before = denials(app);
    let res = app.get(path).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    let body = res.text().await.unwrap();
    assert!(body.contains("CON403"), "{path}: {body}");
    assert_eq!(denials(app), before + 1, "{path} not journaled");
}

async fn assert_post_refused(app: &TestApp, path: &str, form: &[(&str, &str)]) {
    let before = denials(app);
    let res = app.post_form(path, form).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    let body = res.text().await.unwrap();
    assert!(body.contains("CON403"), "{path}: {body}");
    assert_eq!(denials(app), before + 1, "{path} not journaled");
}

// ---------------------------------------------------------------------------------------------
// Scope: référent

#[actix_web::test]
async fn a_referent_sees_their_structure_and_nothing_else() {
    for app in TestApp::each().await {
        let pilot = load_pilot(&app);
        integrate(&app);
        let own = format!("/referent/{}", pilot.quimper);
        let other = format!("/referent/{}", pilot.chateaulin);
        app.sign_in(pilot.quimper_referent.email.as_str()).await;

        // The space links to the console; one structure: the index goes straight to it.
        assert!(
            body_of(&app, "/espace")
                .await
                .contains("href=\"/referent\"")
        );
        let res = app.get("/referent").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], own.as_str());

        // Own scope: every page and export answers.
        let page = body_of(&app, &own).await;
        assert!(page.contains("Médiathèque des Ursulines"));
        assert!(page.contains(&pilot.quimper_aidant.last_name));
        assert!(!page.contains("Châteaulin"), "a neighbour leaked");
        let own_entry = entry_of(&app, &pilot.quimper);
        for path in [
            format!("{own}/aidants/nouveau"),
            format!("{own}/aidants/{}", pilot.quimper_aidant.id),
            format!("{own}/journal"),
            format!("{own}/journal/{own_entry}"),
            format!("{own}/journal/{own_entry}/preuve"),
            format!("{own}/journal/export.csv"),
            format!("{own}/journal/export.jsonl"),
        ] {
            assert_eq!(status_of(&app, &path).await, StatusCode::OK, "{path}");
        }
        let journal = body_of(&app, &format!("{own}/journal")).await;
        assert!(journal.contains("Médiathèque des Ursulines"));
        assert!(
            !journal.contains("Châteaulin"),
            "a neighbour's entry leaked"
        );
        let export = app
            .get(&format!("{own}/journal/export.jsonl"))
            .await
            .text()
            .await
            .unwrap();
        for line in export.lines() {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(entry["organisation_id"], pilot.quimper.as_str(), "{line}");
        }

        // The neighbouring structure, and ids tampered into one's own URLs: 403, journaled.
        let neighbour_entry = entry_of(&app, &pilot.chateaulin);
        for path in [
            other.clone(),
            format!("{other}/journal"),
            format!("{other}/journal/export.csv"),
            format!("{other}/journal/export.jsonl"),
            format!("{other}/journal/{neighbour_entry}"),
            format!("{other}/aidants/nouveau"),
            format!("{other}/aidants/{}", pilot.chateaulin_aidant.id),
            "/referent/une-structure-inventee".into(),
            format!("{own}/aidants/{}", pilot.chateaulin_aidant.id),
            format!("{own}/aidants/inconnu"),
            format!("{own}/journal/{neighbour_entry}"),
            format!("{own}/journal/{neighbour_entry}/preuve"),
            format!("{own}/journal?structure={}", pilot.chateaulin),
            format!("{own}/journal?aidant={}", pilot.chateaulin_aidant.id),
            format!("{own}/journal/export.csv?structure={}", pilot.chateaulin),
            format!(
                "{own}/journal/export.jsonl?aidant={}",
                pilot.chateaulin_aidant.id
            ),
            // A usager whose only mandate is with Châteaulin.
            format!(
                "{own}/journal?usager={}",
                usager_of(&app, &pilot.chateaulin)
            ),
        ] {
            assert_refused(&app, &path).await;
        }
        // The coordination space is not a référent's.
        assert_refused(&app, "/coordination").await;

        // Forms aimed outside: refused before anything changes.
        let csrf = extract_csrf(&page);
        let chateaulin_aidant = &pilot.chateaulin_aidant.id;
        for path in [
            format!("{other}/aidants/{chateaulin_aidant}/desactiver"),
            format!("{own}/aidants/{chateaulin_aidant}/desactiver"),
            format!("{own}/aidants/{chateaulin_aidant}/deverrouiller"),
            format!("{own}/aidants/{chateaulin_aidant}/application"),
        ] {
            assert_post_refused(&app, &path, &[("csrf", &csrf)]).await;
        }
        assert_post_refused(
            &app,
            &format!("{other}/demarches"),
            &[("csrf", &csrf), ("demarche", "social")],
        )
        .await;
        let conn = &mut *app.db.db.conn().unwrap();
        assert!(aidants::get(conn, chateaulin_aidant).unwrap().is_active);
        assert_eq!(
            organisations::get(conn, &pilot.chateaulin)
                .unwrap()
                .allowed_demarches
                .len(),
            10
        );

        // The refusals are filed under the structure aimed at, so its référent sees them.
        let denied: Vec<serde_json::Value> = app
            .journal()
            .into_iter()
            .filter(|e| e["action"] == "access.denied")
            .collect();
        assert!(
            denied
                .iter()
                .any(|e| e["organisation_id"] == pilot.chateaulin.as_str())
        );
        assert!(
            denied
                .iter()
                .all(|e| e["actor"]["id"] == pilot.quimper_referent.id.as_str())
        );
        app.stop().await;
    }
}

/// The pseudonym of a usager with a mandate in this structure.
fn usager_of(app: &TestApp, organisation: &OrganisationId) -> String {
    use ac_storage::schema::{mandates as m, usagers as u};
    use diesel::prelude::*;
    let conn = &mut *app.db.db.conn().unwrap();
    u::table
        .inner_join(m::table)
        .filter(m::organisation_id.eq(organisation.as_str()))
        .select(u::subject)
        .first(conn)
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Scope: coordination

#[actix_web::test]
async fn a_departement_coordinator_sees_their_departement_only() {
    for app in TestApp::each().await {
        let pilot = load_pilot(&app);
        integrate(&app);
        app.sign_in(pilot.coordinator_29.email.as_str()).await;

        let space = body_of(&app, "/espace").await;
        assert!(space.contains("href=\"/coordination\"") && !space.contains("href=\"/referent\""));
        let dashboard = body_of(&app, "/coordination").await;
        assert!(dashboard.contains("Médiathèque des Ursulines"));
        assert!(dashboard.contains("France Services de Châteaulin"));
        assert!(
            !dashboard.contains("Trois Rivières"),
            "another département leaked"
        );
        assert!(dashboard.contains("Département 29"));

        let own_entry = entry_of(&app, &pilot.quimper);
        for path in [
            format!("/coordination/structures/{}", pilot.chateaulin),
            "/coordination/journal".into(),
            format!("/coordination/journal?structure={}", pilot.quimper),
            format!(
                "/coordination/journal?aidant={}",
                pilot.chateaulin_aidant.id
            ),
            format!(
                "/coordination/journal?usager={}",
                usager_of(&app, &pilot.quimper)
            ),
            "/coordination/journal?nom=dubois".into(),
            format!("/coordination/journal/{own_entry}"),
            format!("/coordination/journal/{own_entry}/preuve"),
            "/coordination/journal/export.csv".into(),
            "/coordination/journal/export.jsonl".into(),
            "/coordination/anomalies".into(),
            "/coordination/integrite".into(),
        ] {
            assert_eq!(status_of(&app, &path).await, StatusCode::OK, "{path}");
        }
        let journal = body_of(&app, "/coordination/journal").await;
        assert!(!journal.contains("Trois Rivières"));
        let csv = app
            .get("/coordination/journal/export.csv")
            .await
            .text()
            .await
            .unwrap();
        // Structures by their names in the CSV a person reads.
        assert!(
            !csv.contains(pilot.lorient.as_str()) && !csv.contains("Trois Rivières"),
            "export left the scope"
        );
        assert!(csv.contains(";France Services de Châteaulin;"));
        // The name search finds the person (a Quimper mandate) and shows her entries only.
        let by_name = body_of(&app, "/coordination/journal?nom=dubois").await;
        assert!(by_name.contains("Angela Claire Louise DUBOIS"));
        // A name known only in another département finds nobody here.
        let elsewhere = body_of(&app, "/coordination/journal?nom=keita").await;
        assert!(elsewhere.contains("Aucune personne de ce nom"));
        assert!(!elsewhere.contains("Fatoumata"));

        let lorient_entry = entry_of(&app, &pilot.lorient);
        for path in [
            format!("/coordination/structures/{}", pilot.lorient),
            format!("/coordination/journal?structure={}", pilot.lorient),
            format!("/coordination/journal/{lorient_entry}"),
            format!("/coordination/journal/{lorient_entry}/preuve"),
            format!(
                "/coordination/journal/export.csv?structure={}",
                pilot.lorient
            ),
            format!(
                "/coordination/journal/export.jsonl?structure={}",
                pilot.lorient
            ),
            format!(
                "/coordination/journal?usager={}",
                usager_of(&app, &pilot.lorient)
            ),
            "/coordination/structures/inconnue".into(),
            format!("/referent/{}", pilot.quimper),
        ] {
            assert_refused(&app, &path).await;
        }

        // The national coordinator sees everything; a plain aidant sees no console.
        app.sign_in(pilot.national.email.as_str()).await;
        let national = body_of(&app, "/coordination").await;
        assert!(national.contains("Trois Rivières") && national.contains("Ursulines"));
        assert_eq!(
            status_of(&app, &format!("/coordination/journal/{lorient_entry}")).await,
            StatusCode::OK
        );
        app.sign_in(pilot.quimper_aidant.email.as_str()).await;
        assert_refused(&app, "/coordination").await;
        assert_refused(&app, "/coordination/journal/export.csv").await;
        assert_refused(&app, "/referent").await;
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Exports

#[actix_web::test]
async fn exports_hold_the_filtered_scope_are_journaled_and_csv_is_safe() {
    for app in TestApp::each().await {
        let pilot = load_pilot(&app);
        // An entry whose values a spreadsheet would run as formulas.
        {
            let conn = &mut *app.db.db.conn().unwrap();
            write(conn, |tx| {
                journal::record(
                    tx,
                    &AuditContext::aidant(&pilot.quimper_aidant.id, None),
                    Event::new(Action::DelegationStarted)
                        .organisation(&pilot.quimper)
                        .demarche(Demarche::Social)
                        .client("=HYPERLINK(\"http://evil.example\";\"x\")")
                        .target("@SUM(A1)")
                        .detail("note", "+33 1 23; \"cité\"\nsecond line")
                        .detail("minus", "-2+3"),
                    app.clock.now(),
                )
            })
            .unwrap();
        }
        integrate(&app);
        app.sign_in(pilot.coordinator_29.email.as_str()).await;

        let res = app
            .get(&format!(
                "/coordination/journal/export.csv?structure={}&action=delegation.started",
                pilot.quimper
            ))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(
            res.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=\"journal-")
        );
        assert_eq!(res.headers()["cache-control"], "no-store");
        let csv = res.text().await.unwrap();
        assert!(
            csv.starts_with('\u{feff}'),
            "byte order mark for spreadsheets"
        );
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(
            lines[0],
            "numéro;horodatage (heure locale de la structure);action;type d'acteur;acteur;structure;usager (pseudonyme);démarche;site partenaire;objet;requête;détails"
        );
        // One data row (the filter), then the final empty line.
        assert_eq!(lines.len(), 3, "{csv}");
        let row = lines[1];
        // Words and names, not codes and ids: the action, the kind of actor, the aidant, the
        // structure and the démarche.
        let words = format!(
            ";Utilisation d'un mandat;Aidant;{};Médiathèque des Ursulines;",
            pilot.quimper_aidant.full_name()
        );
        assert!(row.contains(&words), "{row}");
        assert!(!row.contains("delegation.started"), "{row}");
        // The time is the structure's (Finistère, UTC+1 in November), ISO 8601 with its offset.
        let at = row.split(';').nth(1).unwrap();
        assert!(
            at.starts_with("2026-11-2") && at.ends_with("+01:00"),
            "{at}"
        );
        assert!(
            row.contains(";\"'=HYPERLINK(\"\"http://evil.example\"\";\"\"x\"\")\";"),
            "{row}"
        );
        assert!(row.contains(";\"'@SUM(A1)\";"), "{row}");
        // Details are one JSON cell, quoted because it holds quotes, a separator and a line
        // break; values starting with a formula character inside it are data, not a cell start.
        assert!(
            row.contains("\"{\"\"minus\"\":\"\"-2+3\"\",\"\"note\"\":\"\"+33 1 23; \\\"\"cité\\\"\"\\nsecond line\"\"}\""),
            "{row}"
        );
        // No cell starts with a formula character once unquoted.
        for cell in split_csv(row) {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} in {row}"
            );
        }

        // JSON lines: the canonical entries, exactly as hashed, and only the filtered ones.
        let jsonl = app
            .get(&format!(
                "/coordination/journal/export.jsonl?structure={}",
                pilot.quimper
            ))
            .await
            .text()
            .await
            .unwrap();
        let stored = canonical_entries_of(&app, &pilot.quimper);
        let exported: Vec<&str> = jsonl.lines().collect();
        assert_eq!(
            exported,
            stored.iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert!(exported.len() > 5);

        // Each export is journaled with its filter, before its content.
        let exports: Vec<serde_json::Value> = app
            .journal()
            .into_iter()
            .filter(|e| e["action"] == "export.made")
            .collect();
        assert_eq!(exports.len(), 2, "{exports:?}");
        let csv_entry = &exports[0];
        assert_eq!(csv_entry["actor"]["id"], pilot.coordinator_29.id.as_str());
        assert_eq!(csv_entry["organisation_id"], pilot.quimper.as_str());
        assert_eq!(csv_entry["details"]["format"], "csv");
        assert_eq!(
            csv_entry["details"]["filter_structure"],
            pilot.quimper.as_str()
        );
        assert_eq!(csv_entry["details"]["filter_action"], "delegation.started");
        assert_eq!(csv_entry["details"]["scope"], "2 structure(s)");
        assert!(
            csv_entry["details"]["up_to_seq"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .is_ok()
        );
        assert_eq!(exports[1]["details"]["format"], "jsonl");
        // No name, no address in those entries.
        let text = serde_json::to_string(&exports).unwrap();
        assert!(!text.contains(pilot.coordinator_29.email.as_str()));

        // The name filter is journaled as the pseudonym, never the name typed.
        app.get("/coordination/journal/export.csv?nom=Dubois").await;
        let last = app
            .journal()
            .into_iter()
            .rfind(|e| e["action"] == "export.made")
            .unwrap();
        assert_eq!(last["usager"], usager_of(&app, &pilot.quimper).as_str());
        assert!(
            !serde_json::to_string(&last)
                .unwrap()
                .to_lowercase()
                .contains("dubois")
        );
        app.stop().await;
    }
}

/// Splits a CSV record (`;`, RFC 4180 quotes) into its unquoted cells.
fn split_csv(record: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = record.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (';', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

fn canonical_entries_of(app: &TestApp, organisation: &OrganisationId) -> Vec<String> {
    use ac_storage::schema::audit_log;
    use diesel::prelude::*;
    let conn = &mut *app.db.db.conn().unwrap();
    audit_log::table
        .filter(audit_log::organisation_id.eq(organisation.as_str()))
        .order(audit_log::seq)
        .select(audit_log::entry)
        .load(conn)
        .unwrap()
}

#[test]
fn csv_splitting_helper() {
    assert_eq!(
        split_csv("a;\"b;c\";\"d\"\"e\""),
        vec!["a".to_owned(), "b;c".into(), "d\"e".into()]
    );
}

// ---------------------------------------------------------------------------------------------
// Dashboard figures against a dataset with known counts

struct Dataset {
    a: OrganisationId,
    b: OrganisationId,
    c: OrganisationId,
    coordinator: Aidant,
    a1: AidantId,
    a2: AidantId,
}

fn structure(
    conn: &mut ac_storage::DbConnection,
    id: &str,
    name: &str,
    departement: &str,
    now: OffsetDateTime,
) -> OrganisationId {
    let organisation = Organisation {
        id: OrganisationId::new(id),
        name: name.into(),
        kind: OrganisationKind::FranceServices,
        address: "1 place de la Mairie".into(),
        departement: departement.parse().unwrap(),
        siret: "13002526500013".parse().unwrap(),
        allowed_demarches: Demarche::ALL.into_iter().collect(),
        is_active: true,
        renewal_requires_identification: true,
    };
    organisations::insert(conn, &organisation, &AuditContext::cli(), now).unwrap();
    organisation.id
}

fn account(
    conn: &mut ac_storage::DbConnection,
    id: &str,
    organisation: &OrganisationId,
    helps: bool,
    now: OffsetDateTime,
) -> Aidant {
    let aidant = Aidant {
        id: AidantId::new(id),
        email: format!("{id}@exemple.fr").parse().unwrap(),
        first_name: "Prénom".into(),
        last_name: format!("Nom-{id}"),
        profession: "Conseillère numérique".into(),
        organisations: BTreeSet::from([organisation.clone()]),
        current_organisation: organisation.clone(),
        can_create_mandates: helps,
        referent_of: BTreeSet::new(),
        coordinator_scopes: vec![],
        is_active: true,
    };
    aidants::insert(conn, &aidant, &AuditContext::cli(), now).unwrap();
    aidant
}

fn person(
    conn: &mut ac_storage::DbConnection,
    n: usize,
    family: &str,
    now: OffsetDateTime,
) -> (UsagerId, String) {
    let subject = format!("{n:064x}");
    let identity = PivotIdentity {
        given_name: "Claude".into(),
        family_name: family.into(),
        birthdate: time::macros::date!(1950 - 01 - 01),
        gender: Gender::Female,
        birthplace: Some("29232".into()),
        birthcountry: "99100".into(),
        email: None,
        preferred_username: None,
    };
    let (usager, _) =
        usagers::upsert_identified(conn, &subject, &identity, &AuditContext::cli(), now).unwrap();
    (usager.id, subject)
}

fn mandate(
    conn: &mut ac_storage::DbConnection,
    aidant: &AidantId,
    organisation: &OrganisationId,
    usager: &UsagerId,
    duration: MandateDuration,
    at: OffsetDateTime,
) -> ac_mandates::MandateId {
    mandates::create(
        conn,
        &NewMandate {
            aidant,
            organisation,
            usager,
            demarches: &[Demarche::Social, Demarche::Logement],
            duration,
            legal_text_version: "2026-01",
            renewal_of: None,
        },
        &AuditContext::cli(),
        at,
    )
    .unwrap()
    .mandate
    .id
}

fn use_mandate(
    conn: &mut ac_storage::DbConnection,
    aidant: &AidantId,
    organisation: &OrganisationId,
    subject: &str,
    demarche: Demarche,
    at: OffsetDateTime,
) {
    write(conn, |tx| {
        journal::record(
            tx,
            &AuditContext::aidant(aidant, None),
            Event::new(Action::DelegationStarted)
                .organisation(organisation)
                .usager(subject)
                .demarche(demarche)
                .client("site-demo"),
            at,
        )
    })
    .unwrap();
}

/// Three structures: A and B in the Finistère (29), C in the Morbihan (56).
/// - A: 4 mandates: 2 active, 1 expired, 1 revoked; 2 active habilitated aidants (a1, a2), one
///   deactivated aidant, one référent who does not help; uses: a1 3 this week (2 social,
///   1 logement), a2 1 the week before (social).
/// - B: 1 active mandate; 1 aidant; 2 uses this week (papiers).
/// - C: 1 mandate, 1 aidant, 5 uses: outside the coordinator's scope, counted nowhere.
fn seed_dataset(app: &TestApp) -> Dataset {
    let now = app.clock.now();
    let conn = &mut *app.db.db.conn().unwrap();
    let a = structure(conn, "struct-a", "Structure Alpha", "29", now);
    let b = structure(conn, "struct-b", "Structure Bêta", "29", now);
    let c = structure(conn, "struct-c", "Structure Gamma", "56", now);
    let a1 = account(conn, "a1", &a, true, now).id;
    let a2 = account(conn, "a2", &a, true, now).id;
    let gone = account(conn, "a3", &a, true, now).id;
    aidants::deactivate(conn, &gone, &AuditContext::cli(), now).unwrap();
    account(conn, "ra", &a, false, now);
    let b1 = account(conn, "b1", &b, true, now).id;
    let c1 = account(conn, "c1", &c, true, now).id;
    let coordinator = Aidant {
        id: AidantId::new("coord-29"),
        email: "coord-29@exemple.fr".parse().unwrap(),
        first_name: "Coordination".into(),
        last_name: "Finistère".into(),
        profession: "Coordinatrice".into(),
        organisations: BTreeSet::from([a.clone()]),
        current_organisation: a.clone(),
        can_create_mandates: false,
        referent_of: BTreeSet::new(),
        coordinator_scopes: vec![ac_mandates::CoordinatorScope::Departement(
            "29".parse().unwrap(),
        )],
        is_active: true,
    };
    aidants::insert(conn, &coordinator, &AuditContext::cli(), now).unwrap();

    let people: Vec<(UsagerId, String)> = (0..7)
        .map(|n| person(conn, n + 1, &format!("PERSONNE{n}"), now))
        .collect();
    mandate(
        conn,
        &a1,
        &a,
        &people[0].0,
        MandateDuration::OneYear,
        now - Duration::days(10),
    );
    mandate(
        conn,
        &a1,
        &a,
        &people[1].0,
        MandateDuration::SixMonths,
        now - Duration::days(1),
    );
    mandate(
        conn,
        &a2,
        &a,
        &people[2].0,
        MandateDuration::OneMonth,
        now - Duration::days(60),
    );
    let revoked = mandate(
        conn,
        &a2,
        &a,
        &people[3].0,
        MandateDuration::OneYear,
        now - Duration::days(20),
    );
    mandates::revoke_mandate(
        conn,
        &a2,
        &revoked,
        mandates::RevocationConsent::NotRecorded,
        &AuditContext::cli(),
        now - Duration::days(5),
    )
    .unwrap();
    mandate(
        conn,
        &b1,
        &b,
        &people[4].0,
        MandateDuration::OneYear,
        now - Duration::days(3),
    );
    mandate(
        conn,
        &c1,
        &c,
        &people[5].0,
        MandateDuration::OneYear,
        now - Duration::days(3),
    );

    // The clock is Sunday 2026-11-22 09:00 UTC: "this week" began Monday 16th.
    let this_week = now - Duration::days(2);
    use_mandate(conn, &a1, &a, &people[0].1, Demarche::Social, this_week);
    use_mandate(
        conn,
        &a1,
        &a,
        &people[0].1,
        Demarche::Social,
        this_week + Duration::hours(1),
    );
    use_mandate(
        conn,
        &a1,
        &a,
        &people[1].1,
        Demarche::Logement,
        this_week + Duration::hours(2),
    );
    // Monday 9th, 10:00 local time.
    use_mandate(
        conn,
        &a2,
        &a,
        &people[0].1,
        Demarche::Social,
        now - Duration::days(13),
    );
    use_mandate(conn, &b1, &b, &people[4].1, Demarche::Papiers, this_week);
    use_mandate(
        conn,
        &b1,
        &b,
        &people[4].1,
        Demarche::Papiers,
        this_week + Duration::hours(3),
    );
    for h in 0..5 {
        use_mandate(
            conn,
            &c1,
            &c,
            &people[5].1,
            Demarche::Justice,
            this_week + Duration::hours(h),
        );
    }
    drop(people);
    Dataset {
        a,
        b,
        c,
        coordinator,
        a1,
        a2,
    }
}

/// The cells of a table row whose `data-structure` is `name`.
fn figures_row(page: &str, name: &str) -> Vec<String> {
    let marker = format!("data-structure=\"{name}\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no row {name}"));
    let row = &page[start..start + page[start..].find("</tr>").unwrap()];
    row.split("<td>")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn dashboard_figures_match_a_dataset_with_known_counts() {
    for app in TestApp::each().await {
        let data = seed_dataset(&app);
        enrol(&app, &data.coordinator.id);
        integrate(&app);
        app.sign_in(data.coordinator.email.as_str()).await;
        let page = body_of(&app, "/coordination").await;
        // département, created, active, expired, revoked, active aidants, who acted, uses
        assert_eq!(
            figures_row(&page, "Structure Alpha"),
            ["29", "4", "2", "1", "1", "2", "2", "4"]
        );
        assert_eq!(
            figures_row(&page, "Structure Bêta"),
            ["29", "1", "1", "0", "0", "1", "1", "2"]
        );
        assert_eq!(
            figures_row(&page, "Total"),
            ["", "5", "3", "1", "1", "3", "3", "6"]
        );
        assert!(!page.contains("Structure Gamma"));
        // Uses per démarche and per week, in the tables that follow the charts.
        assert!(
            page.contains("<tr><th scope=\"row\">Social - Santé</th><td>3</td></tr>"),
            "{page}"
        );
        assert!(page.contains("<tr><th scope=\"row\">Logement</th><td>1</td></tr>"));
        assert!(page.contains(
            "<tr><th scope=\"row\">Papiers - Citoyenneté - Élections</th><td>2</td></tr>"
        ));
        assert!(page.contains("<tr><th scope=\"row\">Justice</th><td>0</td></tr>"));
        let week = |d: &str, n: u32| {
            format!(
                "<tr><th scope=\"row\">Semaine du {}</th><td>{n}</td></tr>",
                d.replace('/', "&#x2F;")
            )
        };
        assert!(page.contains(&week("16/11/2026", 5)), "{page}");
        assert!(page.contains(&week("09/11/2026", 1)));
        assert!(page.contains(&week("02/11/2026", 0)));
        // Charts are inline SVG, named, without style attributes.
        assert_eq!(page.matches("<svg class=\"chart-svg\"").count(), 3);
        assert!(page.contains("role=\"img\" aria-labelledby=\"statuts-titre statuts-desc\""));
        assert!(!page.contains("style="));

        // One structure's own page.
        let one = body_of(&app, &format!("/coordination/structures/{}", data.a)).await;
        assert_eq!(
            figures_row(&one, "Structure Alpha"),
            ["29", "4", "2", "1", "1", "2", "2", "4"]
        );
        assert!(!one.contains("Structure Bêta"));
        assert_refused(&app, &format!("/coordination/structures/{}", data.c)).await;
        let _ = (&data.b, &data.a1, &data.a2);
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Explorer: filters and keyset pagination

#[actix_web::test]
async fn the_explorer_filters_and_pages_on_seq() {
    for app in TestApp::each().await {
        let data = seed_dataset(&app);
        enrol(&app, &data.coordinator.id);
        {
            let conn = &mut *app.db.db.conn().unwrap();
            // 120 more uses of A, one minute apart, ending before the seeded ones.
            let start = app.clock.now() - Duration::days(6);
            for i in 0..120 {
                use_mandate(
                    conn,
                    &data.a1,
                    &data.a,
                    &format!("{:064x}", 1),
                    Demarche::Famille,
                    start + Duration::minutes(i),
                );
            }
        }
        integrate(&app);
        app.sign_in(data.coordinator.email.as_str()).await;

        let seqs = |page: &str| -> Vec<i64> {
            page.split("aria-label=\"Entrée ")
                .skip(1)
                .map(|s| s.split('"').next().unwrap().parse().unwrap())
                .collect()
        };
        let filter = "/coordination/journal?action=delegation.started&demarche=famille";
        let first = body_of(&app, filter).await;
        let page1 = seqs(&first);
        assert_eq!(page1.len(), 50);
        assert!(page1.windows(2).all(|w| w[0] > w[1]), "newest first");
        let older = first
            .split("href=\"")
            .find(|s| s.contains("rel=\"next\""))
            .map(|s| {
                s.split('"')
                    .next()
                    .unwrap()
                    .replace("&amp;", "&")
                    .replace("&#x2F;", "/")
            })
            .unwrap();
        assert!(older.contains(&format!("avant={}", page1[49])), "{older}");
        let second = body_of(&app, &older).await;
        let page2 = seqs(&second);
        assert_eq!(page2.len(), 50);
        assert!(page2[0] < page1[49]);
        let third = body_of(&app, &format!("{filter}&avant={}", page2[49])).await;
        assert_eq!(seqs(&third).len(), 20);
        assert!(!third.contains("rel=\"next\""));
        // Back up: the newer page of page 2 is page 1.
        let back = body_of(&app, &format!("{filter}&apres={}", page2[0])).await;
        assert_eq!(seqs(&back), page1);

        // Filters: démarche, structure, usager by name, dates.
        let papiers = body_of(&app, "/coordination/journal?demarche=papiers").await;
        assert_eq!(seqs(&papiers).len(), 2);
        let b_only = body_of(
            &app,
            &format!(
                "/coordination/journal?structure={}&action=delegation.started",
                data.b
            ),
        )
        .await;
        assert_eq!(seqs(&b_only).len(), 2);
        let by_name = body_of(
            &app,
            "/coordination/journal?nom=personne4&action=delegation.started",
        )
        .await;
        assert_eq!(seqs(&by_name).len(), 2, "PERSONNE4 has B's two uses");
        let day = (app.clock.now() - Duration::days(13)).date();
        let dated = body_of(
            &app,
            &format!("/coordination/journal?action=delegation.started&du={day}&au={day}"),
        )
        .await;
        assert_eq!(seqs(&dated).len(), 1);
        // Bad input is a 422, not a crash.
        for bad in [
            "?du=22/11/2026",
            "?action=nimporte",
            "?demarche=x",
            "?avant=-3",
            "?du=2026-11-22&au=2026-11-01",
        ] {
            assert_eq!(
                status_of(&app, &format!("/coordination/journal{bad}")).await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{bad}"
            );
        }
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The référent's operations

#[actix_web::test]
async fn a_referent_manages_the_team_with_step_up_csrf_and_journal() {
    for app in TestApp::each().await {
        let pilot = load_pilot(&app);
        let own = format!("/referent/{}", pilot.quimper);
        app.sign_in(pilot.quimper_referent.email.as_str()).await;
        let csrf = extract_csrf(&body_of(&app, &own).await);

        // Without the form token, nothing happens.
        let res = app
            .post_form(
                &format!("{own}/aidants/nouveau"),
                &[
                    ("email", "x@exemple.fr"),
                    ("first_name", "A"),
                    ("last_name", "B"),
                    ("profession", "C"),
                    ("csrf", "faux"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("AUTH001"));

        // Invite: account created in the structure, invitation mailed, journaled under it.
        let form = [
            ("email", "Nouvelle.Aidante@Exemple.fr"),
            ("first_name", "Nouvelle"),
            ("last_name", "Aidante"),
            ("profession", "Médiatrice numérique"),
            ("csrf", csrf.as_str()),
        ];
        let mails = app.sent_mail().len();
        let res = app
            .post_form(&format!("{own}/aidants/nouveau"), &form)
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.ends_with("?fait=ajoute"), "{location}");
        let created = {
            let conn = &mut *app.db.db.conn().unwrap();
            aidants::find_by_email(conn, &"nouvelle.aidante@exemple.fr".parse().unwrap())
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            created.organisations,
            BTreeSet::from([pilot.quimper.clone()])
        );
        assert!(created.can_create_mandates && created.is_active);
        for _ in 0..100 {
            if app.sent_mail().len() > mails {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mail = app.sent_mail().last().unwrap().clone();
        assert_eq!(mail.to, "nouvelle.aidante@exemple.fr");
        assert_eq!(mail.subject, "Votre compte Aidants Connect");
        assert!(
            mail.text.contains("Médiathèque des Ursulines") && mail.text.contains("/connexion")
        );
        let page = body_of(&app, &location).await;
        assert!(page.contains("invitation envoyée") && page.contains("Aucun appareil"));
        let entry = app
            .journal()
            .into_iter()
            .rfind(|e| e["action"] == "aidant.created")
            .unwrap();
        assert_eq!(entry["organisation_id"], pilot.quimper.as_str());
        assert!(
            !serde_json::to_string(&entry)
                .unwrap()
                .contains("nouvelle.aidante")
        );
        // The same address again: refused with a message, nothing created.
        let res = app
            .post_form(&format!("{own}/aidants/nouveau"), &form)
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("Un compte existe déjà"));

        // Enrol an app: the QR code once, as an image; the device exists, sealed.
        let base = format!("{own}/aidants/{}", created.id);
        let res = app
            .post_form(&format!("{base}/application"), &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        let qr_page = res.text().await.unwrap();
        assert!(
            qr_page.contains("src=\"data:image&#x2F;svg+xml;base64,"),
            "{qr_page}"
        );
        assert!(!qr_page.contains("<svg"), "no inline SVG needing | safe");
        let devices = {
            let conn = &mut *app.db.db.conn().unwrap();
            totp_devices::list_for_aidant(conn, &created.id).unwrap()
        };
        assert_eq!(devices.len(), 1);

        // Lock, then unlock.
        app.db.execute_raw(&format!("UPDATE totp_devices SET locked_at = created_at, failures = 10 WHERE aidant_id = '{}'", created.id)).unwrap();
        assert!(
            body_of(&app, &base)
                .await
                .contains("Bloqué après 10 codes faux")
        );
        let res = app
            .post_form(&format!("{base}/deverrouiller"), &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            !body_of(&app, &base)
                .await
                .contains("Bloqué après 10 codes faux")
        );
        let unlocked = app
            .journal()
            .into_iter()
            .rfind(|e| e["action"] == "auth.totp.unlocked")
            .unwrap();
        assert_eq!(unlocked["organisation_id"], pilot.quimper.as_str());

        // A card: imported by the administrator, handed over with a reason, then taken back.
        {
            let conn = &mut *app.db.db.conn().unwrap();
            totp_devices::import_cards(
                conn,
                &[totp_devices::CardSeed {
                    serial: "GALT-0042".into(),
                    seed: Secret::new(vec![7; 20]),
                }],
                &app.state.auth.keys,
                &ring::rand::SystemRandom::new(),
                &AuditContext::cli(),
                app.clock.now(),
            )
            .unwrap();
        }
        // An unknown card, a reason outside the list, then the card with a listed reason.
        for (serial, reason, status) in [
            ("GALT-9999", "first_card", StatusCode::UNPROCESSABLE_ENTITY),
            ("GALT-0042", "texte libre", StatusCode::UNPROCESSABLE_ENTITY),
            ("GALT-0042", "first_card", StatusCode::SEE_OTHER),
        ] {
            let res = app
                .post_form(
                    &format!("{base}/carte"),
                    &[("serial", serial), ("reason", reason), ("csrf", &csrf)],
                )
                .await;
            assert_eq!(res.status(), status, "{serial} {reason}");
        }
        let added = app
            .journal()
            .into_iter()
            .rfind(|e| e["action"] == "totp_device.added")
            .unwrap();
        assert_eq!(added["details"]["reason"], "first_card");
        assert_eq!(added["organisation_id"], pilot.quimper.as_str());
        let card = {
            let conn = &mut *app.db.db.conn().unwrap();
            totp_devices::list_for_aidant(conn, &created.id)
                .unwrap()
                .into_iter()
                .find(|d| d.serial.is_some())
                .unwrap()
        };
        // Someone else's device id in the form: 403, journaled.
        let foreign = {
            let conn = &mut *app.db.db.conn().unwrap();
            totp_devices::list_for_aidant(conn, &pilot.quimper_referent.id)
                .unwrap()
                .remove(0)
        };
        assert_post_refused(
            &app,
            &format!("{base}/retirer"),
            &[("device", &foreign.id), ("reason", "lost"), ("csrf", &csrf)],
        )
        .await;
        let res = app
            .post_form(
                &format!("{base}/retirer"),
                &[
                    ("device", &card.id),
                    ("reason", "returned"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let removed = app
            .journal()
            .into_iter()
            .rfind(|e| e["action"] == "totp_device.removed")
            .unwrap();
        assert_eq!(removed["details"]["reason"], "returned");
        assert_eq!(removed["details"]["outcome"], "returned_to_stock");
        {
            let conn = &mut *app.db.db.conn().unwrap();
            assert!(
                totp_devices::find_free_card(conn, "GALT-0042").unwrap(),
                "back in stock"
            );
        }

        // Allowed démarches.
        let res = app
            .post_form(
                &format!("{own}/demarches"),
                &[
                    ("csrf", &csrf),
                    ("demarche", "social"),
                    ("demarche", "logement"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        {
            let conn = &mut *app.db.db.conn().unwrap();
            assert_eq!(
                organisations::get(conn, &pilot.quimper)
                    .unwrap()
                    .allowed_demarches,
                BTreeSet::from([Demarche::Social, Demarche::Logement])
            );
        }
        let res = app
            .post_form(&format!("{own}/demarches"), &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Deactivation: not oneself, not someone who also works elsewhere; others yes.
        let self_page = format!("{own}/aidants/{}", pilot.quimper_referent.id);
        let res = app
            .post_form(&format!("{self_page}/desactiver"), &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let both = {
            let conn = &mut *app.db.db.conn().unwrap();
            aidants::list(conn, Some(&pilot.quimper))
                .unwrap()
                .into_iter()
                .find(|a| a.organisations.len() == 2)
                .unwrap()
        };
        let res = app
            .post_form(
                &format!("{own}/aidants/{}/desactiver", both.id),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let res = app
            .post_form(&format!("{base}/desactiver"), &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        {
            let conn = &mut *app.db.db.conn().unwrap();
            assert!(!aidants::get(conn, &created.id).unwrap().is_active);
        }
        let deactivated = app
            .journal()
            .into_iter()
            .rfind(|e| e["action"] == "aidant.deactivated")
            .unwrap();
        assert_eq!(deactivated["organisation_id"], pilot.quimper.as_str());

        // After 15 minutes without audited activity, the code is asked again.
        app.clock.advance(Duration::minutes(16));
        let res = app.get(&own).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/connexion/verification")
        );
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Integrity panel

#[actix_web::test]
async fn the_integrity_panel_runs_and_records_a_full_verification() {
    for app in TestApp::each().await {
        let pilot = load_pilot(&app);
        integrate(&app);
        app.sign_in(pilot.coordinator_29.email.as_str()).await;
        let panel = body_of(&app, "/coordination/integrite").await;
        assert!(panel.contains("Aucune vérification complète n'a encore été faite"));
        assert!(panel.contains("Ce qu'une vérification prouve"));
        assert!(panel.contains("Dernier point de contrôle signé"));
        let csrf = extract_csrf(&panel);
        let res = app
            .post_form("/coordination/integrite/verifier", &[("csrf", "faux")])
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("AUTH001"));
        let res = app
            .post_form("/coordination/integrite/verifier", &[("csrf", &csrf)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let mut done = String::new();
        for _ in 0..100 {
            done = body_of(&app, "/coordination/integrite").await;
            if done.contains("Journal intègre") {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(done.contains("Journal intègre"), "{done}");
        assert!(done.contains("depuis cette console"));

        // Tampering shows up in the next run.
        app.db.execute_raw(&tamper_sql(&app)).unwrap();
        app.clock.advance(Duration::minutes(1));
        app.post_form("/coordination/integrite/verifier", &[("csrf", &csrf)])
            .await;
        for _ in 0..100 {
            done = body_of(&app, "/coordination/integrite").await;
            if done.contains("Altération détectée") {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(done.contains("Altération détectée"), "{done}");
        app.stop().await;
    }
}

/// Edits one entry's text behind the application's back (dropping the append-only trigger).
fn tamper_sql(app: &TestApp) -> String {
    format!(
        "{} UPDATE audit_log SET entry = entry || ' ' WHERE seq = 0;",
        ac_storage::testing::drop_audit_log_guards(app.db.backend())
    )
}

// ---------------------------------------------------------------------------------------------
// Anomaly rules

#[actix_web::test]
async fn anomalies_follow_the_configured_rules_and_link_to_entries() {
    for app in TestApp::each().await {
        let data = seed_dataset(&app);
        enrol(&app, &data.coordinator.id);
        {
            let conn = &mut *app.db.db.conn().unwrap();
            // Two more aidants of A who did not act: A's median is then low.
            let now = app.clock.now();
            account(conn, "a4", &data.a, true, now);
            account(conn, "a5", &data.a, true, now);
            // a1 far above A's median: 25 uses on a Tuesday at 10:00 local time (09:00 UTC).
            let tuesday = time::macros::datetime!(2026-11-17 09:00 UTC);
            for i in 0..25 {
                use_mandate(
                    conn,
                    &data.a1,
                    &data.a,
                    &format!("{:064x}", 1),
                    Demarche::Social,
                    tuesday + Duration::minutes(i),
                );
            }
            // One use at 22:30 local time on Wednesday: outside opening hours.
            use_mandate(
                conn,
                &data.a2,
                &data.a,
                &format!("{:064x}", 2),
                Demarche::Social,
                time::macros::datetime!(2026-11-18 21:30 UTC),
            );
            // PERSONNE4's mandates: B above; now A too, within the day (a mandate at A as well).
            let p5: UsagerId = usagers::find_by_subject(conn, &format!("{:064x}", 5))
                .unwrap()
                .unwrap()
                .id;
            mandate(
                conn,
                &data.a2,
                &data.a,
                &p5,
                MandateDuration::OneYear,
                app.clock.now() - Duration::days(3),
            );
            use_mandate(
                conn,
                &data.a2,
                &data.a,
                &format!("{:064x}", 5),
                Demarche::Social,
                app.clock.now() - Duration::days(2) + Duration::hours(5),
            );
        }
        integrate(&app);
        app.sign_in(data.coordinator.email.as_str()).await;
        let page = body_of(&app, "/coordination/anomalies").await;
        // Every seeded use falls on a weekday between 10:00 and 15:00 local time, except the one
        // at 22:30.
        assert!(
            page.contains("Utilisations hors des horaires d'ouverture (1)"),
            "{page}"
        );
        assert!(page.contains("22:30"));
        assert!(
            page.contains("Aidants très au-dessus de la médiane de leur structure (1)"),
            "{page}"
        );
        assert!(page.contains("Prénom Nom-a1"));
        assert!(
            page.contains("Mandats d'un même usager utilisés par plusieurs structures (1)"),
            "{page}"
        );
        assert!(page.contains("Claude PERSONNE4"));
        assert!(page.contains("href=\"&#x2F;coordination&#x2F;journal&#x2F;"));
        // Gamma (département 56) is out of scope: its uses were not examined.
        assert!(!page.contains("Structure Gamma"));
        let _ = &data.c;
        app.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The header's menu and the pages that know who is signed in

/// The menu's links, in order (`base.html`'s « Menu principal »).
fn menu_of(page: &str) -> Vec<String> {
    let start = page.find("aria-label=\"Menu principal\"").expect("a menu");
    let end = start + page[start..].find("</nav>").unwrap();
    page[start..end]
        .split("class=\"fr-nav__link\"")
        .skip(1)
        .map(|part| {
            let text = &part[part.find('>').unwrap() + 1..];
            text[..text.find('<').unwrap()].to_owned()
        })
        .collect()
}

#[actix_web::test]
async fn the_menu_and_the_space_follow_the_signed_in_role() {
    for app in TestApp::each().await {
        let pilot = load_pilot(&app);
        // Nobody signed in: the home page leads to the sign-in, and there is no menu.
        let home = body_of(&app, "/").await;
        assert!(home.contains("href=\"/connexion\"") && !home.contains("Menu principal"));

        app.sign_in(pilot.quimper_aidant.email.as_str()).await;
        let space = body_of(&app, "/espace").await;
        assert_eq!(
            menu_of(&space),
            ["Mon espace", "Usagers", "Créer un mandat"]
        );
        assert!(space.contains("Vous agissez pour la structure"));
        assert!(space.contains("Se déconnecter"));
        // The home page knows who is signed in: no « se connecter », the way to the space.
        let home = body_of(&app, "/").await;
        assert!(!home.contains("href=\"/connexion\""), "{home}");
        assert!(home.contains("Aller à mon espace"));
        assert_eq!(menu_of(&home), ["Mon espace", "Usagers", "Créer un mandat"]);

        app.sign_in(pilot.quimper_referent.email.as_str()).await;
        let console = body_of(&app, &format!("/referent/{}", pilot.quimper)).await;
        assert!(menu_of(&console).contains(&"Référent".to_owned()));
        assert!(
            console.contains("aria-current=\"page\">Référent<"),
            "the section is marked"
        );

        // A coordinator who helps nobody: no « Vous agissez pour la structure … ».
        app.sign_in(pilot.coordinator_29.email.as_str()).await;
        let space = body_of(&app, "/espace").await;
        assert_eq!(menu_of(&space), ["Mon espace", "Coordination"]);
        assert!(!space.contains("Vous agissez pour la structure"), "{space}");
        app.stop().await;
    }
}

/// The `<dt>` terms of a page's description lists.
fn terms(page: &str) -> Vec<String> {
    page.split("<dt>")
        .skip(1)
        .map(|part| part[..part.find("</dt>").unwrap()].to_owned())
        .collect()
}

#[actix_web::test]
async fn no_journal_code_reaches_a_page_without_french_words() {
    for app in TestApp::each().await {
        let pilot = load_pilot(&app);
        integrate(&app);
        app.sign_in(pilot.national.email.as_str()).await;
        // One entry of each action the pilot's journal holds (the demo is loaded by the command
        // line: its entries' actor is the administration).
        let entries: Vec<(i64, String)> = {
            use ac_storage::schema::audit_log;
            use diesel::prelude::*;
            let conn = &mut *app.db.db.conn().unwrap();
            // The entries a coordination console shows: those filed under a structure.
            audit_log::table
                .filter(audit_log::organisation_id.is_not_null())
                .select((audit_log::seq, audit_log::action))
                .order(audit_log::seq)
                .load(conn)
                .unwrap()
        };
        let mut seen = std::collections::BTreeSet::new();
        let raw = |text: &str| {
            !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
        };
        for (seq, action) in entries {
            if !seen.insert(action.clone()) {
                continue;
            }
            let page = body_of(&app, &format!("/coordination/journal/{seq}")).await;
            for term in terms(&page) {
                assert!(
                    !raw(&term),
                    "entry {seq} ({action}): the detail « {term} » has no French name"
                );
            }
            let said = |label: &str| {
                let at = page.find(&format!("<dt>{label}</dt><dd>")).unwrap() + label.len() + 13;
                page[at..at + page[at..].find("</dd>").unwrap()].to_owned()
            };
            let action_words = said("Action");
            assert!(
                !action_words.starts_with(&action),
                "entry {seq}: {action_words}"
            );
            let by = said("Par");
            assert!(
                !by.contains(" cli") && !raw(&by),
                "entry {seq}: the actor is « {by} »"
            );
        }
        assert!(seen.len() > 5, "{seen:?}");
        app.stop().await;
    }
}
