//! The consoles' storage layer: every query shape of the journal explorer returns exactly the
//! scope's filtered entries, in order, across pages and exports, on both backends.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test helpers fail loudly by design

use ac_audit::Action;
use ac_mandates::{
    Aidant, AidantId, CoordinatorScope, Demarche, Organisation, OrganisationId, OrganisationKind,
};
use ac_storage::console::Scope;
use ac_storage::console::export::{self, Format};
use ac_storage::console::journal::{self, Cursor, JournalFilter, JournalRow};
use ac_storage::journal::{AuditContext, Event};
use ac_storage::schema::audit_log;
use ac_storage::testing::TestDatabase;
use ac_storage::{DbConnection, aidants, audit, organisations, write};
use diesel::prelude::*;
use std::collections::BTreeSet;
use time::Duration;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

fn org(conn: &mut DbConnection, id: &str, departement: &str) -> OrganisationId {
    let o = Organisation {
        id: OrganisationId::new(id),
        name: format!("Structure {id}"),
        kind: OrganisationKind::Association,
        address: "1 rue".into(),
        departement: departement.parse().unwrap(),
        siret: "13002526500013".parse().unwrap(),
        allowed_demarches: Demarche::ALL.into_iter().collect(),
        is_active: true,
        renewal_requires_identification: true,
    };
    organisations::insert(conn, &o, &AuditContext::cli(), NOW).unwrap();
    o.id
}

/// 3 structures (a, b in 29; c in 56) and 400 entries spread over them, actions, démarches,
/// aidants and an hour apart each; a few without a structure.
fn seed(conn: &mut DbConnection) -> Vec<OrganisationId> {
    let orgs = vec![
        org(conn, "a", "29"),
        org(conn, "b", "29"),
        org(conn, "c", "56"),
    ];
    let actions = [
        Action::DelegationStarted,
        Action::MandateCreated,
        Action::SigninSucceeded,
        Action::ExportMade,
    ];
    write(conn, |tx| -> Result<(), ac_storage::StorageError> {
        for i in 0..400usize {
            let mut event = Event::new(actions[(i * 7) % 4]).demarche(Demarche::ALL[i % 10]);
            if i % 13 != 0 {
                event = event.organisation(&orgs[(i * 5 + i / 3) % 3]);
            }
            ac_storage::journal::record(
                tx,
                &AuditContext::aidant(&AidantId::new(format!("aidant-{}", i % 4)), None),
                event,
                NOW - Duration::hours(400 - i as i64),
            )?;
        }
        Ok(())
    })
    .unwrap();
    audit::integrate_all(conn, 1000, NOW).unwrap();
    orgs
}

fn all_rows(conn: &mut DbConnection) -> Vec<JournalRow> {
    audit_log::table
        .order(audit_log::seq)
        .select(JournalRow::as_select())
        .load(conn)
        .unwrap()
}

fn expected(rows: &[JournalRow], scope: &Scope, filter: &JournalFilter) -> Vec<i64> {
    let mut seqs: Vec<i64> = rows
        .iter()
        .filter(|r| {
            r.organisation_id
                .as_ref()
                .is_some_and(|o| scope.contains(&OrganisationId::new(o.clone())))
                && filter
                    .organisation
                    .as_ref()
                    .is_none_or(|o| r.organisation_id.as_deref() == Some(o.as_str()))
                && filter.action.is_none_or(|a| r.action == a.as_str())
                && filter
                    .demarche
                    .is_none_or(|d| r.demarche.as_deref() == Some(d.key()))
                && filter
                    .aidant
                    .as_ref()
                    .is_none_or(|a| r.actor_id.as_deref() == Some(a.as_str()))
                && filter.from.is_none_or(|f| r.at() >= f)
                && filter.to.is_none_or(|t| r.at() < t)
        })
        .map(|r| r.seq)
        .collect();
    seqs.reverse();
    seqs
}

/// Every page from the newest, following the "older" cursors; then back with the "newer" ones.
fn paged(conn: &mut DbConnection, scope: &Scope, filter: &JournalFilter) -> Vec<i64> {
    let mut seqs = Vec::new();
    let mut pages = Vec::new();
    let mut cursor = Cursor::Newest;
    loop {
        let page = journal::page(conn, scope, filter, cursor).unwrap();
        assert!(page.rows.len() <= journal::PAGE_SIZE);
        seqs.extend(page.rows.iter().map(|r| r.seq));
        pages.push(page.rows.iter().map(|r| r.seq).collect::<Vec<_>>());
        match page.older {
            Some(seq) => cursor = Cursor::Before(seq),
            None => break,
        }
    }
    // Walking back up gives the same pages.
    for window in pages.windows(2).rev() {
        let back = journal::page(conn, scope, filter, Cursor::After(window[1][0])).unwrap();
        assert_eq!(
            back.rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
            window[0]
        );
    }
    seqs
}

#[test]
fn every_query_shape_returns_exactly_the_filtered_scope() {
    for db in TestDatabase::each().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        let orgs = seed(conn);
        let rows = all_rows(conn);
        let scopes = [
            Scope::All,
            Scope::Organisations(BTreeSet::from([orgs[0].clone()])),
            Scope::Organisations(BTreeSet::from([orgs[0].clone(), orgs[1].clone()])),
            Scope::Organisations(BTreeSet::new()),
        ];
        let filters = [
            JournalFilter::default(),
            JournalFilter {
                action: Some(Action::DelegationStarted),
                ..JournalFilter::default()
            },
            JournalFilter {
                demarche: Some(Demarche::Social),
                ..JournalFilter::default()
            },
            JournalFilter {
                aidant: Some(AidantId::new("aidant-1")),
                ..JournalFilter::default()
            },
            JournalFilter {
                organisation: Some(orgs[1].clone()),
                ..JournalFilter::default()
            },
            JournalFilter {
                organisation: Some(orgs[2].clone()),
                ..JournalFilter::default()
            },
            JournalFilter {
                from: Some(NOW - Duration::hours(200)),
                to: Some(NOW - Duration::hours(100)),
                ..JournalFilter::default()
            },
        ];
        for scope in &scopes {
            for filter in &filters {
                let want = expected(&rows, scope, filter);
                assert_eq!(paged(conn, scope, filter), want, "{scope:?} {filter:?}");
                let ticket = export::Ticket {
                    up_to: journal::log_size(conn).unwrap(),
                };
                let mut out = Vec::new();
                let n = export::write_to(
                    conn,
                    scope,
                    filter,
                    Format::JsonLines,
                    &ticket,
                    &ac_localtime::LocalTimes::load().unwrap(),
                    &mut out,
                )
                .unwrap();
                let exported: Vec<i64> = String::from_utf8(out)
                    .unwrap()
                    .lines()
                    .map(|l| {
                        ac_audit::Entry::from_canonical_bytes(l.as_bytes())
                            .unwrap()
                            .seq as i64
                    })
                    .collect();
                let mut ascending = want.clone();
                ascending.reverse();
                assert_eq!(exported, ascending, "export {scope:?} {filter:?}");
                assert_eq!(n as usize, want.len());
            }
        }
        // An export covers what existed when it began, not what came after.
        let scope = Scope::All;
        let ticket = export::Ticket { up_to: 10 };
        let mut out = Vec::new();
        export::write_to(
            conn,
            &scope,
            &JournalFilter::default(),
            Format::JsonLines,
            &ticket,
            &ac_localtime::LocalTimes::load().unwrap(),
            &mut out,
        )
        .unwrap();
        assert!(String::from_utf8(out).unwrap().lines().count() <= 10);
    }
}

#[test]
fn coordinator_scopes_resolve_to_structures() {
    for db in TestDatabase::each().unwrap() {
        let conn = &mut *db.db.conn().unwrap();
        let orgs = seed(conn);
        let mut aidant = Aidant {
            id: AidantId::new("coord"),
            email: "coord@exemple.fr".parse().unwrap(),
            first_name: "C".into(),
            last_name: "D".into(),
            profession: "Coordination".into(),
            organisations: BTreeSet::from([orgs[0].clone()]),
            current_organisation: orgs[0].clone(),
            can_create_mandates: false,
            referent_of: BTreeSet::new(),
            coordinator_scopes: vec![],
            is_active: true,
        };
        assert_eq!(Scope::coordinator(conn, &aidant).unwrap(), None);
        aidant.coordinator_scopes = vec![CoordinatorScope::Departement("29".parse().unwrap())];
        assert_eq!(
            Scope::coordinator(conn, &aidant).unwrap(),
            Some(Scope::Organisations(BTreeSet::from([
                orgs[0].clone(),
                orgs[1].clone()
            ])))
        );
        aidant
            .coordinator_scopes
            .push(CoordinatorScope::Organisation(orgs[2].clone()));
        assert_eq!(
            Scope::coordinator(conn, &aidant).unwrap(),
            Some(Scope::Organisations(orgs.iter().cloned().collect()))
        );
        aidant.coordinator_scopes.push(CoordinatorScope::National);
        assert_eq!(Scope::coordinator(conn, &aidant).unwrap(), Some(Scope::All));
        aidants::insert(conn, &aidant, &AuditContext::cli(), NOW).unwrap();
        let scope = Scope::Organisations(BTreeSet::from([orgs[2].clone()]));
        assert!(scope.check_aidant(conn, &aidant.id).unwrap().is_err());
        assert!(Scope::All.check_aidant(conn, &aidant.id).unwrap().is_ok());
    }
}
