//! `demo load`: the fictional pilot (`ac-demo`), in builds with the `demo` feature only. A
//! production build (`make release`) holds no demonstration data and answers why
//! (docs/operations.md, "Production build").

use ac_config::Settings;
use time::OffsetDateTime;

#[cfg(feature = "demo")]
pub fn load(settings: &Settings, now: OffsetDateTime) -> anyhow::Result<()> {
    use ac_storage::OpenMode;
    // Before anything is opened or created (keys, database).
    ac_demo::allowed(settings.server.dev_mode)?;
    let db = crate::open(settings, OpenMode::MustExist)?;
    let keys = ac_web::auth::load_key_ring(
        &settings.auth.totp_key_file,
        settings.auth.generate_missing_key,
        &ring::rand::SystemRandom::new(),
    )
    .map_err(anyhow::Error::msg)?;
    // The pilot's people get the pseudonyms the relying party computes when they sign in at the
    // demonstration provider (renewals and the aidé's own space work in the demo).
    let pseudonyms = ac_web::FranceConnect::from_settings(settings)
        .and_then(|fc| fc.demo_pseudonyms())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match ac_demo::load(
        &mut *db.conn()?,
        &keys,
        &pseudonyms,
        &ac_storage::journal::AuditContext::cli(),
        now,
    )? {
        ac_demo::Outcome::Loaded(s) => {
            println!(
                "Démonstration chargée : {} structures, {} comptes, {} usagers, {} mandats.",
                s.organisations, s.aidants, s.usagers, s.mandates
            );
            if let Some(email) = s.sign_in_example {
                println!(
                    "Pour vous connecter : {}/connexion avec {email} ; le lien et le code TOTP de démonstration sont sur {}/dev/courriels.",
                    settings.server.public_url, settings.server.public_url
                );
            }
        }
        ac_demo::Outcome::AlreadyPopulated => {
            println!("La base contient déjà des structures : rien n'a été chargé.")
        }
    }
    Ok(())
}

#[cfg(not(feature = "demo"))]
pub fn load(_: &Settings, _: OffsetDateTime) -> anyhow::Result<()> {
    anyhow::bail!(
        "{} : `demo load` n'existe pas dans ce binaire ; construisez-le avec la démonstration (make run, cargo build --features demo)",
        ac_config::WithoutDemo
    )
}

#[cfg(all(test, not(feature = "demo")))]
mod tests {
    #[test]
    fn a_production_build_refuses_demo_load_before_opening_anything() {
        let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/default.toml");
        let settings =
            ac_config::Settings::load(std::path::Path::new(config), &Default::default()).unwrap();
        let refusal = super::load(&settings, time::OffsetDateTime::UNIX_EPOCH)
            .unwrap_err()
            .to_string();
        assert!(refusal.starts_with("DEM002 "), "{refusal}");
        assert!(refusal.contains("demo load"), "{refusal}");
    }
}
