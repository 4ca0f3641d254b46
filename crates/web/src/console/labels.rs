//! French words for the journal's stable codes.

use ac_audit::Action;

/// Matched on the stable code rather than the enum, so an action added later shows its code
/// until it gets words here, instead of breaking the build.
pub(crate) fn action(action: Action) -> &'static str {
    match action.as_str() {
        "auth.signin.succeeded" => "Connexion réussie",
        "auth.signin.failed" => "Connexion refusée",
        "auth.link.requested" => "Lien de connexion demandé",
        "auth.stepup.succeeded" => "Code de confirmation accepté",
        "auth.stepup.failed" => "Code de confirmation refusé",
        "auth.signout" => "Déconnexion",
        "auth.structure.switched" => "Changement de structure",
        "auth.totp.locked" => "Second facteur bloqué",
        "auth.totp.unlocked" => "Second facteur débloqué",
        "usager.identified" => "Usager identifié (FranceConnect)",
        "usager.identity_updated" => "Identité de l'usager mise à jour",
        "mandate.created" => "Mandat créé",
        "mandate.renewed" => "Mandat renouvelé",
        "mandate.revoked" => "Mandat révoqué",
        "mandate.verification_code_created" => "Code de vérification du mandat créé",
        "authorization.created" => "Démarche autorisée",
        "authorization.superseded" => "Démarche remplacée par un nouveau mandat",
        "authorization.revoked" => "Démarche révoquée",
        "delegation.started" => "Utilisation d'un mandat",
        "delegation.completed" => "Identité transmise au site",
        "delegation.token_issued" => "Jeton d'accès remis au site partenaire",
        "delegation.refused" => "Utilisation refusée",
        "oidc_client.created" => "Site partenaire ajouté",
        "oidc_client.updated" => "Site partenaire modifié",
        "signing_key.created" => "Clé de signature créée",
        "signing_key.rotated" => "Clé de signature remplacée",
        "organisation.created" => "Structure créée",
        "organisation.updated" => "Structure modifiée",
        "organisation.allowed_demarches_changed" => "Démarches permises modifiées",
        "aidant.created" => "Compte d'aidant créé",
        "aidant.updated" => "Compte d'aidant modifié",
        "aidant.deactivated" => "Compte d'aidant désactivé",
        "totp_device.added" => "Second facteur ajouté",
        "totp_device.removed" => "Second facteur retiré",
        "export.made" => "Export du journal",
        "export.interrupted" => "Export du journal interrompu",
        "checkpoint.signed" => "Point de contrôle signé",
        "access.denied" => "Accès refusé",
        "mandate.deleted" => "Mandat supprimé (durée de conservation écoulée)",
        "mandate.refused" => "Mandat refusé ou annulé avant l'accord",
        "usager.deleted" => "Identité de la personne supprimée",
        "journal.redacted" => "Entrées anciennes du journal caviardées",
        "retention.run" => "Passage de la conservation des données",
        "usager.notifications_changed" => "Choix des avis de la personne modifié",
        "report.opened" => "Signalement « Ce n'était pas moi »",
        "report.closed" => "Signalement clos",
        "remote_consent.sent" => "Lien d'accord à distance envoyé",
        "remote_consent.given" => "Accord donné à distance par la personne",
        "remote_consent.expired" => "Accord à distance expiré",
        other => other,
    }
}

/// A code that no longer parses (an entry written by a newer version) shows as itself.
pub(crate) fn action_code(code: &str) -> String {
    code.parse::<Action>()
        .map(|a| action(a).to_owned())
        .unwrap_or_else(|_| code.to_owned())
}

pub(crate) fn actor_kind(kind: &str) -> &'static str {
    match kind {
        "aidant" => "Aidant",
        "usager" => "Usager",
        "client" => "Site partenaire",
        "system" => "Service",
        _ => "Autre",
    }
}

/// Who acted, in words: an aidant by name (`aidant_name` looks the id up), a partner site by its
/// registered name (`partner_name`), the service's own jobs and the administration's command
/// line by what they are; never a bare code.
pub(crate) fn actor(
    kind: &str,
    id: Option<&str>,
    aidant_name: impl Fn(&str) -> Option<String>,
    partner_name: impl Fn(&str) -> Option<String>,
) -> String {
    match (kind, id) {
        ("aidant", Some(id)) => {
            aidant_name(id).unwrap_or_else(|| "Aidant (compte supprimé)".into())
        }
        ("client", Some(id)) => partner_name(id).map_or_else(
            || "Site partenaire (non enregistré)".to_owned(),
            |name| format!("Site partenaire « {name} »"),
        ),
        ("system", Some("cli")) => "Administration du service (ligne de commande)".into(),
        ("system", _) => "Le service Aidants Connect (tâche automatique)".into(),
        ("usager", _) => "La personne accompagnée".into(),
        (other, _) => actor_kind(other).to_owned(),
    }
}

/// The French name of a journal entry's detail; `None` for a key without one (a test keeps
/// every key the service writes in this table).
pub(crate) fn detail_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "act_claim" => "Revendication « act » dans le jeton",
        "aidant" => "Aidant",
        "alg" => "Algorithme",
        "auth_method" => "Méthode d'authentification du site",
        "below_seq" => "Entrées antérieures au numéro",
        "bytes_sent" => "Octets envoyés",
        "can_create_mandates" => "Peut agir pour des usagers",
        "comprehension" => "Questions de compréhension",
        "comprehension_tries" => "Essais aux questions de compréhension",
        "confirmation" => "Confirmation",
        "consent" => "Accord",
        "content_hash" => "Empreinte du mandat",
        "coordinator_scopes" => "Périmètres de coordination",
        "demarches" => "Démarches",
        "departement" => "Département",
        "device" => "Appareil",
        "duration_days" => "Durée (jours)",
        "ended" => "Fin",
        "entries" => "Entrées",
        "expires_at" => "Fin de validité",
        "failures" => "Codes faux",
        "fields" => "Champs",
        "filter_action" => "Filtre : action",
        "filter_aidant" => "Filtre : aidant",
        "filter_from" => "Filtre : du",
        "filter_structure" => "Filtre : structure",
        "filter_to" => "Filtre : au",
        "filter_usagers" => "Filtre : usagers",
        "first_time" => "Première fois",
        "format" => "Format",
        "from" => "Depuis",
        "from_seq" => "À partir de l'entrée",
        "id_token_alg" => "Algorithme du jeton d'identité",
        "identification" => "Identification",
        "identified" => "Identifié",
        "identities" => "Identités",
        "is_active" => "Actif",
        "journal_entries" => "Entrées du journal",
        "key" => "Clé",
        "kind" => "Type",
        "language" => "Langue de la page d'accord",
        "legal_text_version" => "Version du texte légal",
        "limit" => "Limite",
        "mandate" => "Mandat",
        "mandates" => "Mandats",
        "next" => "Clé suivante",
        "organisations" => "Structures",
        "outcome" => "Résultat",
        "receipt_kind" => "Reçu signalé",
        "suspended" => "Démarches suspendues",
        "authorization" => "Démarche (autorisation)",
        "revoked" => "Démarches révoquées",
        "choice" => "Avis choisis",
        "channel" => "Envoyé par",
        "consented_at" => "Accord de la personne (à distance)",
        "confirmed_at" => "Confirmation de l'aidant",
        "confirm_by" => "Confirmation attendue avant",
        "stage" => "Étape non terminée",
        "address_changed" => "Adresse changée",
        "page" => "Page",
        "reason" => "Motif",
        "redirect_uris" => "Adresses de retour",
        "referent_of" => "Référent de",
        "renewal_of" => "Renouvelle le mandat",
        "renewal_requires_identification" => "Renouvellement avec FranceConnect",
        "refused_by" => "Refusé par",
        "renewed_by" => "Renouvelé par le mandat",
        "resource" => "Ressource",
        "retired" => "Retirées",
        "revoked_tokens" => "Jetons révoqués",
        "root" => "Racine",
        "scope" => "Périmètre",
        "scopes" => "Périmètres (scopes)",
        "secret" => "Secret",
        "serial" => "Numéro de série",
        "sessions" => "Sessions",
        "space" => "Espace",
        "state" => "État",
        "step" => "Étape",
        "superseded_by" => "Remplacé par le mandat",
        "text_shown" => "Texte lu avant l'accord",
        "to" => "Jusqu'à",
        "unused_identities" => "Identités inutilisées",
        "up_to_seq" => "Jusqu'à l'entrée",
        "userinfo" => "Informations utilisateur",
        _ => return None,
    })
}

/// A detail's value as a person reads it: the stable codes the service writes become words
/// (`wrong_code` → « code faux »), `true`/`false` become « oui »/« non », démarches their titles;
/// ids, dates, counts, error codes and anything unknown stay as written.
pub(crate) fn detail_value(key: &str, value: &str) -> String {
    if let Some(words) = value_words(key, value) {
        return words.to_owned();
    }
    if key == "demarches" || key == "demarche" {
        return value
            .split(',')
            .map(|d| {
                d.parse::<ac_mandates::Demarche>()
                    .map_or_else(|_| d.to_owned(), |d| d.title().to_owned())
            })
            .collect::<Vec<_>>()
            .join(", ");
    }
    value.to_owned()
}

fn value_words(key: &str, value: &str) -> Option<&'static str> {
    Some(match (key, value) {
        (_, "true") => "oui",
        (_, "false") => "non",
        ("refused_by", "usager") => "la personne accompagnée (« Je refuse »)",
        ("refused_by", "aidant") => "l'aidant (« Annuler »)",
        ("step", "identification") => "écran avant FranceConnect",
        ("step", "recap") => "récapitulatif",
        ("step", "remote") => "lien envoyé à la personne (à distance)",
        ("consent", "remote") => "accord de la personne sur son téléphone, confirmé par l'aidant",
        ("channel", "sms") => "SMS",
        ("channel", "email") => "courriel",
        ("stage", "link") => "lien non utilisé à temps",
        ("stage", "confirmation") => "confirmation de l'aidant hors délai",
        ("step", "authorize") => "demande du site partenaire",
        ("step", "selection") => "choix de la personne et de la démarche",
        ("step", "token") => "remise du jeton au site",
        ("step", "userinfo") => "remise de l'identité au site",
        ("identification", "franceconnect") => "FranceConnect",
        ("language", "fr") => "français",
        ("language", "en") => "anglais",
        ("language", "ar") => "arabe",
        ("language", "es") => "espagnol",
        ("language", "pt") => "portugais",
        ("language", "ro") => "roumain",
        ("text_shown", "full") => "texte complet",
        ("text_shown", "easy_read") => "facile à lire",
        ("comprehension", "passed") => "réussies",
        ("comprehension", "skipped") => "passées après une explication",
        ("identification", "not_required") => {
            "sans nouvelle identification (réglage de la structure)"
        }
        ("state", "current") => "en service",
        ("state", "next") => "prochaine",
        ("state" | "kind", "retired") => "retirée",
        (_, "aide_on_screen") => "accord de la personne sur l'écran",
        (_, "usager_on_screen") => "confirmation de la personne sur l'écran",
        (_, "usager_self") => "la personne elle-même, dans son espace",
        (_, "not_recorded") => "non enregistrée",
        (_, "app") => "application d'authentification",
        (_, "card") => "carte à code",
        (_, "returned_to_stock") => "rendue au stock",
        (_, "accepted") => "accepté",
        (_, "wrong_code") => "code faux",
        (_, "replayed_code") => "code déjà utilisé",
        (_, "device_locked") => "second facteur bloqué",
        (_, "no_device") => "aucun second facteur",
        (_, "logout") => "déconnexion",
        (_, "idle_timeout") => "inactivité",
        (_, "lifetime_expired") => "durée maximale atteinte",
        (_, "aidant_deactivated") => "compte désactivé",
        (_, "sent") => "envoyé",
        (_, "aidant_inactive") => "compte inactif",
        (_, "unknown_address") => "adresse inconnue",
        (_, "unknown_link") => "lien inconnu",
        (_, "used_link") => "lien déjà utilisé",
        (_, "expired_link") => "lien expiré",
        (_, "no_link_opened") => "aucun lien ouvert",
        (_, "rate_limited") => "trop de tentatives",
        (_, "totp_per_aidant") => "codes par aidant",
        (_, "code_replayed") => "code d'autorisation rejoué",
        (_, "mandate_of_another_structure") => "mandat d'une autre structure",
        (_, "renewal_other_person") => "renouvellement pour une autre personne",
        (_, "out_of_scope") => "hors du périmètre",
        (_, "not_own_entry") => "entrée d'une autre personne",
        (_, "not_own_mandate") => "mandat d'une autre personne",
        (_, "revoked_by_person") => "révoqué par la personne",
        (_, "retention") => "durée de conservation écoulée",
        (_, "consent_refused") => "mandat refusé",
        (_, "replaced") => "remplacé",
        (_, "aide") => "espace de la personne accompagnée",
        (_, "jsonl") => "JSON Lines",
        (_, "csv") => "CSV",
        (_, "national") => "national",
        (_, "active") => "actif",
        (_, "expired") => "expiré",
        (_, "revoked") => "révoqué",
        (_, "restored") => "rétabli avec la personne",
        ("confirmation", "report") => "signalement de la personne, clos par le référent",
        (_, "each_use") => "à chaque utilisation",
        (_, "weekly") => "un résumé par semaine",
        (_, "never") => "jamais",
        (_, "mandate_created") => "création du mandat",
        (_, "demarche_revoked") => "révocation d'une démarche",
        (_, "mandate_revoked") => "révocation du mandat",
        (_, "delegated_use") => "utilisation du mandat",
        (_, "expiry_reminder") => "rappel de fin du mandat",
        (_, "superseded") => "remplacé par un nouveau mandat",
        (_, "female") => "féminin",
        (_, "male") => "masculin",
        (_, "bibliotheque") => "bibliothèque",
        (_, "centre_social") => "centre social",
        (_, "france_services") => "France services",
        (_, "secretariat_mairie") => "secrétariat de mairie",
        (_, "association") => "association",
        (_, "autre") => "autre",
        _ => return None,
    })
}

/// A detail's key as a person reads it: its French name, else the key as it is (an entry
/// written by a newer version).
pub(crate) fn detail_key_words(key: &str) -> String {
    detail_key(key).map_or_else(|| key.to_owned(), str::to_owned)
}

/// The CSV export in words for the people entitled to it (the JSON-lines export keeps the
/// stable codes): this table's words, the names the export looked up.
pub(crate) struct CsvInWords;

impl ac_storage::console::export::CsvWords for CsvInWords {
    fn action(&self, code: &str) -> String {
        action_code(code)
    }
    fn actor(
        &self,
        kind: &str,
        id: Option<&str>,
        aidant: Option<&str>,
        partner: Option<&str>,
    ) -> String {
        actor(
            kind,
            id,
            |_| aidant.map(str::to_owned),
            |_| partner.map(str::to_owned),
        )
    }
    fn actor_kind(&self, kind: &str) -> String {
        actor_kind(kind).to_owned()
    }
    fn detail_key(&self, key: &str) -> String {
        detail_key_words(key)
    }
    fn detail_value(&self, key: &str, value: &str) -> String {
        detail_value(key, value)
    }
    fn demarche(&self, key: &str) -> String {
        key.parse::<ac_mandates::Demarche>()
            .map_or_else(|_| key.to_owned(), |d| d.title().to_owned())
    }
    fn names(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_french_words() {
        for a in Action::ALL {
            assert_ne!(action(*a), a.as_str(), "{a:?} has no French label");
        }
    }

    /// Every detail key the service writes (`.detail("…"` anywhere in the workspace's
    /// sources) has a French name.
    #[test]
    fn every_detail_key_written_has_a_french_name() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut missing = Vec::new();
        let mut seen = 0;
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("labels.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for part in text.split(".detail(").skip(1) {
                        let part = part.trim_start();
                        let Some(rest) = part.strip_prefix('"') else {
                            continue;
                        };
                        let key = &rest[..rest.find('"').unwrap()];
                        seen += 1;
                        if detail_key(key).is_none() {
                            missing.push(format!("{key} ({})", path.display()));
                        }
                    }
                }
            }
        }
        assert!(seen > 50, "the sources were read");
        assert!(
            missing.is_empty(),
            "detail keys without a French name: {missing:?}"
        );
    }

    /// Every value the service writes as a literal (`.detail("key", "value")`, on one line or
    /// several) and every code its enums write, reads as words.
    #[test]
    fn every_detail_value_written_has_words() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut pairs = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("labels.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for part in text.split(".detail(").skip(1) {
                        let literals: Vec<&str> = part
                            .split(')')
                            .next()
                            .unwrap()
                            .split(',')
                            .map(str::trim)
                            .collect();
                        if let [key, value] = literals[..]
                            && let (Some(key), Some(value)) = (
                                key.strip_prefix('"').and_then(|k| k.strip_suffix('"')),
                                value.strip_prefix('"').and_then(|v| v.strip_suffix('"')),
                            )
                        {
                            pairs.push((key.to_owned(), value.to_owned()));
                        }
                    }
                }
            }
        }
        assert!(pairs.len() > 15, "the sources were read: {pairs:?}");
        // The codes written through a variable: session ends, code checks, sign-in failures,
        // refusals, identifications, key states, structure kinds.
        for value in [
            "logout",
            "idle_timeout",
            "lifetime_expired",
            "aidant_deactivated",
            "device_locked",
            "accepted",
            "wrong_code",
            "replayed_code",
            "no_device",
            "used_link",
            "expired_link",
            "recap",
            "identification",
            "franceconnect",
            "not_required",
            "current",
            "next",
            "retired",
            "usager_self",
            "usager_on_screen",
            "not_recorded",
            "bibliotheque",
            "passed",
            "skipped",
        ] {
            let key = match value {
                "recap" | "identification" => "step",
                "franceconnect" | "not_required" => "identification",
                "current" | "next" | "retired" => "state",
                "passed" | "skipped" => "comprehension",
                _ => "reason",
            };
            pairs.push((key.to_owned(), value.to_owned()));
        }
        let missing: Vec<_> = pairs
            .iter()
            .filter(|(k, v)| detail_value(k, v) == *v)
            .collect();
        assert!(
            missing.is_empty(),
            "detail values without words: {missing:?}"
        );
        let title = |k: &str| k.parse::<ac_mandates::Demarche>().unwrap().title();
        assert_eq!(
            detail_value("demarches", "social,argent"),
            format!("{}, {}", title("social"), title("argent"))
        );
        assert_eq!(detail_value("expires_at", "2027-03-01"), "2027-03-01");
    }

    #[test]
    fn actors_are_words() {
        let none = |_: &str| None;
        assert_eq!(
            actor("system", Some("cli"), none, none),
            "Administration du service (ligne de commande)"
        );
        assert_eq!(
            actor("client", Some("impots"), none, |_| Some("Impôts".into())),
            "Site partenaire « Impôts »"
        );
        assert_eq!(
            actor(
                "aidant",
                Some("a1"),
                |_| Some("Camille Martin".into()),
                none
            ),
            "Camille Martin"
        );
    }
}
