//! `aidants-connect audit …`: key generation, verification, proofs, export and on-demand
//! checkpoints. The work itself is in `ac_storage::audit` and `ac_audit`.

use ac_audit::{InclusionBundle, SignerKey, VerifierKey, verify_bundle};
use ac_config::{AuditSettings, Settings, secret_file};
use ac_storage::journal::{self, AuditContext, Event};
use ac_storage::{Database, audit, write};
use anyhow::{Context, bail};
use clap::Subcommand;
use std::io::Write;
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Crée la clé de signature des points de contrôle (n'écrase jamais une clé existante).
    Keygen,
    /// Recalcule tout le journal et vérifie chaque point de contrôle ; code de sortie non nul en cas d'altération.
    Verify {
        /// Clé publique de confiance (forme « nom+id+clé », répéter) ; par défaut celles de la configuration.
        #[arg(long = "key")]
        keys: Vec<String>,
    },
    /// Preuve d'inclusion de l'entrée SEQ dans le dernier point de contrôle, en JSON.
    Prove { seq: u64 },
    /// Vérifie hors ligne une preuve produite par `audit prove`, avec la seule clé publique.
    VerifyProof {
        file: PathBuf,
        /// Clé publique de confiance (répéter) ; par défaut celles de la configuration.
        #[arg(long = "key")]
        keys: Vec<String>,
    },
    /// Exporte les entrées datées de --from (inclus) à --to (exclu), en lignes JSON.
    Export {
        /// AAAA-MM-JJ ou date RFC 3339.
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// Intègre les entrées en attente et signe un point de contrôle maintenant.
    Checkpoint,
}

/// Loads the checkpoint signing key, creating it first where the settings allow (dev mode).
pub fn signing_key(settings: &AuditSettings) -> anyhow::Result<SignerKey> {
    let path = &settings.signing_key_file;
    let (text, origin) = secret_file::read_or_create(path, settings.generate_missing_key, || {
        new_key_text(&settings.origin).map_err(|e| e.to_string())
    })
    .context("AUD100 clé de signature du journal absente ou illisible : créez-la avec `aidants-connect audit keygen`")?;
    let key = SignerKey::from_secret_text(&text).context("AUD101 clé de signature illisible")?;
    if key.name() != settings.origin {
        bail!(
            "AUD102 la clé {} est nommée « {} » mais audit.origin vaut « {} »",
            path.display(),
            key.name(),
            settings.origin
        );
    }
    if origin == secret_file::Origin::Created {
        tracing::warn!(path = %path.display(), verifier = %key.verifier(), "clé de signature du journal créée (mode dev)");
    }
    Ok(key)
}

fn new_key_text(origin: &str) -> anyhow::Result<String> {
    let key = SignerKey::generate(origin, &ring::rand::SystemRandom::new())?;
    Ok(format!("{}\n", key.to_secret_text().expose_secret()))
}

/// The trusted public keys: those given on the command line, else the configured ones.
fn verifiers(settings: &Settings, explicit: &[String]) -> anyhow::Result<Vec<VerifierKey>> {
    let parse = |t: &String| {
        t.parse::<VerifierKey>()
            .with_context(|| format!("clé publique illisible : {t}"))
    };
    if !explicit.is_empty() {
        return explicit.iter().map(parse).collect();
    }
    let mut keys = vec![signing_key(&settings.audit)?.verifier()];
    for t in &settings.audit.trusted_keys {
        keys.push(parse(t)?);
    }
    Ok(keys)
}

/// Checkpoints published as files, to anchor verification outside the database.
fn published_checkpoints(dir: &Path) -> anyhow::Result<Vec<String>> {
    Ok(ac_web::audit_worker::read_published(dir)?)
}

pub(crate) fn parse_instant(value: &str) -> anyhow::Result<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(at);
    }
    let date = Date::parse(value, format_description!("[year]-[month]-[day]"))
        .with_context(|| format!("date illisible : {value} (AAAA-MM-JJ ou RFC 3339)"))?;
    Ok(date.midnight().assume_utc())
}

pub fn run(
    settings: &Settings,
    db: impl FnOnce() -> anyhow::Result<Database>,
    command: AuditCommand,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        AuditCommand::Keygen => {
            let path = &settings.audit.signing_key_file;
            if path.exists() {
                bail!(
                    "AUD103 {} existe déjà : une clé n'est jamais écrasée (voir docs/security/audit-log.md, rotation)",
                    path.display()
                );
            }
            let text = new_key_text(&settings.audit.origin)?;
            secret_file::create_new(path, &text)
                .with_context(|| format!("création de {}", path.display()))?;
            let key = SignerKey::from_secret_text(text.trim())?;
            writeln!(out, "Clé privée écrite dans {}", path.display())?;
            writeln!(out, "Clé publique (à publier) : {}", key.verifier())?;
        }
        AuditCommand::Verify { keys } => {
            let verifiers = verifiers(settings, &keys)?;
            let published = published_checkpoints(&settings.audit.checkpoint_dir)?;
            // Recorded like a run from the coordinators' integrity panel, which shows the last
            // one. Recording is a convenience: on a read-only copy it fails and the check goes on.
            use ac_clock::Clock;
            use ac_storage::console::verifications;
            let clock = ac_clock::SystemClock;
            let db = db()?;
            let conn = &mut *db.conn()?;
            let run = verifications::start(conn, None, clock.now())
                .map_err(|e| tracing::warn!(code = e.code(), "verification run not recorded"))
                .ok();
            let expect = audit::Expectations::new(clock.now(), settings.audit.pending_max_age)
                .with_retention(&ac_web::retention::policy(&settings.retention));
            let result = audit::verify(&db, &verifiers, &published, &expect);
            if let Some(id) = run
                && let Err(e) = verifications::finish(conn, &id, &result, clock.now())
            {
                tracing::warn!(code = e.code(), "verification result not recorded");
            }
            let report = result?;
            if let Some(problem) = report.problem {
                let at = problem
                    .seq
                    .map_or_else(|| "—".to_owned(), |s| s.to_string());
                bail!(
                    "AUD104 journal altéré — première entrée en cause : {at} — {}",
                    problem.what
                );
            }
            if !report.differences.is_empty() {
                // Every difference, each with its row and the entry it contradicts.
                for difference in &report.differences {
                    writeln!(out, "{difference}")?;
                }
                bail!(
                    "AUD107 tables de mandats altérées : {} ligne(s) contredisent le journal (listées ci-dessus)",
                    report.differences.len()
                );
            }
            writeln!(
                out,
                "Journal intègre : {} entrées, {} points de contrôle vérifiés ({} publiés hors base), {} en attente d'intégration.\nRacine : {}",
                report.entries,
                report.checkpoints,
                published.len(),
                report.pending,
                hex_root(&report.root)
            )?;
        }
        AuditCommand::Prove { seq } => {
            let bundle = audit::prove(&mut *db()?.conn()?, seq)
                .with_context(|| format!("pas de preuve pour l'entrée {seq} (absente ou pas encore couverte par un point de contrôle)"))?;
            serde_json::to_writer_pretty(&mut out, &bundle)?;
            writeln!(out)?;
        }
        AuditCommand::VerifyProof { file, keys } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("lecture de {}", file.display()))?;
            let bundle: InclusionBundle =
                serde_json::from_str(&text).context("AUD105 preuve illisible")?;
            let verified = verify_bundle(&bundle, &verifiers(settings, &keys)?)
                .context("AUD106 preuve invalide")?;
            writeln!(
                out,
                "Preuve valide : l'entrée {} ({}) figure dans le journal de {} entrées signé par {}.",
                verified.entry.seq,
                verified.entry.action,
                verified.checkpoint.size,
                verified.checkpoint.origin
            )?;
        }
        AuditCommand::Export { from, to } => {
            let (from, to) = (parse_instant(&from)?, parse_instant(&to)?);
            if from >= to {
                bail!("--from doit précéder --to");
            }
            let db = db()?;
            let count = audit::export(&mut *db.conn()?, from, to, &mut out)?;
            // Exports are journaled with their filter, like every other access to the log in bulk.
            write(&mut *db.conn()?, |tx| {
                let event = Event::new(ac_audit::Action::ExportMade)
                    .detail("format", "jsonl")
                    .detail("from", from.unix_timestamp())
                    .detail("to", to.unix_timestamp())
                    .detail("entries", count);
                journal::record(tx, &AuditContext::cli(), event, now)
            })?;
        }
        AuditCommand::Checkpoint => {
            let key = signing_key(&settings.audit)?;
            let db = db()?;
            let conn = &mut *db.conn()?;
            audit::integrate_all(conn, settings.audit.integrate_batch, now)?;
            match audit::sign_checkpoint(conn, &key, true, now)? {
                Some(checkpoint) => {
                    audit::integrate_all(conn, settings.audit.integrate_batch, now)?;
                    ac_web::audit_worker::publish(&settings.audit.checkpoint_dir, &checkpoint)?;
                    writeln!(
                        out,
                        "Point de contrôle signé : {} entrées.\n{}",
                        checkpoint.tree_size, checkpoint.signed_note
                    )?;
                }
                None => writeln!(out, "Rien de nouveau depuis le dernier point de contrôle.")?,
            }
        }
    }
    Ok(())
}

fn hex_root(root: &[u8]) -> String {
    root.iter().map(|b| format!("{b:02x}")).collect()
}
