//! Dates and instants as a person reads them, in the local time of the structure concerned
//! (`ac_localtime`): the consoles, the usagers' pages and anything else that shows one.

use time::OffsetDateTime;
use time::macros::format_description;

/// "22/11/2026 10:00:00": an instant as a person of the structure reads it, in its
/// département's local time (metropolitan time when no structure is concerned).
pub(crate) fn datetime(
    times: &ac_localtime::LocalTimes,
    departement: Option<&str>,
    at: OffsetDateTime,
) -> String {
    times.format_in(departement, at, ac_localtime::Format::Seconds)
}

/// When a journal entry happened, in the local time of the structure it is filed under.
pub(crate) fn entry_time(
    times: &ac_localtime::LocalTimes,
    names: &ac_storage::console::Names,
    row: &ac_storage::console::journal::JournalRow,
) -> String {
    let departement = row
        .organisation_id
        .as_deref()
        .and_then(|o| names.departements.get(o))
        .map(String::as_str);
    datetime(times, departement, row.at())
}

pub(crate) fn date(at: time::Date) -> String {
    at.format(format_description!("[day]/[month]/[year]"))
        .unwrap_or_default()
}
