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
        "legal_text_version" => "Version du texte légal",
        "limit" => "Limite",
        "mandate" => "Mandat",
        "mandates" => "Mandats",
        "next" => "Clé suivante",
        "organisations" => "Structures",
        "outcome" => "Résultat",
        "page" => "Page",
        "reason" => "Motif",
        "redirect_uris" => "Adresses de retour",
        "referent_of" => "Référent de",
        "renewal_of" => "Renouvelle le mandat",
        "renewal_requires_identification" => "Renouvellement avec FranceConnect",
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
        "to" => "Jusqu'à",
        "unused_identities" => "Identités inutilisées",
        "up_to_seq" => "Jusqu'à l'entrée",
        "userinfo" => "Informations utilisateur",
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
