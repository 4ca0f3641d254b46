//! The identity provider's administration: partner clients
//! (`client add|replace|list|disable|enable`)
//! and signing keys (`keys keygen|rotate|list`). Parsing and printing only: the rules are
//! `ac_oidc::op`'s, the records `ac_storage`'s.

use ac_auth::{Token, TokenHash};
use ac_config::{Settings, secret_file};
use ac_oidc::SigningAlg;
use ac_oidc::op::{self, Client, ClientAuthMethod, UserinfoFormat};
use ac_storage::journal::AuditContext;
use ac_storage::oidc_clients::{self, NewClient};
use ac_storage::oidc_keys::{self, KeyState};
use ac_storage::{Database, DbConnection, StorageError};
use ac_web::provider::keys::{self, PreparedKey};
use anyhow::Context;
use clap::{Args, Subcommand};
use ring::rand::SystemRandom;
use std::path::PathBuf;
use time::OffsetDateTime;

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Enregistre un site partenaire (client OIDC, par exemple FranceConnect) ; son secret est
    /// affiché une seule fois.
    Add(Box<NewClientArgs>),
    /// Remplace tout l'enregistrement d'un client existant (adresses, méthode, algorithmes,
    /// scopes) ; un nouveau secret est affiché une seule fois, l'ancien ne vaut plus, et le
    /// client est réactivé.
    Replace(Box<NewClientArgs>),
    /// Liste les clients enregistrés.
    List,
    /// Refuse désormais toute demande de ce client.
    Disable { id: String },
    /// Accepte de nouveau les demandes de ce client.
    Enable { id: String },
}

#[derive(Args)]
pub struct NewClientArgs {
    /// Identifiant du client (client_id), par exemple franceconnect.
    #[arg(long)]
    id: String,
    /// Nom affiché à l'aidant.
    #[arg(long)]
    name: String,
    /// Adresse de retour enregistrée, comparée à l'identique (répéter pour plusieurs).
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<String>,
    /// Adresse de retour après déconnexion (répéter pour plusieurs).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// client_secret_post (FranceConnect) ou client_secret_basic.
    #[arg(long, default_value = "client_secret_post")]
    auth_method: String,
    /// Signature de l'id_token : ES256 (défaut), RS256, ou HS256 (FranceConnect v1 seulement).
    #[arg(long, default_value = "ES256")]
    id_token_alg: String,
    /// Réponse userinfo : json, ou un JWT signé ES256, RS256 ou HS256.
    #[arg(long, default_value = "ES256")]
    userinfo: String,
    /// Scope permis (répéter ; par défaut tous) : openid, profile, birth, identite_pivot, email…
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Ajoute à l'id_token une revendication `act` (RFC 8693) nommant l'aidant et la structure.
    #[arg(long)]
    act_claim: bool,
}

fn alg(name: &str) -> anyhow::Result<SigningAlg> {
    name.parse()
        .map_err(|()| anyhow::anyhow!("algorithme inconnu {name} : ES256, RS256 ou HS256"))
}

fn provider_key_ring(settings: &Settings) -> anyhow::Result<ac_auth::KeyRing> {
    keys::load_key_ring(
        &settings.provider.key_ring_file,
        settings.provider.generate_missing_key,
        &SystemRandom::new(),
    )
    .map_err(anyhow::Error::msg)
}

pub fn client(
    settings: &Settings,
    db: &Database,
    command: ClientCommand,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let conn = &mut *db.conn()?;
    let context = AuditContext::cli();
    match command {
        ClientCommand::Add(args) => {
            register(settings, conn, &args, Registration::New, &context, now)?
        }
        ClientCommand::Replace(args) => {
            register(settings, conn, &args, Registration::Replace, &context, now)?
        }
        ClientCommand::List => {
            let clients = oidc_clients::list(conn)?;
            if clients.is_empty() {
                println!("Aucun client enregistré.");
            }
            for c in clients {
                println!(
                    "{}\t{}\t{}\tid_token {}\tuserinfo {}\t{}\t{}\n\tretour : {}\n\tscopes : {}",
                    c.id,
                    c.name,
                    c.auth_method,
                    c.id_token_alg,
                    c.userinfo_alg.as_deref().unwrap_or("json"),
                    if c.act_claim { "act" } else { "-" },
                    if c.is_active { "actif" } else { "désactivé" },
                    c.redirect_uris.join(" "),
                    c.allowed_scopes.join(" "),
                );
            }
        }
        ClientCommand::Disable { id } => {
            oidc_clients::set_active(conn, &id, false, &context, now)?;
            println!("Client {id} désactivé.");
        }
        ClientCommand::Enable { id } => {
            oidc_clients::set_active(conn, &id, true, &context, now)?;
            println!("Client {id} réactivé.");
        }
    }
    Ok(())
}

/// Whether [`register`] adds a client or replaces an existing one's whole registration.
#[derive(Clone, Copy)]
enum Registration {
    New,
    Replace,
}

/// Validates the arguments, makes the secret (sealed for HS256 clients), stores the
/// registration with its journal entry, and prints the secret once.
fn register(
    settings: &Settings,
    conn: &mut DbConnection,
    args: &NewClientArgs,
    mode: Registration,
    context: &AuditContext,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let scopes = if args.scopes.is_empty() {
        op::SUPPORTED_SCOPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    } else {
        let mut scopes = args.scopes.clone();
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        scopes
    };
    let userinfo = match args.userinfo.as_str() {
        "json" => UserinfoFormat::Json,
        other => UserinfoFormat::Signed(alg(other)?),
    };
    let client = Client {
        id: args.id.clone(),
        redirect_uris: args.redirect_uris.clone(),
        post_logout_redirect_uris: args.post_logout_redirect_uris.clone(),
        auth_method: args.auth_method.parse::<ClientAuthMethod>()?,
        id_token_alg: alg(&args.id_token_alg)?,
        userinfo,
        allowed_scopes: scopes.clone(),
        act_claim: args.act_claim,
    };
    client.validate(settings.server.dev_mode)?;
    let name = ac_mandates::fields::text(&args.name).map_err(|e| anyhow::anyhow!("nom : {e}"))?;
    // 256 random bits: FranceConnect asks for at least 32 characters.
    let secret = Token::generate(&SystemRandom::new())?;
    let sealed = if client.uses_hs256() {
        let ring = provider_key_ring(settings)?;
        Some(
            ac_web::provider::seal_client_secret(&ring, &client.id, secret.expose())
                .map_err(anyhow::Error::msg)?,
        )
    } else {
        None
    };
    let userinfo_alg = match client.userinfo {
        UserinfoFormat::Json => None,
        UserinfoFormat::Signed(alg) => Some(alg.as_str()),
    };
    let registration = NewClient {
        id: &client.id,
        name: &name,
        secret_hash: &TokenHash::of(secret.expose().as_bytes()),
        sealed_secret: sealed.as_deref(),
        redirect_uris: &client.redirect_uris,
        post_logout_redirect_uris: &client.post_logout_redirect_uris,
        auth_method: client.auth_method.as_str(),
        id_token_alg: client.id_token_alg.as_str(),
        userinfo_alg,
        allowed_scopes: &scopes,
        act_claim: client.act_claim,
    };
    match mode {
        Registration::New => match oidc_clients::insert(conn, &registration, context, now) {
            Err(StorageError::Conflict) => {
                anyhow::bail!("OIDC130 un client {} existe déjà", client.id)
            }
            other => other?,
        },
        Registration::Replace => match oidc_clients::replace(conn, &registration, context, now) {
            Err(StorageError::NotFound) => anyhow::bail!(
                "OIDC132 aucun client {} : enregistrez-le avec `client add`",
                client.id
            ),
            other => other?,
        },
    }
    match mode {
        Registration::New => println!("Client {} enregistré.", client.id),
        Registration::Replace => {
            println!(
                "Client {} remplacé : l'ancien secret ne vaut plus.",
                client.id
            )
        }
    }
    println!("Émetteur (issuer) : {}", settings.server.public_url);
    println!(
        "Découverte : {}{}",
        settings.server.public_url,
        op::DISCOVERY_PATH
    );
    println!("Secret du client (affiché une seule fois, à transmettre par un canal sûr) :");
    println!("{}", secret.expose());
    for needed in [
        Some(client.id_token_alg),
        userinfo_alg.and_then(|a| a.parse().ok()),
    ]
    .into_iter()
    .flatten()
    .filter(|a: &SigningAlg| !a.is_symmetric())
    {
        let has_key = oidc_keys::list(conn)?
            .iter()
            .any(|k| k.alg == needed.as_str() && k.state == KeyState::Current);
        if !has_key {
            eprintln!(
                "attention : aucune clé {needed} active ; créez-en une avec `aidants-connect keys rotate --alg {needed}`"
            );
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Crée le trousseau qui chiffre les clés de signature (provider.key_ring_file) ; jamais écrasé.
    Keygen,
    /// Rotation : la clé « next » se met à signer, l'actuelle est retirée (encore publiée), et
    /// une nouvelle clé est publiée comme « next ». ES256 : clés créées ici ; RS256 : fournir une
    /// clé PKCS#8 (`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out cle.pem`).
    Rotate {
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// Fichier PEM « PRIVATE KEY » (PKCS#8) de la nouvelle clé RS256.
        #[arg(long)]
        rsa_key: Option<PathBuf>,
    },
    /// Liste les clés, leur état et leurs dates.
    List,
}

pub fn keys(
    settings: &Settings,
    open: impl Fn() -> anyhow::Result<Database>,
    command: KeysCommand,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    match command {
        KeysCommand::Keygen => {
            let path = &settings.provider.key_ring_file;
            let text = keys::key_ring_text(&SystemRandom::new()).map_err(anyhow::Error::msg)?;
            secret_file::create_new(path, &text).with_context(|| {
                format!(
                    "OIDC131 {} : une clé n'est jamais écrasée (rotation : docs/operations.md)",
                    path.display()
                )
            })?;
            println!(
                "Trousseau du fournisseur d'identité écrit dans {} (lisible par son propriétaire seul).",
                path.display()
            );
            println!("Créez ensuite la première clé de signature : `aidants-connect keys rotate`.");
        }
        KeysCommand::Rotate { alg: name, rsa_key } => {
            let algorithm = alg(&name)?;
            let ring = provider_key_ring(settings)?;
            let rng = SystemRandom::new();
            let db = open()?;
            let conn = &mut *db.conn()?;
            let prepare = || -> anyhow::Result<PreparedKey> {
                match (algorithm, &rsa_key) {
                    (SigningAlg::ES256, None) => {
                        PreparedKey::new_es256(&ring, &rng).map_err(anyhow::Error::msg)
                    }
                    (SigningAlg::RS256, Some(path)) => {
                        let bytes = std::fs::read(path)
                            .with_context(|| format!("lecture de {}", path.display()))?;
                        PreparedKey::import_rsa(&bytes, &ring, &rng).map_err(anyhow::Error::msg)
                    }
                    (SigningAlg::RS256, None) => anyhow::bail!(
                        "RS256 : indiquez la nouvelle clé avec --rsa-key (ring ne crée pas de clé RSA)"
                    ),
                    _ => anyhow::bail!(
                        "--rsa-key ne va qu'avec --alg RS256 ; HS256 n'a pas de clé publiée"
                    ),
                }
            };
            let context = AuditContext::cli();
            let rotation = keys::rotate(conn, &prepare()?, &context, now)?;
            report(&rotation);
            // ES256, first time: publish the next key at once, so the next rotation has one.
            if algorithm == SigningAlg::ES256 && rotation.added.1 == KeyState::Current {
                report(&keys::rotate(conn, &prepare()?, &context, now)?);
            }
            println!(
                "Chaque nœud recharge les clés dans les {} s ; les clients mettent la liste publiée en cache quelques minutes : espacez les rotations d'au moins une heure.",
                settings.provider.key_reload.whole_seconds()
            );
        }
        KeysCommand::List => {
            let db = open()?;
            let keys = oidc_keys::list(&mut *db.conn()?)?;
            if keys.is_empty() {
                println!("Aucune clé de signature : `aidants-connect keys rotate`.");
            }
            let date = |at: Option<OffsetDateTime>| at.map_or("-".to_owned(), |a| a.to_string());
            for k in keys {
                println!(
                    "{}\t{}\t{}\tcréée {}\tactive {}\tretirée {}",
                    k.kid,
                    k.alg,
                    k.state.as_str(),
                    k.created_at,
                    date(k.activated_at),
                    date(k.retired_at)
                );
            }
        }
    }
    Ok(())
}

fn report(rotation: &oidc_keys::Rotation) {
    let (kid, state) = &rotation.added;
    println!("Nouvelle clé {kid} : {}", state.as_str());
    if let Some(promoted) = &rotation.promoted {
        println!("Signe désormais : {promoted}");
    }
    if let Some(retired) = &rotation.retired {
        println!("Retirée (encore publiée) : {retired}");
    }
}
