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
        "usager.deleted" => "Identité supprimée (durée de conservation écoulée)",
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
