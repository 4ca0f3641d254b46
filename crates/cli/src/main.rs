#![doc = include_str!("../README.md")]

mod admin;
mod audit_cmd;
mod cli_french;
mod demo_cmd;
mod provider_cmd;
mod retention_cmd;

use ac_clock::{Clock, SystemClock};
use ac_config::{LogFormat, Overrides, Settings};
use ac_storage::{Database, DatabaseUrl, OpenMode, PoolOptions, migrations};
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc rather than glibc's allocator: under the delegated-flow load, glibc's `malloc` and
/// `free` (and its consolidation of free chunks across threads) took about a sixth of the
/// server's CPU, and mimalloc cut the server's CPU per flow by 4–7 % on SQLite and 16–25 % on
/// PostgreSQL (`docs/performance.md`, "Measured with `flowload`").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "aidants-connect",
    version,
    about = "Mandats d'aidance : agir pour autrui dans un cadre consenti, limité et tracé"
)]
struct Cli {
    /// Fichier de configuration TOML.
    #[arg(long, global = true, default_value = "config/default.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Applique les migrations puis sert l'application web.
    Serve {
        /// Adresse d'écoute, par exemple 127.0.0.1:8080 (remplace server.bind).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Crée la base si besoin et applique les migrations en attente.
    Migrate,
    /// Données de démonstration (binaire construit avec la démonstration).
    #[cfg_attr(not(feature = "demo"), command(hide = true))]
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Structures partenaires.
    Structure {
        #[command(subcommand)]
        command: admin::StructureCommand,
    },
    /// Comptes aidants, référents et coordinateurs.
    Aidant {
        #[command(subcommand)]
        command: admin::AidantCommand,
    },
    /// Connexion des aidants : clé de chiffrement des graines TOTP.
    Auth {
        #[command(subcommand)]
        command: admin::AuthCommand,
    },
    /// Journal d'audit : clés, vérification, preuves, export.
    Audit {
        #[command(subcommand)]
        command: audit_cmd::AuditCommand,
    },
    /// Fournisseur d'identité : sites partenaires (clients OIDC).
    Client {
        #[command(subcommand)]
        command: provider_cmd::ClientCommand,
    },
    /// Fournisseur d'identité : clés de signature et leur rotation.
    Keys {
        #[command(subcommand)]
        command: provider_cmd::KeysCommand,
    },
    /// Conservation des données : ce qui est supprimé ou caviardé, et quand.
    Retention {
        #[command(subcommand)]
        command: retention_cmd::RetentionCommand,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Charge le pilote fictif dans une base vide.
    Load,
}

fn main() -> ExitCode {
    let cli = match cli_french::parse::<Cli>() {
        Ok(cli) => cli,
        Err(status) => return status,
    };
    let bind = match &cli.command {
        Command::Serve { bind } => bind.clone(),
        _ => None,
    };
    let overrides = Overrides {
        database_url: std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
        bind,
    };
    let settings = match Settings::load(&cli.config, &overrides) {
        Ok(settings) => Arc::new(settings),
        Err(e) => {
            eprintln!("erreur : {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&settings);
    match run(cli.command, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erreur : {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn open(settings: &Settings, mode: OpenMode) -> anyhow::Result<Database> {
    let url: DatabaseUrl = settings.database.url.parse()?;
    let options = PoolOptions {
        max_connections: settings.database.max_connections,
        connect_timeout: settings.database.connect_timeout.unsigned_abs(),
        sqlite_busy_timeout: settings.database.sqlite_busy_timeout.unsigned_abs(),
    };
    let db = Database::open(&url, mode, &options).with_context(|| format!("base {url}"))?;
    Ok(db)
}

fn migrate(db: &Database) -> anyhow::Result<()> {
    for name in migrations::run_pending(&mut *db.conn()?)? {
        tracing::info!(migration = %name, "migration appliquée");
    }
    Ok(())
}

/// At start-up: applies what is pending, but only when something is, so that `serve` can run
/// as a runtime role that may not create tables (docs/operations.md, "Database roles").
fn migrate_if_pending(db: &Database) -> anyhow::Result<()> {
    if migrations::pending(&mut *db.conn()?)?.is_empty() {
        return Ok(());
    }
    migrate(db).context(
        "migrations en attente : lancez `aidants-connect migrate` avec le rôle propriétaire de la base",
    )
}

fn run(command: Command, settings: Arc<Settings>) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match command {
        Command::Migrate => {
            let db = open(&settings, OpenMode::CreateIfMissing)?;
            migrate(&db)?;
            println!("Base à jour.");
            if let Some(role) = &settings.database.runtime_role {
                migrations::grant_runtime_role(&mut *db.conn()?, role)?;
                println!("Droits du rôle d'exécution « {role} » accordés.");
            }
            Ok(())
        }
        Command::Serve { .. } => {
            // Before anything is opened: settings that ask for a demonstration site this
            // binary does not contain.
            if let Some(refusal) = ac_web::demo_unavailable(&settings) {
                anyhow::bail!(refusal);
            }
            let db = open(&settings, OpenMode::MustExist)?;
            migrate_if_pending(&db)?;
            serve(settings, db, clock)
        }
        Command::Demo {
            command: DemoCommand::Load,
        } => demo_cmd::load(&settings, clock.now()),
        Command::Structure { command } => {
            admin::structure(&open(&settings, OpenMode::MustExist)?, command, clock.now())
        }
        Command::Aidant { command } => admin::aidant(
            &settings,
            &open(&settings, OpenMode::MustExist)?,
            command,
            clock.now(),
        ),
        Command::Auth { command } => admin::auth(&settings, command),
        Command::Client { command } => provider_cmd::client(
            &settings,
            &open(&settings, OpenMode::MustExist)?,
            command,
            clock.now(),
        ),
        Command::Keys { command } => provider_cmd::keys(
            &settings,
            || open(&settings, OpenMode::MustExist),
            command,
            clock.now(),
        ),
        Command::Audit { command } => audit_cmd::run(
            &settings,
            || open(&settings, OpenMode::MustExist),
            command,
            clock.now(),
        ),
        Command::Retention { command } => retention_cmd::run(
            &settings,
            &open(&settings, OpenMode::MustExist)?,
            command,
            clock.now(),
        ),
    }
}

fn serve(settings: Arc<Settings>, db: Database, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&settings.server.bind)
        .with_context(|| format!("écoute sur {}", settings.server.bind))?;
    let address = listener.local_addr()?;
    let audit_key = audit_cmd::signing_key(&settings.audit)?;
    let state = ac_web::AppState::new(settings.clone(), db, clock, audit_key)?;
    // Refuse to start with a trusted key list that does not parse, rather than at first use.
    state.trusted_audit_keys()?;
    let _audit_worker = ac_web::audit_worker::spawn(state.clone())?;
    let _housekeeping = ac_web::housekeeping::spawn(state.clone())?;
    let _mail_outbox = ac_web::mail_worker::spawn(state.clone())?;
    let _reminders = ac_web::reminders::spawn(state.clone())?;
    let _receipts = ac_web::receipts::jobs::spawn(state.clone())?;
    let _retention = ac_web::retention::spawn(state.clone())?;
    tracing::info!(%address, public_url = %settings.server.public_url, "aidants-connect écoute");
    actix_web::rt::System::new().block_on(async move { ac_web::serve(state, listener)?.await })?;
    Ok(())
}
