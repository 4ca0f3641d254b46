#![doc = include_str!("../README.md")]

use ac_auth::{KeyRing, Secret};
use ac_demo_idp::{IDENTITIES, Identity};
use ac_mandates::{
    Aidant, AidantId, CoordinatorScope, Demarche, MandateDuration, Organisation, OrganisationId,
    OrganisationKind, PivotIdentity, UsagerId,
};
use ac_storage::journal::AuditContext;
use ac_storage::mandates::NewMandate;
use ac_storage::{
    DbConnection, StorageError, aidants, mandates, organisations, totp_devices, usagers,
};
use ring::rand::SystemRandom;
use std::collections::BTreeSet;
use time::{Date, Duration, OffsetDateTime};

/// What was loaded, for the command's report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub organisations: usize,
    pub aidants: usize,
    pub usagers: usize,
    pub mandates: usize,
    /// An aidant of the pilot to sign in with.
    pub sign_in_example: Option<String>,
}

/// The TOTP seed of every demonstration account. Public on purpose: the demo is fictional and a
/// newcomer must be able to sign in (the dev outbox page shows the current code).
pub const DEMO_TOTP_SEED: &[u8; 20] = b"aidants-connect-demo";

/// Inserts a demonstration account with its authenticator app on [`DEMO_TOTP_SEED`].
fn insert_account(
    conn: &mut DbConnection,
    aidant: &Aidant,
    keys: &KeyRing,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    aidants::insert(conn, aidant, context, now)?;
    let seed = Secret::new(DEMO_TOTP_SEED.to_vec());
    totp_devices::enrol_app(
        conn,
        &aidant.id,
        &seed,
        keys,
        &SystemRandom::new(),
        context,
        now,
    )?;
    Ok(())
}

/// Demonstration accounts all sign in with one public TOTP seed (printed in the README), so
/// loading them anywhere but a development instance would open accounts to anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusedOutsideDevMode;

impl RefusedOutsideDevMode {
    pub const fn code(self) -> &'static str {
        "DEM001"
    }
}

impl std::fmt::Display for RefusedOutsideDevMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} les données de démonstration ne se chargent qu'en mode dev (server.dev_mode = true) : leurs comptes partagent un code TOTP public. Rien n'a été chargé.",
            self.code()
        )
    }
}

impl std::error::Error for RefusedOutsideDevMode {}

/// Whether demonstration data may be loaded on an instance in this mode.
pub fn allowed(dev_mode: bool) -> Result<(), RefusedOutsideDevMode> {
    if dev_mode {
        Ok(())
    } else {
        Err(RefusedOutsideDevMode)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Loaded(Summary),
    /// The database already holds structures; nothing was written.
    AlreadyPopulated,
}

struct Place {
    name: &'static str,
    kind: OrganisationKind,
    address: &'static str,
    departement: &'static str,
    siret: &'static str,
    slug: &'static str,
}

const PLACES: [Place; 13] = [
    Place {
        name: "Médiathèque des Ursulines",
        kind: OrganisationKind::Bibliotheque,
        address: "12 rue des Ursulines, 29000 Quimper",
        departement: "29",
        siret: "20000000000014",
        slug: "quimper",
    },
    Place {
        name: "France Services de Châteaulin",
        kind: OrganisationKind::FranceServices,
        address: "3 quai Jean Moulin, 29150 Châteaulin",
        departement: "29",
        siret: "20000791900018",
        slug: "chateaulin",
    },
    Place {
        name: "Centre social des Trois Rivières",
        kind: OrganisationKind::CentreSocial,
        address: "8 rue du Scorff, 56100 Lorient",
        departement: "56",
        siret: "20001583800010",
        slug: "lorient",
    },
    Place {
        name: "Secrétariat de mairie de Plouray",
        kind: OrganisationKind::SecretariatMairie,
        address: "1 place de l'Église, 56770 Plouray",
        departement: "56",
        siret: "20002375700012",
        slug: "plouray",
    },
    Place {
        name: "France Services de Guingamp",
        kind: OrganisationKind::FranceServices,
        address: "5 rue de la Gare, 22200 Guingamp",
        departement: "22",
        siret: "20003167600014",
        slug: "guingamp",
    },
    Place {
        name: "Médiathèque Étienne-Caux",
        kind: OrganisationKind::Bibliotheque,
        address: "6 rue Auguste Baptiste Lechat, 44600 Saint-Nazaire",
        departement: "44",
        siret: "20003959500018",
        slug: "saint-nazaire",
    },
    Place {
        name: "Centre social des États-Unis",
        kind: OrganisationKind::CentreSocial,
        address: "30 boulevard des États-Unis, 69008 Lyon",
        departement: "69",
        siret: "20004751400019",
        slug: "lyon8",
    },
    Place {
        name: "France Services de Tarare",
        kind: OrganisationKind::FranceServices,
        address: "2 rue Pêcherie, 69170 Tarare",
        departement: "69",
        siret: "20005543300011",
        slug: "tarare",
    },
    Place {
        name: "Médiathèque de l'Eurotéléport",
        kind: OrganisationKind::Bibliotheque,
        address: "2 rue Jean Moulin, 59100 Roubaix",
        departement: "59",
        siret: "20006335200013",
        slug: "roubaix",
    },
    Place {
        name: "Centre social du Pigeonnier",
        kind: OrganisationKind::CentreSocial,
        address: "14 rue du Pigeonnier, 80000 Amiens",
        departement: "80",
        siret: "20007127100015",
        slug: "amiens",
    },
    Place {
        name: "Secrétariat de mairie de Saint-Flour",
        kind: OrganisationKind::SecretariatMairie,
        address: "Place d'Armes, 15100 Saint-Flour",
        departement: "15",
        siret: "20007919000027",
        slug: "saint-flour",
    },
    Place {
        name: "France Services d'Ajaccio",
        kind: OrganisationKind::FranceServices,
        address: "4 cours Napoléon, 20000 Ajaccio",
        departement: "2A",
        siret: "20008710900027",
        slug: "ajaccio",
    },
    Place {
        name: "Médiathèque du Raizet",
        kind: OrganisationKind::Bibliotheque,
        address: "Rue Schœlcher, 97139 Les Abymes",
        departement: "971",
        siret: "20009502800029",
        slug: "abymes",
    },
];

const FIRST_NAMES: [&str; 13] = [
    "Camille", "Yann", "Nadia", "Rozenn", "Karim", "Sophie", "Malik", "Lucie", "Thomas", "Aïcha",
    "Pierre", "Laetitia", "Jérôme",
];
const LAST_NAMES: [&str; 13] = [
    "Le Goff", "Kervella", "Benali", "Tanguy", "Haddad", "Morel", "Diallo", "Fontaine", "Lefebvre",
    "Traoré", "Vidal", "Santoni", "Bélise",
];

/// The pilot's people, by their key at the demonstration provider (`ac_demo_idp::IDENTITIES`),
/// which holds their identity as FranceConnect would send it: signing in there as one of them
/// reaches the mandates loaded here (a renewal, the aidé's own space).
const PEOPLE: [&str; 12] = [
    "angela-dubois",
    "jean-martin",
    "fatoumata-keita",
    "marie-therese-le-bris",
    "ahmed-bouzid",
    "paulette-giraud",
    "kevin-leroy",
    "ioana-popescu",
    "bernard-roux",
    "dominique-casanova",
    "gerard-navarin",
    "chantal-petit",
];

/// How our relying party names a person who signs in at the demonstration provider: the keyed
/// pseudonym of (issuer, the provider's `sub` for our client), docs/security/oidc-upstream.md.
pub struct Pseudonyms {
    pub key: ac_oidc::PseudonymKey,
    pub issuer: String,
    pub client_id: String,
}

impl Pseudonyms {
    fn subject(&self, person: &Identity) -> String {
        ac_oidc::usager_subject(
            &self.key,
            &self.issuer,
            &ac_demo_idp::subject_of(person.key, &self.client_id),
        )
    }
}

/// The identity pivot the demonstration provider sends for `person`.
fn pivot(person: &Identity) -> Result<PivotIdentity, StorageError> {
    let text = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    Ok(PivotIdentity {
        given_name: person.given_name.into(),
        family_name: person.family_name.into(),
        birthdate: Date::parse(
            person.birthdate,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|e| StorageError::Corrupt(format!("demo birthdate: {e}")))?,
        gender: parse(person.gender)?,
        birthplace: text(person.birthplace),
        birthcountry: person.birthcountry.into(),
        email: None,
        preferred_username: None,
    })
}

fn person(key: &str) -> Result<&'static Identity, StorageError> {
    IDENTITIES
        .iter()
        .find(|i| i.key == key)
        .ok_or_else(|| StorageError::Corrupt(format!("demo person {key} unknown")))
}

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn email(first: &str, last: &str, slug: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                'é' | 'è' | 'ê' | 'É' => 'e',
                'ï' | 'î' => 'i',
                ' ' | '\'' => '-',
                c => c,
            })
            .collect()
    };
    format!("{}.{}@{slug}.example", clean(first), clean(last)).to_lowercase()
}

fn parse<T: std::str::FromStr<Err = ac_mandates::FieldError>>(
    value: &str,
) -> Result<T, StorageError> {
    value.parse().map_err(StorageError::Field)
}

/// Loads the pilot into an empty database; `now` anchors every date.
pub fn load(
    conn: &mut DbConnection,
    keys: &KeyRing,
    pseudonyms: &Pseudonyms,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Outcome, StorageError> {
    if !organisations::list(conn)?.is_empty() {
        return Ok(Outcome::AlreadyPopulated);
    }
    let mut summary = Summary::default();
    let mut structures: Vec<(OrganisationId, Vec<AidantId>)> = Vec::new();
    for (i, place) in PLACES.iter().enumerate() {
        let mut allowed: BTreeSet<Demarche> = Demarche::ALL.into_iter().collect();
        if place.kind == OrganisationKind::SecretariatMairie {
            // A small town hall helps only with the everyday domains.
            allowed = [
                Demarche::Papiers,
                Demarche::Famille,
                Demarche::Social,
                Demarche::Logement,
                Demarche::Transports,
            ]
            .into();
        }
        let organisation = Organisation {
            id: OrganisationId::new(id()),
            name: place.name.into(),
            kind: place.kind,
            address: place.address.into(),
            departement: parse(place.departement)?,
            siret: parse(place.siret)?,
            allowed_demarches: allowed,
            is_active: true,
            renewal_requires_identification: true,
        };
        organisations::insert(conn, &organisation, context, now)?;
        summary.organisations += 1;

        let mut team = Vec::new();
        let helpers = 2 + i % 2;
        for k in 0..helpers {
            let first = FIRST_NAMES
                .get((i + k) % FIRST_NAMES.len())
                .copied()
                .unwrap_or("Camille");
            let last = LAST_NAMES
                .get((i + 2 * k) % LAST_NAMES.len())
                .copied()
                .unwrap_or("Martin");
            let referent = k == 0;
            let aidant = Aidant {
                id: AidantId::new(id()),
                email: parse(&email(first, last, place.slug))?,
                first_name: first.into(),
                last_name: last.into(),
                profession: if referent {
                    "Responsable de structure"
                } else {
                    "Conseiller numérique"
                }
                .into(),
                organisations: BTreeSet::from([organisation.id.clone()]),
                current_organisation: organisation.id.clone(),
                // The référent of the first structure manages but does not help people.
                can_create_mandates: !(referent && i == 0),
                referent_of: if referent {
                    BTreeSet::from([organisation.id.clone()])
                } else {
                    BTreeSet::new()
                },
                coordinator_scopes: vec![],
                is_active: true,
            };
            insert_account(conn, &aidant, keys, context, now)?;
            summary.aidants += 1;
            if aidant.can_create_mandates {
                if summary.sign_in_example.is_none() {
                    summary.sign_in_example = Some(aidant.email.to_string());
                }
                team.push(aidant.id);
            }
        }
        structures.push((organisation.id, team));
    }

    // Someone who works in two structures of the same département.
    if let (Some((quimper, _)), Some((chateaulin, _))) = (structures.first(), structures.get(1)) {
        let both = Aidant {
            id: AidantId::new(id()),
            email: parse("gwenaelle.morvan@finistere.example")?,
            first_name: "Gwenaëlle".into(),
            last_name: "Morvan".into(),
            profession: "Conseillère numérique itinérante".into(),
            organisations: BTreeSet::from([quimper.clone(), chateaulin.clone()]),
            current_organisation: quimper.clone(),
            can_create_mandates: true,
            referent_of: BTreeSet::new(),
            coordinator_scopes: vec![],
            is_active: true,
        };
        insert_account(conn, &both, keys, context, now)?;
        summary.aidants += 1;
    }

    // Coordinators: one per département, one for the whole pilot.
    let mut departements: Vec<(&str, &OrganisationId)> = Vec::new();
    for (place, (org, _)) in PLACES.iter().zip(&structures) {
        if !departements.iter().any(|(d, _)| *d == place.departement) {
            departements.push((place.departement, org));
        }
    }
    for (departement, home) in &departements {
        let coordinator = Aidant {
            id: AidantId::new(id()),
            email: parse(&format!(
                "coordination.{}@departement.example",
                departement.to_lowercase()
            ))?,
            first_name: "Coordination".into(),
            last_name: format!("Département {departement}"),
            profession: "Coordinatrice départementale".into(),
            organisations: BTreeSet::from([(*home).clone()]),
            current_organisation: (*home).clone(),
            can_create_mandates: false,
            referent_of: BTreeSet::new(),
            coordinator_scopes: vec![CoordinatorScope::Departement(parse(departement)?)],
            is_active: true,
        };
        insert_account(conn, &coordinator, keys, context, now)?;
        summary.aidants += 1;
    }
    if let Some((home, _)) = structures.first() {
        let national = Aidant {
            id: AidantId::new(id()),
            email: parse("pilotage@national.example")?,
            first_name: "Équipe".into(),
            last_name: "Pilotage national".into(),
            profession: "Coordination nationale".into(),
            organisations: BTreeSet::from([home.clone()]),
            current_organisation: home.clone(),
            can_create_mandates: false,
            referent_of: BTreeSet::new(),
            coordinator_scopes: vec![CoordinatorScope::National],
            is_active: true,
        };
        insert_account(conn, &national, keys, context, now)?;
        summary.aidants += 1;
    }

    // Usagers and their mandates, spread over the structures, in every status.
    for (n, key) in PEOPLE.iter().enumerate() {
        let person = person(key)?;
        let (usager, _) = usagers::upsert_identified(
            conn,
            &pseudonyms.subject(person),
            &pivot(person)?,
            context,
            now,
        )?;
        summary.usagers += 1;
        let Some((org, team)) = structures.get(n % structures.len()) else {
            continue;
        };
        let Some(aidant) = team.first() else { continue };
        summary.mandates += mandates_in_status(conn, n % 6, org, aidant, &usager.id, context, now)?;
    }
    Ok(Outcome::Loaded(summary))
}

/// Writes the mandates of one person so that their current status is the `kind`-th of:
/// active, expiring soon, expired, revoked, partly revoked, renewed (with a superseded one).
fn mandates_in_status(
    conn: &mut DbConnection,
    kind: usize,
    organisation: &OrganisationId,
    aidant: &AidantId,
    usager: &UsagerId,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<usize, StorageError> {
    let everyday: &'static [Demarche] = &[Demarche::Social, Demarche::Logement];
    let base = |demarches, duration| NewMandate {
        aidant,
        organisation,
        usager,
        demarches,
        duration,
        legal_text_version: "2026-01",
        renewal_of: None,
    };
    match kind {
        0 => {
            mandates::create(
                conn,
                &base(
                    &[Demarche::Social, Demarche::Papiers, Demarche::Famille],
                    MandateDuration::OneYear,
                ),
                context,
                now - Duration::days(12),
            )?;
            Ok(1)
        }
        1 => {
            mandates::create(
                conn,
                &base(everyday, MandateDuration::SixMonths),
                context,
                now - Duration::days(170),
            )?;
            Ok(1)
        }
        2 => {
            mandates::create(
                conn,
                &base(everyday, MandateDuration::OneMonth),
                context,
                now - Duration::days(90),
            )?;
            Ok(1)
        }
        3 => {
            let plan = mandates::create(
                conn,
                &base(everyday, MandateDuration::OneYear),
                context,
                now - Duration::days(60),
            )?;
            mandates::revoke_mandate(
                conn,
                aidant,
                &plan.mandate.id,
                mandates::RevocationConsent::NotRecorded,
                context,
                now - Duration::days(10),
            )?;
            Ok(1)
        }
        4 => {
            let plan = mandates::create(
                conn,
                &base(
                    &[Demarche::Social, Demarche::Transports, Demarche::Logement],
                    MandateDuration::OneYear,
                ),
                context,
                now - Duration::days(40),
            )?;
            if let Some(first) = plan.mandate.authorizations.first() {
                mandates::revoke_authorization(
                    conn,
                    aidant,
                    &plan.mandate.id,
                    &first.id,
                    mandates::RevocationConsent::NotRecorded,
                    context,
                    now - Duration::days(3),
                )?;
            }
            Ok(1)
        }
        _ => {
            let old = mandates::create(
                conn,
                &base(everyday, MandateDuration::OneMonth),
                context,
                now - Duration::days(25),
            )?;
            let renewal = NewMandate {
                renewal_of: Some(&old.mandate.id),
                ..base(everyday, MandateDuration::OneYear)
            };
            mandates::create(conn, &renewal, context, now - Duration::days(1))?;
            Ok(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ac_mandates::MandateStatus;
    use ac_storage::testing::TestDatabase;
    use diesel::RunQueryDsl;
    use time::macros::datetime;

    pub(crate) fn pseudonyms() -> Pseudonyms {
        Pseudonyms {
            key: ac_oidc::PseudonymKey::new(&[7; 32]).unwrap(),
            issuer: "http://127.0.0.1:8080/demo/franceconnect".into(),
            client_id: "aidants-connect-demo".into(),
        }
    }

    #[test]
    fn the_pilot_has_every_shape_the_brief_asks_for_and_loads_once() {
        let now = datetime!(2026-11-22 10:00 UTC);
        let pseudonyms = pseudonyms();
        let keys =
            KeyRing::parse(&KeyRing::generate_file_text(&SystemRandom::new()).unwrap()).unwrap();
        for db in TestDatabase::each().unwrap() {
            let conn = &mut *db.db.conn().unwrap();
            let Outcome::Loaded(summary) =
                load(conn, &keys, &pseudonyms, &AuditContext::cli(), now).unwrap()
            else {
                panic!("not loaded")
            };
            assert_eq!(summary.organisations, 13);
            assert_eq!(
                load(conn, &keys, &pseudonyms, &AuditContext::cli(), now).unwrap(),
                Outcome::AlreadyPopulated
            );

            let orgs = organisations::list(conn).unwrap();
            let departements: BTreeSet<_> = orgs.iter().map(|o| o.departement.clone()).collect();
            assert_eq!(departements.len(), 10);
            let kinds: BTreeSet<_> = orgs.iter().map(|o| o.kind).collect();
            assert_eq!(kinds.len(), 4);

            let everyone = aidants::list(conn, None).unwrap();
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let devices = diesel::sql_query("SELECT COUNT(*) AS n FROM totp_devices")
                .get_result::<Count>(conn)
                .unwrap()
                .n;
            assert_eq!(
                devices as usize,
                everyone.len(),
                "every demo account can sign in"
            );
            assert!(summary.sign_in_example.is_some());
            for org in &orgs {
                assert!(
                    everyone.iter().any(|a| a.referent_of.contains(&org.id)),
                    "no référent for {}",
                    org.name
                );
            }
            assert!(everyone.iter().any(|a| a.organisations.len() == 2));
            assert!(
                everyone
                    .iter()
                    .any(|a| a.coordinator_scopes == vec![CoordinatorScope::National])
            );
            let departmental = everyone
                .iter()
                .filter(|a| {
                    matches!(
                        a.coordinator_scopes.as_slice(),
                        [CoordinatorScope::Departement(_)]
                    )
                })
                .count();
            assert_eq!(departmental, 10);

            let mut statuses = BTreeSet::new();
            for org in &orgs {
                for key in PEOPLE {
                    let subject = pseudonyms.subject(person(key).unwrap());
                    if let Some(usager) = usagers::find_by_subject(conn, &subject).unwrap() {
                        for m in mandates::for_usager(conn, &org.id, &usager.id).unwrap() {
                            statuses.insert(m.status_at(now).label());
                        }
                    }
                }
            }
            for wanted in [
                MandateStatus::Active {
                    expiring_soon: false,
                },
                MandateStatus::Active {
                    expiring_soon: true,
                },
                MandateStatus::Expired,
                MandateStatus::Revoked,
            ] {
                assert!(
                    statuses.contains(wanted.label()),
                    "missing {wanted:?} in {statuses:?}"
                );
            }
        }
    }
}
