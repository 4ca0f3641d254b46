//! Time rules of a signed-in session. Pure: the caller passes `now`.

use time::{Duration, OffsetDateTime};

/// How long things live; read from `[auth]` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// A sign-in link is valid this long after it is sent (5 minutes in docs/domain.md, "Journeys" 1).
    pub link_ttl: Duration,
    /// Between opening the link and typing the TOTP code.
    pub totp_stage_ttl: Duration,
    /// A session unused this long is over.
    pub idle_timeout: Duration,
    /// A session is over this long after sign-in, however active.
    pub max_lifetime: Duration,
    /// Without audited activity for this long, the TOTP is asked again (15 minutes).
    pub step_up_after: Duration,
    /// Consecutive wrong codes that lock a device (10).
    pub lockout_failures: i32,
}

/// The instants a session's state depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    /// Sign-in, the last step-up, or the last audited action, whichever is latest.
    pub last_activity_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Active,
    /// Valid, but the TOTP must be typed again before anything else.
    NeedsStepUp,
    IdleExpired,
    LifetimeExpired,
}

/// `last_seen_at` is written at most this often, so reading pages does not cost a write each.
/// The idle timeout is therefore precise to this much.
pub const LAST_SEEN_GRANULARITY: Duration = Duration::minutes(1);

impl Policy {
    pub fn session_state(&self, times: &SessionTimes, now: OffsetDateTime) -> SessionState {
        if now >= times.created_at + self.max_lifetime {
            SessionState::LifetimeExpired
        } else if now >= times.last_seen_at + self.idle_timeout {
            SessionState::IdleExpired
        } else if now >= times.last_activity_at + self.step_up_after {
            SessionState::NeedsStepUp
        } else {
            SessionState::Active
        }
    }

    /// Whether `last_seen_at` is old enough to be worth rewriting.
    pub fn should_touch(&self, last_seen_at: OffsetDateTime, now: OffsetDateTime) -> bool {
        now >= last_seen_at + LAST_SEEN_GRANULARITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const POLICY: Policy = Policy {
        link_ttl: Duration::minutes(5),
        totp_stage_ttl: Duration::minutes(5),
        idle_timeout: Duration::minutes(30),
        max_lifetime: Duration::hours(10),
        step_up_after: Duration::minutes(15),
        lockout_failures: 10,
    };
    const T0: OffsetDateTime = datetime!(2026-11-22 09:00 UTC);

    fn fresh() -> SessionTimes {
        SessionTimes {
            created_at: T0,
            last_seen_at: T0,
            last_activity_at: T0,
        }
    }

    #[test]
    fn states_over_time() {
        let s = fresh();
        assert_eq!(POLICY.session_state(&s, T0), SessionState::Active);
        assert_eq!(
            POLICY.session_state(&s, T0 + Duration::minutes(14)),
            SessionState::Active
        );
        assert_eq!(
            POLICY.session_state(&s, T0 + Duration::minutes(15)),
            SessionState::NeedsStepUp
        );
        assert_eq!(
            POLICY.session_state(&s, T0 + Duration::minutes(30)),
            SessionState::IdleExpired
        );
        let busy = SessionTimes {
            last_seen_at: T0 + Duration::hours(9) + Duration::minutes(59),
            last_activity_at: T0 + Duration::hours(9) + Duration::minutes(59),
            ..s
        };
        assert_eq!(
            POLICY.session_state(&busy, T0 + Duration::hours(10)),
            SessionState::LifetimeExpired
        );
    }

    proptest! {
        #[test]
        fn nothing_survives_the_absolute_lifetime(
            seen in 0i64..36_000, active in 0i64..36_000, after in 0i64..100_000,
        ) {
            let times = SessionTimes {
                created_at: T0,
                last_seen_at: T0 + Duration::seconds(seen),
                last_activity_at: T0 + Duration::seconds(active.min(seen)),
            };
            let now = T0 + POLICY.max_lifetime + Duration::seconds(after);
            prop_assert_eq!(POLICY.session_state(&times, now), SessionState::LifetimeExpired);
        }

        #[test]
        fn active_means_recently_seen_and_recently_stepped_up(
            seen in 0i64..36_000, active in 0i64..36_000, now in 0i64..36_000,
        ) {
            let times = SessionTimes {
                created_at: T0,
                last_seen_at: T0 + Duration::seconds(seen),
                last_activity_at: T0 + Duration::seconds(active),
            };
            let now = T0 + Duration::seconds(now);
            if POLICY.session_state(&times, now) == SessionState::Active {
                prop_assert!(now < times.last_seen_at + POLICY.idle_timeout);
                prop_assert!(now < times.last_activity_at + POLICY.step_up_after);
            }
        }
    }
}
