//! Statuses as people read them: the words, and the DSFR badge tone that only repeats them
//! (never colour alone, WCAG 1.4.1). One place, so a mandate reads the same on every page.

use ac_mandates::{Authorization, MandateStatus};
use serde::Serialize;
use time::OffsetDateTime;

/// A status for `macros.html`'s `badge`: `tone` is a DSFR badge modifier, empty for grey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Badge {
    pub label: &'static str,
    pub tone: &'static str,
}

/// A mandate's status: actif (green), expire bientôt (orange), expiré (grey), révoqué (red).
pub(crate) fn mandate(status: MandateStatus) -> Badge {
    let tone = match status {
        MandateStatus::Active {
            expiring_soon: false,
        } => "success",
        MandateStatus::Active {
            expiring_soon: true,
        } => "warning",
        MandateStatus::Expired => "",
        MandateStatus::Revoked => "error",
    };
    Badge {
        label: status.label(),
        tone,
    }
}

/// One démarche of a mandate at `now` (in the words the pages and the public verification have
/// always used), and whether it is still in force (it may be revoked).
pub(crate) fn authorization(a: &Authorization, now: OffsetDateTime) -> (Badge, bool) {
    if a.is_revoked_at(now) {
        (
            Badge {
                label: "révoquée",
                tone: "error",
            },
            false,
        )
    } else if a.is_expired_at(now) {
        (
            Badge {
                label: "expirée",
                tone: "",
            },
            false,
        )
    } else {
        (
            Badge {
                label: "en cours",
                tone: "success",
            },
            true,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mandate_status_has_its_own_tone() {
        let tones: Vec<&str> = [
            MandateStatus::Active {
                expiring_soon: false,
            },
            MandateStatus::Active {
                expiring_soon: true,
            },
            MandateStatus::Expired,
            MandateStatus::Revoked,
        ]
        .into_iter()
        .map(|s| mandate(s).tone)
        .collect();
        assert_eq!(tones, ["success", "warning", "", "error"]);
        assert_eq!(mandate(MandateStatus::Revoked).label, "Révoqué");
    }
}
