//! Anomaly flags over a scope's delegated uses: configurable rules (`[anomalies]` in the
//! configuration), each flag pointing at the entries behind it.
//!
//! The rules read only the scope's own entries: a département coordinator is never told that a
//! usager was also helped in another département (the national coordinator sees that).

use ac_localtime::{LocalTimes, OpeningHours};
use ac_mandates::{Organisation, OrganisationId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use super::journal::{JournalFilter, Stream};
use super::{Scope, USE_ACTION};
use crate::DbConnection;
use crate::error::StorageError;

/// How many flags of each rule are listed (the counts stay exact).
pub const MAX_LISTED: usize = 200;

/// The rules and their thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// How far back the rules look.
    pub lookback: Duration,
    pub opening_hours: OpeningHours,
    /// An aidant is flagged when their uses exceed this percentage of their structure's median…
    pub median_percent: u32,
    /// …and at least this many.
    pub min_uses: u32,
    /// A usager is flagged when mandates of at least this many structures were used…
    pub same_usager_structures: usize,
    /// …within this window.
    pub same_usager_window: Duration,
}

/// A use outside its structure's opening hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideHours {
    pub seq: i64,
    pub at: OffsetDateTime,
    pub local: PrimitiveDateTime,
    pub organisation: OrganisationId,
    pub aidant: Option<String>,
}

/// An aidant far above their structure's median.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AboveMedian {
    pub organisation: OrganisationId,
    pub aidant: String,
    pub uses: i64,
    /// The structure's median, in halves (medians of even counts end in .5).
    pub median_halves: i64,
    /// The aidant's most recent use, to link to.
    pub last_seq: i64,
}

/// Mandates of one usager used by several structures within the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SameUsager {
    pub usager: String,
    pub structures: BTreeSet<OrganisationId>,
    /// The uses involved (at most 20 listed).
    pub seqs: Vec<i64>,
    pub first_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomalies {
    pub since: OffsetDateTime,
    pub uses_examined: u64,
    pub outside_hours: Vec<OutsideHours>,
    pub outside_hours_total: usize,
    pub above_median: Vec<AboveMedian>,
    pub same_usager: Vec<SameUsager>,
    pub same_usager_total: usize,
}

/// Runs every rule over the scope's uses since `now - lookback`, in one forward pass over the
/// journal (a bounded amount of state per structure, aidant and usager; the entries themselves
/// are not kept).
pub fn detect(
    conn: &mut DbConnection,
    scope: &Scope,
    rules: &Rules,
    times: &LocalTimes,
    now: OffsetDateTime,
) -> Result<Anomalies, StorageError> {
    let since = now - rules.lookback;
    let structures: BTreeMap<String, Organisation> = scope
        .organisations(conn)?
        .into_iter()
        .map(|o| (o.id.as_str().to_owned(), o))
        .collect();
    let filter = JournalFilter {
        action: Some(USE_ACTION),
        from: Some(since),
        ..JournalFilter::default()
    };
    let mut stream = Stream::forwards(scope, &filter, None);
    let mut found = Anomalies {
        since,
        uses_examined: 0,
        outside_hours: Vec::new(),
        outside_hours_total: 0,
        above_median: Vec::new(),
        same_usager: Vec::new(),
        same_usager_total: 0,
    };
    // (structure, aidant) -> (uses, last seq)
    let mut per_aidant: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    // usager -> recent uses (at, structure, seq), oldest first
    let mut recent: BTreeMap<String, VecDeque<(OffsetDateTime, String, i64)>> = BTreeMap::new();
    // usager -> index of their open flag in `found.same_usager`
    let mut flagged: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(row) = stream.next(conn)? {
        let Some(org_id) = row.organisation_id.clone() else {
            continue;
        };
        let Some(organisation) = structures.get(&org_id) else {
            continue;
        };
        found.uses_examined += 1;
        let at = row.at();
        let departement = organisation.departement.as_str();
        if !rules
            .opening_hours
            .is_open(times, departement, organisation.id.as_str(), at)
        {
            found.outside_hours_total += 1;
            if found.outside_hours.len() < MAX_LISTED {
                found.outside_hours.push(OutsideHours {
                    seq: row.seq,
                    at,
                    local: {
                        let local = times.local(departement, at);
                        PrimitiveDateTime::new(local.date(), local.time())
                    },
                    organisation: organisation.id.clone(),
                    aidant: row.actor_id.clone(),
                });
            }
        }
        if let Some(aidant) = &row.actor_id {
            let counter = per_aidant
                .entry((org_id.clone(), aidant.clone()))
                .or_insert((0, row.seq));
            counter.0 += 1;
            counter.1 = row.seq;
        }
        if let Some(usager) = &row.usager {
            let window = recent.entry(usager.clone()).or_default();
            while window
                .front()
                .is_some_and(|(t, _, _)| *t <= at - rules.same_usager_window)
            {
                window.pop_front();
            }
            window.push_back((at, org_id.clone(), row.seq));
            let orgs: BTreeSet<&String> = window.iter().map(|(_, o, _)| o).collect();
            if orgs.len() >= rules.same_usager_structures {
                match flagged
                    .get(usager)
                    .and_then(|i| found.same_usager.get_mut(*i))
                {
                    // The same episode goes on: extend its flag.
                    Some(flag)
                        if flag
                            .seqs
                            .last()
                            .is_some_and(|s| window.iter().any(|(_, _, seq)| seq == s)) =>
                    {
                        for (_, o, seq) in window.iter() {
                            flag.structures.insert(OrganisationId::new(o.clone()));
                            if !flag.seqs.contains(seq) && flag.seqs.len() < 20 {
                                flag.seqs.push(*seq);
                            }
                        }
                    }
                    _ => {
                        found.same_usager_total += 1;
                        if found.same_usager.len() < MAX_LISTED {
                            flagged.insert(usager.clone(), found.same_usager.len());
                            found.same_usager.push(SameUsager {
                                usager: usager.clone(),
                                structures: window
                                    .iter()
                                    .map(|(_, o, _)| OrganisationId::new(o.clone()))
                                    .collect(),
                                seqs: window.iter().map(|(_, _, s)| *s).take(20).collect(),
                                first_at: window.front().map_or(at, |(t, _, _)| *t),
                            });
                        }
                    }
                }
            }
        }
    }
    found.above_median = above_median(conn, &structures, &per_aidant, rules)?;
    Ok(found)
}

/// Compares each aidant's uses with the median of their structure's habilitated active
/// aidants (those who did not act count as zero, so one busy aidant in a quiet team stands out).
fn above_median(
    conn: &mut DbConnection,
    structures: &BTreeMap<String, Organisation>,
    per_aidant: &BTreeMap<(String, String), (i64, i64)>,
    rules: &Rules,
) -> Result<Vec<AboveMedian>, StorageError> {
    use crate::schema::{aidant_organisations, aidants};
    use diesel::prelude::*;
    let ids: Vec<&String> = structures.keys().collect();
    let team: Vec<(String, String)> = aidant_organisations::table
        .inner_join(aidants::table)
        .filter(aidant_organisations::organisation_id.eq_any(ids))
        .filter(aidants::is_active.eq(true))
        .filter(aidants::can_create_mandates.eq(true))
        .select((aidant_organisations::organisation_id, aidants::id))
        .load(conn)?;
    let mut counts: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    for (org, aidant) in &team {
        counts
            .entry(org.as_str())
            .or_default()
            .insert(aidant.as_str(), 0);
    }
    for ((org, aidant), (uses, _)) in per_aidant {
        counts
            .entry(org.as_str())
            .or_default()
            .insert(aidant.as_str(), *uses);
    }
    let mut flags = Vec::new();
    for (org, by_aidant) in &counts {
        let mut sorted: Vec<i64> = by_aidant.values().copied().collect();
        sorted.sort_unstable();
        let n = sorted.len();
        let median_halves = match (sorted.get(n / 2), n % 2) {
            (Some(m), 1) => 2 * m,
            (Some(hi), _) => sorted.get(n / 2 - 1).map_or(2 * hi, |lo| lo + hi),
            (None, _) => 0,
        };
        for (aidant, uses) in by_aidant {
            // uses > percent% × median, in integers: 200 × uses > percent × median_halves.
            let far_above = 200 * uses > i64::from(rules.median_percent) * median_halves;
            if *uses >= i64::from(rules.min_uses) && far_above {
                let last_seq = per_aidant
                    .get(&((*org).to_owned(), (*aidant).to_owned()))
                    .map_or(0, |(_, s)| *s);
                flags.push(AboveMedian {
                    organisation: OrganisationId::new(*org),
                    aidant: (*aidant).to_owned(),
                    uses: *uses,
                    median_halves,
                    last_seq,
                });
            }
        }
    }
    flags.sort_by_key(|f| std::cmp::Reverse(f.uses));
    flags.truncate(MAX_LISTED);
    Ok(flags)
}
