use super::*;
use crate::people::{Aidant, OrganisationKind};
use crate::{AidantId, MandateStatus};
use proptest::prelude::*;
use std::collections::BTreeSet;
use time::Duration;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-03-10 14:30:00.123456789 UTC);

fn organisation(id: &str) -> Organisation {
    Organisation {
        id: OrganisationId::new(id),
        name: "Médiathèque de Quimper".into(),
        kind: OrganisationKind::Bibliotheque,
        address: "1 rue des Lettres, 29000 Quimper".into(),
        departement: "29".parse().unwrap(),
        siret: "13002526500013".parse().unwrap(),
        allowed_demarches: Demarche::ALL
            .into_iter()
            .filter(|d| *d != Demarche::Justice)
            .collect(),
        is_active: true,
        renewal_requires_identification: true,
    }
}

fn aidant(org: &str) -> Aidant {
    Aidant {
        id: AidantId::new("aidant-1"),
        email: "aidant@exemple.fr".parse().unwrap(),
        first_name: "Camille".into(),
        last_name: "Martin".into(),
        profession: "Conseillère numérique".into(),
        organisations: BTreeSet::from([OrganisationId::new(org)]),
        current_organisation: OrganisationId::new(org),
        can_create_mandates: true,
        referent_of: BTreeSet::new(),
        coordinator_scopes: vec![],
        is_active: true,
    }
}

fn ids() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("id-{n}")
    }
}

fn plan(
    demarches: &[Demarche],
    duration: MandateDuration,
    current: &[Authorization],
) -> Result<MandatePlan, MandateError> {
    let org = organisation("org-1");
    let aidant = aidant("org-1");
    let usager = UsagerId::new("usager-1");
    let request = MandateRequest {
        organisation: &org,
        aidant: &aidant,
        usager_id: &usager,
        demarches,
        duration,
        legal_text_version: "2026-01",
    };
    plan_mandate(&request, current, &mut ids(), NOW)
}

fn mandate(demarches: &[Demarche], duration: MandateDuration) -> Mandate {
    plan(demarches, duration, &[]).unwrap().mandate
}

#[test]
fn creation_builds_one_authorization_per_demarche() {
    let plan = plan(
        &[Demarche::Social, Demarche::Argent],
        MandateDuration::OneMonth,
        &[],
    )
    .unwrap();
    let m = plan.mandate;
    assert_eq!(
        m.created_at,
        datetime!(2026-03-10 14:30:00.123456 UTC),
        "stored at microsecond precision"
    );
    assert_eq!(m.expires_at, datetime!(2026-04-10 14:30:00.123456 UTC));
    let demarches: Vec<_> = m.authorizations.iter().map(|a| a.demarche).collect();
    assert_eq!(demarches, vec![Demarche::Social, Demarche::Argent]);
    assert!(
        m.authorizations
            .iter()
            .all(|a| a.mandate_id == m.id && a.expires_at == m.expires_at)
    );
    assert!(plan.superseded.is_empty());
    assert_eq!(m.content_hash.len(), 64);
    assert_eq!(
        m.status_at(NOW),
        MandateStatus::Active {
            expiring_soon: false
        }
    );
}

#[test]
fn creation_refusals_are_typed() {
    assert_eq!(
        plan(&[], MandateDuration::OneDay, &[]),
        Err(MandateError::NoDemarche)
    );
    assert_eq!(
        plan(
            &[Demarche::Social, Demarche::Social],
            MandateDuration::OneDay,
            &[]
        ),
        Err(MandateError::DuplicateDemarche)
    );
    assert_eq!(
        plan(
            &[Demarche::Social, Demarche::Justice],
            MandateDuration::OneDay,
            &[]
        ),
        Err(MandateError::DemarcheNotAllowed(Demarche::Justice))
    );

    let org = organisation("org-1");
    let usager = UsagerId::new("usager-1");
    let check = |org: &Organisation, aidant: &Aidant| {
        let request = MandateRequest {
            organisation: org,
            aidant,
            usager_id: &usager,
            demarches: &[Demarche::Social],
            duration: MandateDuration::OneDay,
            legal_text_version: "2026-01",
        };
        plan_mandate(&request, &[], &mut ids(), NOW).map(|_| ())
    };
    let inactive_org = Organisation {
        is_active: false,
        ..org.clone()
    };
    assert_eq!(
        check(&inactive_org, &aidant("org-1")),
        Err(MandateError::OrganisationInactive)
    );
    let inactive = Aidant {
        is_active: false,
        ..aidant("org-1")
    };
    assert_eq!(check(&org, &inactive), Err(MandateError::AidantInactive));
    let referent_only = Aidant {
        can_create_mandates: false,
        ..aidant("org-1")
    };
    assert_eq!(
        check(&org, &referent_only),
        Err(MandateError::AidantNotHabilitated)
    );
    assert_eq!(check(&org, &aidant("org-2")), Err(MandateError::NotAMember));
    let mut elsewhere = aidant("org-1");
    elsewhere.organisations.insert(OrganisationId::new("org-2"));
    elsewhere.current_organisation = OrganisationId::new("org-2");
    assert_eq!(
        check(&org, &elsewhere),
        Err(MandateError::NotCurrentOrganisation)
    );
}

#[test]
fn a_new_mandate_supersedes_older_authorizations_for_the_same_demarches() {
    let old = mandate(
        &[Demarche::Social, Demarche::Logement],
        MandateDuration::OneYear,
    );
    let mut other_person = mandate(&[Demarche::Social], MandateDuration::OneYear);
    for a in &mut other_person.authorizations {
        a.usager_id = UsagerId::new("usager-2");
    }
    let current: Vec<_> = old
        .authorizations
        .iter()
        .chain(&other_person.authorizations)
        .cloned()
        .collect();
    let new = plan(
        &[Demarche::Social, Demarche::Famille],
        MandateDuration::OneDay,
        &current,
    )
    .unwrap();
    let social_old = old
        .authorizations
        .iter()
        .find(|a| a.demarche == Demarche::Social)
        .unwrap();
    assert_eq!(new.superseded, vec![social_old.id.clone()]);
}

#[test]
fn revocation_of_one_demarche_then_of_the_whole_mandate() {
    let mut m = mandate(
        &[Demarche::Social, Demarche::Logement],
        MandateDuration::OneYear,
    );
    let me = aidant("org-1");
    let first = m.authorizations[0].id.clone();
    let later = NOW + Duration::days(2);
    let revocation = revoke_authorization(&m, &first, &me, later).unwrap();
    assert_eq!(revocation.reason, RevocationReason::Revoked);
    m.authorizations[0].revocation = Some(revocation);
    assert_eq!(
        revoke_authorization(&m, &first, &me, later),
        Err(MandateError::AlreadyRevoked)
    );
    assert_eq!(
        revoke_authorization(&m, &AuthorizationId::new("nope"), &me, later),
        Err(MandateError::UnknownAuthorization)
    );
    assert!(matches!(m.status_at(later), MandateStatus::Active { .. }));

    let (open, revocation) = revoke_mandate(&m, &me, later).unwrap();
    assert_eq!(open, vec![m.authorizations[1].id.clone()]);
    m.authorizations[1].revocation = Some(revocation);
    assert_eq!(m.status_at(later), MandateStatus::Revoked);
    assert_eq!(
        m.status_at(m.expires_at + Duration::days(1)),
        MandateStatus::Revoked,
        "stays revoked after its end"
    );
    assert_eq!(
        revoke_mandate(&m, &me, later),
        Err(MandateError::AlreadyRevoked)
    );
}

#[test]
fn revocation_refusals() {
    let m = mandate(&[Demarche::Social], MandateDuration::OneDay);
    let me = aidant("org-1");
    assert_eq!(
        revoke_mandate(&m, &aidant("org-2"), NOW),
        Err(MandateError::OtherOrganisation)
    );
    assert_eq!(
        revoke_mandate(&m, &me, m.expires_at),
        Err(MandateError::MandateExpired)
    );
}

#[test]
fn statuses_over_time() {
    let m = mandate(&[Demarche::Social], MandateDuration::SixMonths);
    assert_eq!(
        m.status_at(m.expires_at - Duration::days(31)),
        MandateStatus::Active {
            expiring_soon: false
        }
    );
    assert_eq!(
        m.status_at(m.expires_at - Duration::days(30)),
        MandateStatus::Active {
            expiring_soon: true
        }
    );
    assert_eq!(m.status_at(m.expires_at), MandateStatus::Expired);
}

#[test]
fn renewal_keeps_structure_and_person_and_links_the_previous_mandate() {
    let previous = mandate(&[Demarche::Social], MandateDuration::OneMonth);
    let org = organisation("org-1");
    let me = aidant("org-1");
    let usager = UsagerId::new("usager-1");
    let request = MandateRequest {
        organisation: &org,
        aidant: &me,
        usager_id: &usager,
        demarches: &[Demarche::Social],
        duration: MandateDuration::OneYear,
        legal_text_version: "2026-01",
    };
    let later = NOW + Duration::days(20);
    let renewed = plan_renewal(
        &previous,
        &request,
        &previous.authorizations,
        &mut ids(),
        later,
    )
    .unwrap();
    assert_eq!(renewed.mandate.renewal_of, Some(previous.id.clone()));
    assert_eq!(
        renewed.superseded,
        vec![previous.authorizations[0].id.clone()]
    );

    let stranger = UsagerId::new("usager-9");
    let other = MandateRequest {
        usager_id: &stranger,
        ..request.clone()
    };
    assert_eq!(
        plan_renewal(&previous, &other, &[], &mut ids(), later),
        Err(MandateError::OtherUsager)
    );
    let other_org = organisation("org-2");
    let other = MandateRequest {
        organisation: &other_org,
        ..request
    };
    assert_eq!(
        plan_renewal(&previous, &other, &[], &mut ids(), later),
        Err(MandateError::OtherOrganisation)
    );
}

#[test]
fn can_act_refusals_are_typed() {
    let org = organisation("org-1");
    let me = aidant("org-1");
    let usager = UsagerId::new("usager-1");
    let m = mandate(&[Demarche::Social], MandateDuration::OneMonth);
    let auths = &m.authorizations;
    let act = |aidant: &Aidant, org: &Organisation, demarche, at| {
        can_act(aidant, org, &usager, demarche, auths, at).map(|a| a.id.clone())
    };
    assert_eq!(
        act(&me, &org, Demarche::Social, NOW),
        Ok(auths[0].id.clone())
    );
    assert_eq!(
        act(
            &Aidant {
                is_active: false,
                ..me.clone()
            },
            &org,
            Demarche::Social,
            NOW
        ),
        Err(Refusal::AidantInactive)
    );
    assert_eq!(
        act(
            &me,
            &Organisation {
                is_active: false,
                ..org.clone()
            },
            Demarche::Social,
            NOW
        ),
        Err(Refusal::OrganisationInactive)
    );
    assert_eq!(
        act(&aidant("org-2"), &org, Demarche::Social, NOW),
        Err(Refusal::NotAMember)
    );
    assert_eq!(
        act(
            &Aidant {
                can_create_mandates: false,
                ..me.clone()
            },
            &org,
            Demarche::Social,
            NOW
        ),
        Err(Refusal::AidantNotHabilitated)
    );
    assert_eq!(
        act(&me, &org, Demarche::Justice, NOW),
        Err(Refusal::DemarcheNotAllowed)
    );
    assert_eq!(
        act(&me, &org, Demarche::Logement, NOW),
        Err(Refusal::DemarcheNotCovered)
    );
    assert_eq!(
        act(&me, &org, Demarche::Social, m.expires_at),
        Err(Refusal::Expired)
    );
    let mut revoked = auths.clone();
    revoked[0].revocation = Some(Revocation {
        at: NOW + Duration::hours(1),
        reason: RevocationReason::Revoked,
    });
    assert_eq!(
        can_act(
            &me,
            &org,
            &usager,
            Demarche::Social,
            &revoked,
            NOW + Duration::hours(1)
        )
        .map(|_| ()),
        Err(Refusal::Revoked)
    );
    assert!(
        can_act(&me, &org, &usager, Demarche::Social, &revoked, NOW).is_ok(),
        "a later revocation does not rewrite the past"
    );
    // The same démarche in another structure's mandate grants nothing here.
    let mut elsewhere = auths.clone();
    elsewhere[0].organisation_id = OrganisationId::new("org-2");
    assert_eq!(
        can_act(&me, &org, &usager, Demarche::Social, &elsewhere, NOW).map(|_| ()),
        Err(Refusal::DemarcheNotCovered)
    );
}

fn any_demarches() -> impl Strategy<Value = Vec<Demarche>> {
    proptest::sample::subsequence(
        Demarche::ALL
            .into_iter()
            .filter(|d| *d != Demarche::Justice)
            .collect::<Vec<_>>(),
        1..=9,
    )
}

fn any_duration() -> impl Strategy<Value = MandateDuration> {
    proptest::sample::select(MandateDuration::ALL.to_vec())
}

proptest! {
    #[test]
    fn no_use_is_accepted_at_or_after_expiry(demarches in any_demarches(), duration in any_duration(), after_micros in 0i64..(400 * 86_400_000_000)) {
        let m = mandate(&demarches, duration);
        let at = m.expires_at + Duration::microseconds(after_micros);
        for d in Demarche::ALL {
            let result = can_act(&aidant("org-1"), &organisation("org-1"), &UsagerId::new("usager-1"), d, &m.authorizations, at);
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn every_granted_demarche_is_usable_before_expiry(demarches in any_demarches(), duration in any_duration(), fraction in 0.0f64..1.0) {
        let m = mandate(&demarches, duration);
        let span = (m.expires_at - m.created_at).whole_microseconds() as f64;
        let at = m.created_at + Duration::microseconds((span * fraction) as i64);
        prop_assume!(at < m.expires_at);
        for d in &demarches {
            let result = can_act(&aidant("org-1"), &organisation("org-1"), &UsagerId::new("usager-1"), *d, &m.authorizations, at);
            prop_assert!(result.is_ok());
        }
        prop_assert!(m.expires_at - m.created_at <= Duration::days(365));
    }

    #[test]
    fn no_use_is_accepted_after_revocation(demarches in any_demarches(), revoked_after in 0i64..86_400_000_000, used_after in 0i64..86_400_000_000) {
        let mut m = mandate(&demarches, MandateDuration::OneYear);
        let revoked_at = m.created_at + Duration::microseconds(revoked_after);
        let (open, revocation) = revoke_mandate(&m, &aidant("org-1"), revoked_at).unwrap();
        for a in &mut m.authorizations {
            if open.contains(&a.id) { a.revocation = Some(revocation); }
        }
        let at = revoked_at + Duration::microseconds(used_after);
        for d in &demarches {
            let result = can_act(&aidant("org-1"), &organisation("org-1"), &UsagerId::new("usager-1"), *d, &m.authorizations, at);
            prop_assert_eq!(result.map(|_| ()), Err(Refusal::Revoked));
        }
        prop_assert_eq!(m.status_at(at), MandateStatus::Revoked);
    }

    #[test]
    fn no_use_is_accepted_outside_the_structure_or_the_granted_demarches(demarches in any_demarches(), offset in 0i64..86_400_000_000) {
        let m = mandate(&demarches, MandateDuration::OneYear);
        let at = m.created_at + Duration::microseconds(offset);
        let mut outsider = aidant("org-2");
        outsider.organisations.insert(OrganisationId::new("org-3"));
        for d in Demarche::ALL {
            let as_outsider = can_act(&outsider, &organisation("org-1"), &UsagerId::new("usager-1"), d, &m.authorizations, at);
            prop_assert!(as_outsider.is_err());
            let in_other_structure = can_act(&outsider, &organisation("org-2"), &UsagerId::new("usager-1"), d, &m.authorizations, at);
            prop_assert!(in_other_structure.is_err());
            if !demarches.contains(&d) {
                let not_granted = can_act(&aidant("org-1"), &organisation("org-1"), &UsagerId::new("usager-1"), d, &m.authorizations, at);
                prop_assert!(not_granted.is_err());
            }
        }
    }

    #[test]
    fn superseding_leaves_at_most_one_open_authorization_per_demarche(rounds in proptest::collection::vec(any_demarches(), 1..6)) {
        let mut all: Vec<Authorization> = Vec::new();
        let mut next = 0;
        for demarches in rounds {
            let org = organisation("org-1");
            let me = aidant("org-1");
            let usager = UsagerId::new("usager-1");
            let request = MandateRequest { organisation: &org, aidant: &me, usager_id: &usager, demarches: &demarches, duration: MandateDuration::OneYear, legal_text_version: "v" };
            let mut id = || { next += 1; format!("id-{next}") };
            let plan = plan_mandate(&request, &all, &mut id, NOW).unwrap();
            for a in &mut all {
                if plan.superseded.contains(&a.id) {
                    a.revocation = Some(Revocation { at: NOW, reason: RevocationReason::Superseded });
                }
            }
            all.extend(plan.mandate.authorizations);
        }
        for d in Demarche::ALL {
            let open = all.iter().filter(|a| a.demarche == d && a.revocation.is_none()).count();
            prop_assert!(open <= 1);
        }
    }
}

#[test]
fn a_suspended_authorization_is_refused_and_a_suspension_permits_nothing() {
    let org = organisation("org-1");
    let me = aidant("org-1");
    let usager = UsagerId::new("usager-1");
    let m = mandate(&[Demarche::Social], MandateDuration::OneMonth);
    let auths = &m.authorizations;
    let allowed = can_act(&me, &org, &usager, Demarche::Social, auths, NOW);
    assert_eq!(unless_suspended(allowed, |_| true), Err(Refusal::Suspended));
    assert_eq!(unless_suspended(allowed, |_| false), Ok(&auths[0]));
    let refused = can_act(&me, &org, &usager, Demarche::Argent, auths, NOW);
    assert_eq!(
        unless_suspended(refused, |_| false),
        Err(Refusal::DemarcheNotCovered)
    );
}
