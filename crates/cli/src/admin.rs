//! Administration commands: parse the arguments into domain values, call storage, print French.

use ac_mandates::{
    Aidant, AidantId, CoordinatorScope, Demarche, Email, Organisation, OrganisationId,
    OrganisationKind, fields,
};
use ac_storage::journal::AuditContext;
use ac_storage::{Database, aidants, organisations};
use clap::{Args, Subcommand};
use std::collections::BTreeSet;
use std::io::Write;
use time::OffsetDateTime;

#[derive(Subcommand)]
pub enum StructureCommand {
    /// Ajoute une structure (toutes les démarches permises si aucune n'est donnée).
    Add {
        #[arg(long)]
        name: String,
        /// bibliotheque, centre_social, secretariat_mairie, france_services, association, autre
        #[arg(long)]
        kind: String,
        #[arg(long)]
        address: String,
        /// Code INSEE du département (29, 2A, 971…).
        #[arg(long)]
        departement: String,
        #[arg(long)]
        siret: String,
        #[command(flatten)]
        demarches: DemarcheArgs,
    },
    /// Liste les structures.
    List,
    /// Fixe les démarches permises d'une structure.
    SetAllowed {
        /// Identifiant de la structure.
        id: String,
        #[command(flatten)]
        demarches: DemarcheArgs,
    },
}

#[derive(Args)]
pub struct DemarcheArgs {
    /// Démarche permise (répéter l'option) : papiers, famille, social, travail, logement,
    /// transports, argent, justice, etranger, loisirs.
    #[arg(long = "demarche")]
    demarches: Vec<String>,
}

impl DemarcheArgs {
    /// The listed démarches, or the whole catalogue when none is listed.
    fn parse(&self) -> anyhow::Result<BTreeSet<Demarche>> {
        if self.demarches.is_empty() {
            return Ok(Demarche::ALL.into_iter().collect());
        }
        self.demarches
            .iter()
            .map(|d| {
                d.parse::<Demarche>()
                    .map_err(|e| anyhow::anyhow!("{e} : {d}"))
            })
            .collect()
    }
}

#[derive(Subcommand)]
pub enum AidantCommand {
    /// Ajoute un compte.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        #[arg(long)]
        profession: String,
        /// Structure d'exercice (répéter pour plusieurs) ; la première devient la structure courante.
        #[arg(long = "structure", required = true)]
        structures: Vec<String>,
        /// Structure dont le compte est référent (doit faire partie de --structure).
        #[arg(long = "referent-of")]
        referent_of: Vec<String>,
        /// Compte de gestion ou de coordination, qui ne crée pas de mandats.
        #[arg(long)]
        no_mandates: bool,
        /// Coordination de tout le pilote.
        #[arg(long)]
        coordinator_national: bool,
        /// Coordination d'un département (répéter pour plusieurs).
        #[arg(long = "coordinator-departement")]
        coordinator_departements: Vec<String>,
        /// Coordination d'une structure (répéter pour plusieurs).
        #[arg(long = "coordinator-structure")]
        coordinator_structures: Vec<String>,
    },
    /// Liste les comptes, éventuellement d'une seule structure.
    List {
        #[arg(long)]
        structure: Option<String>,
    },
    /// Désactive un compte (par identifiant ou adresse e-mail).
    Deactivate { aidant: String },
}

pub fn structure(
    db: &Database,
    command: StructureCommand,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let conn = &mut db.conn()?;
    match command {
        StructureCommand::Add {
            name,
            kind,
            address,
            departement,
            siret,
            demarches,
        } => {
            let organisation = Organisation {
                id: OrganisationId::new(uuid::Uuid::new_v4().to_string()),
                name: fields::text(&name)?,
                kind: kind.parse::<OrganisationKind>()?,
                address: fields::text(&address)?,
                departement: departement.parse()?,
                siret: siret.parse()?,
                allowed_demarches: demarches.parse()?,
                is_active: true,
            };
            organisations::insert(conn, &organisation, &AuditContext::cli(), now)?;
            println!("Structure ajoutée : {}", organisation.id);
        }
        StructureCommand::List => {
            let mut out = std::io::stdout().lock();
            for o in organisations::list(conn)? {
                let allowed: Vec<&str> = o.allowed_demarches.iter().map(|d| d.key()).collect();
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    o.id,
                    o.departement,
                    o.kind.label(),
                    o.name,
                    if o.is_active { "active" } else { "inactive" },
                    allowed.join(",")
                )?;
            }
        }
        StructureCommand::SetAllowed { id, demarches } => {
            organisations::set_allowed_demarches(
                conn,
                &OrganisationId::new(id),
                &demarches.parse()?,
                &AuditContext::cli(),
                now,
            )?;
            println!("Démarches permises mises à jour.");
        }
    }
    Ok(())
}

pub fn aidant(db: &Database, command: AidantCommand, now: OffsetDateTime) -> anyhow::Result<()> {
    let conn = &mut db.conn()?;
    match command {
        AidantCommand::Add {
            email,
            first_name,
            last_name,
            profession,
            structures,
            referent_of,
            no_mandates,
            coordinator_national,
            coordinator_departements,
            coordinator_structures,
        } => {
            let organisations: Vec<OrganisationId> =
                structures.into_iter().map(OrganisationId::new).collect();
            let referent_of: BTreeSet<OrganisationId> =
                referent_of.into_iter().map(OrganisationId::new).collect();
            if !referent_of.iter().all(|r| organisations.contains(r)) {
                anyhow::bail!("--referent-of doit désigner une structure donnée par --structure");
            }
            let mut scopes = Vec::new();
            if coordinator_national {
                scopes.push(CoordinatorScope::National);
            }
            for d in coordinator_departements {
                scopes.push(CoordinatorScope::Departement(d.parse()?));
            }
            for s in coordinator_structures {
                scopes.push(CoordinatorScope::Organisation(OrganisationId::new(s)));
            }
            let Some(current) = organisations.first().cloned() else {
                anyhow::bail!("au moins une --structure est nécessaire");
            };
            let aidant = Aidant {
                id: AidantId::new(uuid::Uuid::new_v4().to_string()),
                email: email.parse()?,
                first_name: fields::text(&first_name)?,
                last_name: fields::text(&last_name)?,
                profession: fields::text(&profession)?,
                organisations: organisations.into_iter().collect(),
                current_organisation: current,
                can_create_mandates: !no_mandates,
                referent_of,
                coordinator_scopes: scopes,
                is_active: true,
            };
            aidants::insert(conn, &aidant, &AuditContext::cli(), now)?;
            println!("Compte ajouté : {} ({})", aidant.id, aidant.email);
        }
        AidantCommand::List { structure } => {
            let filter = structure.map(OrganisationId::new);
            let mut out = std::io::stdout().lock();
            for a in aidants::list(conn, filter.as_ref())? {
                let mut roles = Vec::new();
                if a.can_create_mandates {
                    roles.push("aidant");
                }
                if !a.referent_of.is_empty() {
                    roles.push("référent");
                }
                if !a.coordinator_scopes.is_empty() {
                    roles.push("coordination");
                }
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    a.id,
                    a.email,
                    a.full_name(),
                    roles.join("+"),
                    if a.is_active { "actif" } else { "inactif" }
                )?;
            }
        }
        AidantCommand::Deactivate { aidant } => {
            let id = match aidant.parse::<Email>() {
                Ok(email) => aidants::find_by_email(conn, &email)?
                    .map(|a| a.id)
                    .ok_or_else(|| anyhow::anyhow!("aucun compte avec l'adresse {email}"))?,
                Err(_) => AidantId::new(aidant),
            };
            aidants::deactivate(conn, &id, &AuditContext::cli(), now)?;
            println!("Compte désactivé : {id}");
        }
    }
    Ok(())
}
