//! What happened, and who did it, as stable string codes.
//!
//! The codes are inside hashed entries: once an entry holds one, it must parse forever. Add
//! codes; never rename or remove one.

use std::fmt;
use std::str::FromStr;

use crate::AuditError;

/// Declares a fieldless enum whose variants each map to one stable code.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $field:literal {
            $($(#[$vmeta:meta])* $variant:ident => $code:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The stable code written in entries.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = AuditError;

            fn from_str(code: &str) -> Result<Self, AuditError> {
                match code {
                    $($code => Ok(Self::$variant),)+
                    _ => Err(AuditError::InvalidEntry {
                        field: $field,
                        reason: "unknown code",
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

coded_enum! {
    /// What happened.
    Action, "action" {
        SigninSucceeded => "auth.signin.succeeded",
        SigninFailed => "auth.signin.failed",
        /// A sign-in link was sent by email.
        LinkRequested => "auth.link.requested",
        StepUpSucceeded => "auth.stepup.succeeded",
        StepUpFailed => "auth.stepup.failed",
        SignedOut => "auth.signout",
        /// The aidant now acts for another of their organisations.
        StructureSwitched => "auth.structure.switched",
        TotpLocked => "auth.totp.locked",
        TotpUnlocked => "auth.totp.unlocked",
        /// The usager was identified through FranceConnect.
        UsagerIdentified => "usager.identified",
        UsagerIdentityUpdated => "usager.identity_updated",
        MandateCreated => "mandate.created",
        MandateRenewed => "mandate.renewed",
        MandateRevoked => "mandate.revoked",
        /// A mandate from before verification codes got one, when first printed.
        MandateVerificationCodeCreated => "mandate.verification_code_created",
        AuthorizationCreated => "authorization.created",
        AuthorizationSuperseded => "authorization.superseded",
        AuthorizationRevoked => "authorization.revoked",
        /// Delegated use started: an authorization code was issued to a website.
        DelegationStarted => "delegation.started",
        /// Delegated use completed: userinfo was served.
        DelegationCompleted => "delegation.completed",
        DelegationRefused => "delegation.refused",
        /// The website exchanged the code for an access token and an id_token.
        DelegationTokenIssued => "delegation.token_issued",
        OidcClientCreated => "oidc_client.created",
        OidcClientUpdated => "oidc_client.updated",
        SigningKeyCreated => "signing_key.created",
        SigningKeyRotated => "signing_key.rotated",
        OrganisationCreated => "organisation.created",
        OrganisationUpdated => "organisation.updated",
        OrganisationAllowedDemarchesChanged => "organisation.allowed_demarches_changed",
        AidantCreated => "aidant.created",
        AidantUpdated => "aidant.updated",
        AidantDeactivated => "aidant.deactivated",
        TotpDeviceAdded => "totp_device.added",
        TotpDeviceRemoved => "totp_device.removed",
        ExportMade => "export.made",
        /// An export journaled as made broke off: what it delivered, and why.
        ExportInterrupted => "export.interrupted",
        CheckpointSigned => "checkpoint.signed",
        AccessDenied => "access.denied",
        /// A mandate and its authorizations, deleted at the end of their retention period.
        MandateDeleted => "mandate.deleted",
        /// A person's identity, deleted once no mandate of theirs is kept any more.
        UsagerDeleted => "usager.deleted",
        /// The aidé refused (or the aidant cancelled) a mandate being created: nothing was
        /// created, and an identity fetched only for it was forgotten.
        MandateRefused => "mandate.refused",
        /// Journal entries older than their retention period lost their payload (counts only).
        JournalRedacted => "journal.redacted",
        /// A retention run ended: what it did, by category (counts only).
        RetentionRun => "retention.run",
        /// The aidé chose how they are told of what is done in their name (each use, a weekly
        /// digest, never), and where (the address is never journaled).
        NotificationsChanged => "usager.notifications_changed",
        /// The aidé reported a receipt (« Ce n'était pas moi »): what it names is suspended.
        ReportOpened => "report.opened",
        /// The structure's référent closed a report, by revoking or by restoring.
        ReportClosed => "report.closed",
        /// Consent at a distance: a single-use link was sent to the person (by SMS or e-mail;
        /// the number or address is never journaled).
        RemoteConsentSent => "remote_consent.sent",
        /// The person gave their consent on their own phone; the aidant's TOTP confirmation
        /// (then `mandate.created`) is still to come.
        RemoteConsentGiven => "remote_consent.given",
        /// A remote consent ran out: its link unused in time, or the aidant's confirmation late.
        RemoteConsentExpired => "remote_consent.expired",
    }
}

coded_enum! {
    /// Who acted.
    ActorKind, "actor.kind" {
        Aidant => "aidant",
        Usager => "usager",
        /// An OIDC client (website).
        Client => "client",
        /// The service itself: the integrator, a scheduled job, the CLI.
        System => "system",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn action_codes_round_trip_and_are_unique() {
        let codes: BTreeSet<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(codes.len(), Action::ALL.len());
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
            assert_eq!(a.to_string(), a.as_str());
            // Dotted lower-case codes: safe in JSON, URLs and log queries.
            assert!(
                a.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "{a}"
            );
        }
    }

    #[test]
    fn required_actions_exist() {
        for code in [
            "auth.signin.succeeded",
            "auth.signin.failed",
            "auth.link.requested",
            "auth.stepup.succeeded",
            "auth.stepup.failed",
            "auth.signout",
            "auth.structure.switched",
            "auth.totp.locked",
            "auth.totp.unlocked",
            "usager.identified",
            "usager.identity_updated",
            "mandate.created",
            "mandate.renewed",
            "mandate.revoked",
            "authorization.created",
            "authorization.superseded",
            "authorization.revoked",
            "delegation.started",
            "delegation.completed",
            "delegation.refused",
            "oidc_client.created",
            "oidc_client.updated",
            "signing_key.created",
            "signing_key.rotated",
            "organisation.created",
            "organisation.updated",
            "organisation.allowed_demarches_changed",
            "aidant.created",
            "aidant.updated",
            "aidant.deactivated",
            "totp_device.added",
            "totp_device.removed",
            "export.made",
            "checkpoint.signed",
            "access.denied",
        ] {
            assert!(code.parse::<Action>().is_ok(), "{code}");
        }
    }

    #[test]
    fn unknown_codes_are_rejected() {
        for bad in ["", "mandate", "Mandate.Created", "mandate.created ", "x.y"] {
            assert_eq!(
                bad.parse::<Action>().unwrap_err().code(),
                "AUD001",
                "{bad:?}"
            );
        }
        assert!("admin".parse::<ActorKind>().is_err());
        for k in ActorKind::ALL {
            assert_eq!(k.as_str().parse::<ActorKind>().unwrap(), *k);
        }
    }
}
