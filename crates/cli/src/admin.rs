//! Administration commands: parse the arguments into domain values, call storage, print French.

use ac_auth::{KeyRing, otpauth, totp};
use ac_config::Settings;
use ac_mandates::{
    Aidant, AidantId, CoordinatorScope, Demarche, Email, Organisation, OrganisationId,
    OrganisationKind, fields,
};
use ac_storage::journal::AuditContext;
use ac_storage::totp_devices::{self, CardSeed};
use ac_storage::{Database, DbConnection, aidants, organisations};
use anyhow::Context;
use clap::{Args, Subcommand};
use ring::rand::SystemRandom;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
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
    /// Fixe si renouveler un mandat demande une nouvelle identification FranceConnect.
    SetRenewal {
        /// Identifiant de la structure.
        id: String,
        /// `oui` (par défaut des structures) ou `non`.
        #[arg(long, value_parser = ["oui", "non"])]
        identification: String,
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
    Add(Box<NewAidantArgs>),
    /// Liste les comptes, éventuellement d'une seule structure.
    List {
        #[arg(long)]
        structure: Option<String>,
    },
    /// Désactive un compte (par identifiant ou adresse e-mail) et ferme ses sessions.
    Deactivate { aidant: String },
    /// Enrôle une application d'authentification (TOTP) pour un compte existant.
    EnrolTotp {
        aidant: String,
        /// Fichier SVG du QR code (par défaut ./totp-IDENTIFIANT.svg).
        #[arg(long)]
        qr_file: Option<PathBuf>,
    },
    /// Importe des cartes TOTP matérielles : CSV « numéro de série,graine en hexadécimal ».
    ImportCards { file: PathBuf },
    /// Remet une carte importée à un compte.
    AssignCard { aidant: String, serial: String },
    /// Déverrouille les appareils TOTP d'un compte (bloqués après 10 codes faux).
    Unlock { aidant: String },
    /// Remplace les rôles de coordination d'un compte (par identifiant ou adresse e-mail) ; sans
    /// option, les retire tous. Effet dès la requête suivante du compte.
    Coordination {
        aidant: String,
        #[command(flatten)]
        coordination: CoordinationArgs,
    },
}

/// The arguments of `aidant add` (boxed: far larger than the other commands').
#[derive(Args)]
pub struct NewAidantArgs {
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
    #[command(flatten)]
    coordination: CoordinationArgs,
    #[command(flatten)]
    totp: TotpArgs,
}

/// Coordinator scopes, as `aidant add` and `aidant coordination` take them.
#[derive(Args)]
pub struct CoordinationArgs {
    /// Coordination de tout le pilote.
    #[arg(long)]
    coordinator_national: bool,
    /// Coordination d'un département (répéter pour plusieurs).
    #[arg(long = "coordinator-departement")]
    coordinator_departements: Vec<String>,
    /// Coordination d'une structure (répéter pour plusieurs).
    #[arg(long = "coordinator-structure")]
    coordinator_structures: Vec<String>,
}

impl CoordinationArgs {
    fn scopes(self) -> anyhow::Result<Vec<CoordinatorScope>> {
        let mut scopes = Vec::new();
        if self.coordinator_national {
            scopes.push(CoordinatorScope::National);
        }
        for d in self.coordinator_departements {
            scopes.push(CoordinatorScope::Departement(d.parse()?));
        }
        for s in self.coordinator_structures {
            scopes.push(CoordinatorScope::Organisation(OrganisationId::new(s)));
        }
        Ok(scopes)
    }
}

/// Second factor given at account creation (or later with `enrol-totp` / `assign-card`).
#[derive(Args)]
pub struct TotpArgs {
    /// Enrôler une application d'authentification : affiche l'URI otpauth et écrit son QR code.
    #[arg(long, conflicts_with = "card")]
    totp_app: bool,
    /// Remettre cette carte TOTP importée (`aidant import-cards`).
    #[arg(long)]
    card: Option<String>,
    /// Fichier SVG du QR code de l'application (par défaut ./totp-IDENTIFIANT.svg).
    #[arg(long, requires = "totp_app")]
    qr_file: Option<PathBuf>,
}

/// Keys of the sign-in.
#[derive(Subcommand)]
pub enum AuthCommand {
    /// Crée la clé de chiffrement des graines TOTP (auth.totp_key_file) ; jamais écrasée.
    Keygen,
}

pub fn auth(settings: &Settings, command: AuthCommand) -> anyhow::Result<()> {
    match command {
        AuthCommand::Keygen => {
            let path = &settings.auth.totp_key_file;
            if path.exists() {
                anyhow::bail!(
                    "AUT101 {} existe déjà : une clé n'est jamais écrasée (rotation : docs/security/sign-in.md)",
                    path.display()
                );
            }
            ac_web::auth::load_key_ring(path, true, &SystemRandom::new())
                .map_err(anyhow::Error::msg)?;
            println!(
                "Clé des graines TOTP écrite dans {} (lisible par son propriétaire seul).",
                path.display()
            );
        }
    }
    Ok(())
}

fn key_ring(settings: &Settings) -> anyhow::Result<KeyRing> {
    ac_web::auth::load_key_ring(
        &settings.auth.totp_key_file,
        settings.auth.generate_missing_key,
        &SystemRandom::new(),
    )
    .map_err(anyhow::Error::msg)
}

fn find_aidant(conn: &mut DbConnection, aidant: &str) -> anyhow::Result<Aidant> {
    match aidant.parse::<Email>() {
        Ok(email) => aidants::find_by_email(conn, &email)?
            .ok_or_else(|| anyhow::anyhow!("aucun compte avec l'adresse {email}")),
        Err(_) => Ok(aidants::get(conn, &AidantId::new(aidant))?),
    }
}

/// Enrols an authenticator app and shows its otpauth URI as text and as an SVG QR code. Both
/// carry the seed: the file is written for its owner only and must be deleted once scanned.
fn enrol_app(
    settings: &Settings,
    conn: &mut DbConnection,
    aidant: &Aidant,
    qr_file: Option<PathBuf>,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let keys = key_ring(settings)?;
    let rng = SystemRandom::new();
    let seed = totp::generate_seed(&rng)?;
    let device = totp_devices::enrol_app(
        conn,
        &aidant.id,
        &seed,
        &keys,
        &rng,
        &AuditContext::cli(),
        now,
    )?;
    let uri = otpauth::key_uri(
        &settings.auth.totp_issuer,
        aidant.email.as_str(),
        &seed,
        totp::TotpStep::App,
    );
    let path = qr_file.unwrap_or_else(|| PathBuf::from(format!("totp-{}.svg", aidant.id)));
    write_private(&path, otpauth::qr_svg(&uri)?.as_bytes())?;
    println!("Application d'authentification enrôlée : {device}");
    println!(
        "À scanner avec l'application : QR code dans {}",
        path.display()
    );
    println!("ou à saisir : {uri}");
    println!("Le QR code et ce lien contiennent le secret : supprimez le fichier une fois scanné.");
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("création de {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

/// `serial,seed` lines (hex seeds, as manufacturers ship them); `;` also separates; blank lines,
/// `#` comments and a header line starting with `serial` are skipped.
pub(crate) fn parse_cards(text: &str) -> anyhow::Result<Vec<CardSeed>> {
    let mut cards = Vec::new();
    let mut serials = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.to_lowercase().starts_with("serial") {
            continue;
        }
        let mut fields = line.split([',', ';']).map(str::trim);
        let (Some(serial), Some(seed), None) = (fields.next(), fields.next(), fields.next()) else {
            anyhow::bail!(
                "ligne {} : deux colonnes attendues (numéro de série, graine)",
                n + 1
            );
        };
        let serial_ok = !serial.is_empty()
            && serial.len() <= 64
            && serial
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !serial_ok {
            anyhow::bail!("ligne {} : numéro de série invalide", n + 1);
        }
        if !serials.insert(serial.to_owned()) {
            anyhow::bail!("ligne {} : numéro de série {serial} en double", n + 1);
        }
        // The seed is never echoed in an error message.
        let seed =
            totp::seed_from_hex(seed).map_err(|e| anyhow::anyhow!("ligne {} : {e}", n + 1))?;
        cards.push(CardSeed {
            serial: serial.to_owned(),
            seed,
        });
    }
    Ok(cards)
}

pub fn structure(
    db: &Database,
    command: StructureCommand,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let conn = &mut *db.conn()?;
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
                renewal_requires_identification: true,
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
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    o.id,
                    o.departement,
                    o.kind.label(),
                    o.name,
                    if o.is_active { "active" } else { "inactive" },
                    allowed.join(","),
                    if o.renewal_requires_identification {
                        "renouvellement:franceconnect"
                    } else {
                        "renouvellement:sans-identification"
                    }
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
        StructureCommand::SetRenewal { id, identification } => {
            organisations::set_renewal_requires_identification(
                conn,
                &OrganisationId::new(id),
                identification == "oui",
                &AuditContext::cli(),
                now,
            )?;
            println!("Réglage du renouvellement mis à jour.");
        }
    }
    Ok(())
}

pub fn aidant(
    settings: &Settings,
    db: &Database,
    command: AidantCommand,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let conn = &mut *db.conn()?;
    match command {
        AidantCommand::Add(args) => {
            let NewAidantArgs {
                email,
                first_name,
                last_name,
                profession,
                structures,
                referent_of,
                no_mandates,
                coordination,
                totp,
            } = *args;
            let organisations: Vec<OrganisationId> =
                structures.into_iter().map(OrganisationId::new).collect();
            let referent_of: BTreeSet<OrganisationId> =
                referent_of.into_iter().map(OrganisationId::new).collect();
            if !referent_of.iter().all(|r| organisations.contains(r)) {
                anyhow::bail!("--referent-of doit désigner une structure donnée par --structure");
            }
            let scopes = coordination.scopes()?;
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
            if let Some(serial) = &totp.card {
                // Checked before the account is written, so a typo leaves nothing behind.
                let free = totp_devices::find_free_card(conn, serial)?;
                if !free {
                    anyhow::bail!("aucune carte libre avec le numéro de série {serial}");
                }
            }
            aidants::insert(conn, &aidant, &AuditContext::cli(), now)?;
            println!("Compte ajouté : {} ({})", aidant.id, aidant.email);
            if let Some(serial) = totp.card {
                totp_devices::assign_card(conn, &serial, &aidant.id, &AuditContext::cli(), now)?;
                println!("Carte {serial} remise au compte.");
            } else if totp.totp_app {
                enrol_app(settings, conn, &aidant, totp.qr_file, now)?;
            } else {
                println!(
                    "Pas encore de second facteur : `aidant enrol-totp` ou `aidant assign-card` avant la première connexion."
                );
            }
        }
        AidantCommand::EnrolTotp { aidant, qr_file } => {
            let aidant = find_aidant(conn, &aidant)?;
            enrol_app(settings, conn, &aidant, qr_file, now)?;
        }
        AidantCommand::ImportCards { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("lecture de {}", file.display()))?;
            let cards = parse_cards(&text)?;
            let keys = key_ring(settings)?;
            let imported = totp_devices::import_cards(
                conn,
                &cards,
                &keys,
                &SystemRandom::new(),
                &AuditContext::cli(),
                now,
            )
            .map_err(|e| match e {
                ac_storage::StorageError::Conflict => {
                    anyhow::anyhow!("une de ces cartes est déjà importée : rien n'a été importé")
                }
                other => other.into(),
            })?;
            println!("Cartes importées : {imported}.");
        }
        AidantCommand::AssignCard { aidant, serial } => {
            let aidant = find_aidant(conn, &aidant)?;
            totp_devices::assign_card(conn, &serial, &aidant.id, &AuditContext::cli(), now)
                .map_err(|e| match e {
                    ac_storage::StorageError::NotFound => {
                        anyhow::anyhow!("aucune carte libre avec le numéro de série {serial}")
                    }
                    other => other.into(),
                })?;
            println!("Carte {serial} remise à {}.", aidant.id);
        }
        AidantCommand::Coordination {
            aidant,
            coordination,
        } => {
            let aidant = find_aidant(conn, &aidant)?;
            let scopes = coordination.scopes()?;
            aidants::set_coordinator_scopes(conn, &aidant.id, &scopes, &AuditContext::cli(), now)?;
            if scopes.is_empty() {
                println!("{} ne coordonne plus rien.", aidant.id);
            } else {
                println!("Rôles de coordination de {} remplacés.", aidant.id);
            }
        }
        AidantCommand::Unlock { aidant } => {
            let aidant = find_aidant(conn, &aidant)?;
            let unlocked = totp_devices::unlock(conn, &aidant.id, &AuditContext::cli(), now)?;
            println!("Appareils déverrouillés : {unlocked}.");
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

#[cfg(test)]
mod tests {
    use super::parse_cards;

    #[test]
    fn card_files() {
        let cards = parse_cards(
            "serial,seed\n# commentaire\nGALT-0001, 3132333435363738393031323334353637383930\n\nGALT-0002;00112233445566778899aabbccddeeff\n",
        )
        .unwrap();
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[0].serial, "GALT-0001");
        assert_eq!(cards[0].seed.expose(), b"12345678901234567890");
        for bad in [
            "GALT-0001",
            "GALT-0001,zz",
            "GALT 1,00112233445566778899aabbccddeeff",
            "A,00112233445566778899aabbccddeeff\nA,00112233445566778899aabbccddeeff",
            "A,00112233445566778899aabbccddeeff,extra",
        ] {
            let err = parse_cards(bad).unwrap_err().to_string();
            assert!(!err.contains("00112233"), "no seed in messages: {err}");
        }
    }
}
