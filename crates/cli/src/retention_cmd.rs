//! `aidants-connect retention …`: what retention would delete (`report`) and doing it (`run`).
//! The work itself is in `ac_storage::retention`; the daily run on every node is
//! `ac_web::retention`.

use ac_config::Settings;
use ac_storage::Database;
use ac_storage::retention::{self, Counts};
use anyhow::bail;
use clap::Subcommand;
use std::collections::BTreeMap;
use std::io::Write;
use time::OffsetDateTime;

use crate::audit_cmd::parse_instant;

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Liste, sans rien supprimer, ce qu'un passage supprimerait ou caviarderait, par catégorie et par mois.
    Report {
        /// Date du passage simulé (AAAA-MM-JJ ou RFC 3339) ; par défaut maintenant.
        #[arg(long)]
        at: Option<String>,
    },
    /// Supprime et caviarde ce qui a dépassé sa durée de conservation (un nœud à la fois).
    Run,
}

fn print_category(
    out: &mut impl Write,
    title: &str,
    by_month: &BTreeMap<String, u64>,
) -> std::io::Result<()> {
    writeln!(out, "{title} : {}", Counts::total(by_month))?;
    for (month, count) in by_month {
        writeln!(out, "  {month}  {count}")?;
    }
    Ok(())
}

pub fn run(
    settings: &Settings,
    db: &Database,
    command: RetentionCommand,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let policy = ac_web::retention::policy(&settings.retention);
    let mut out = std::io::stdout().lock();
    match command {
        RetentionCommand::Report { at } => {
            let at = at.as_deref().map(parse_instant).transpose()?.unwrap_or(now);
            let counts = retention::report(&mut *db.conn()?, &policy, at)?;
            writeln!(
                out,
                "Conservation des données au {} (simulation, rien n'est supprimé)",
                at.date()
            )?;
            print_category(
                &mut out,
                "Mandats supprimés (mois de fin du mandat)",
                &counts.mandates,
            )?;
            print_category(
                &mut out,
                "Identités supprimées avec leurs derniers mandats",
                &counts.identities,
            )?;
            print_category(
                &mut out,
                "Identités sans mandat supprimées (mois de l'identification)",
                &counts.unused_identities,
            )?;
            print_category(
                &mut out,
                "Entrées du journal caviardées (mois de l'entrée)",
                &counts.journal_entries,
            )?;
        }
        RetentionCommand::Run => {
            let holder = format!("cli-{}", std::process::id());
            let outcome = retention::run(db, &policy, &holder, now)?;
            if !outcome.ran {
                bail!(
                    "RET001 un autre nœud fait déjà ce passage (bail « {} ») : réessayez plus tard",
                    retention::LEASE
                );
            }
            writeln!(
                out,
                "Mandats supprimés : {}\nIdentités supprimées : {}\nIdentités sans mandat supprimées : {}\nEntrées du journal caviardées : {}\nLots : {}",
                outcome.mandates,
                outcome.identities,
                outcome.unused_identities,
                outcome.journal_entries,
                outcome.batches
            )?;
        }
    }
    Ok(())
}
