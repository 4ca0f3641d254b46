//! Streamed exports of a scope's journal, in CSV or JSON lines.
//!
//! An export is journaled (`export.made`, with its filter) *before* its first byte leaves, in
//! its own transaction: no journal entry, no export. It covers the entries integrated at that
//! moment (`seq` below the log size then), so the entry says exactly what was exported, and it
//! is read in batches: the result is never held in memory whole.

use ac_audit::Action;
use ac_mandates::OrganisationId;
use diesel::{QueryDsl, RunQueryDsl};
use std::io::Write;
use time::OffsetDateTime;

use super::Scope;
use super::journal::{JournalFilter, JournalRow, Stream, log_size};
use crate::error::StorageError;
use crate::journal::{self, AuditContext, Event};
use crate::{DbConnection, write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Semicolon-separated (the separator French spreadsheets expect), UTF-8 with a byte order
    /// mark so they read the accents right, CRLF line ends, formula-like cells neutralised.
    Csv,
    /// One canonical entry per line, exactly as hashed: each line can be checked against the
    /// log's leaf hashes and inclusion proofs.
    JsonLines,
}

impl Format {
    pub fn key(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }
}

/// An export that has been journaled and may now be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Entries with `seq` below this are exported.
    pub up_to: i64,
}

/// Journals the export with its filter and fixes what it covers.
pub fn begin(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &JournalFilter,
    format: Format,
    filed_under: &OrganisationId,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<Ticket, StorageError> {
    write(conn, |tx| {
        let up_to = log_size(tx)?;
        let mut event = Event::new(Action::ExportMade)
            .organisation(filter.organisation.as_ref().unwrap_or(filed_under))
            .detail("format", format.key())
            .detail("up_to_seq", up_to)
            .detail(
                "scope",
                match scope {
                    Scope::All => "national".to_owned(),
                    Scope::Organisations(set) => format!("{} structure(s)", set.len()),
                },
            );
        if let Some(o) = &filter.organisation {
            event = event.detail("filter_structure", o);
        }
        if let Some(a) = &filter.aidant {
            event = event.detail("filter_aidant", a);
        }
        match filter.usagers.as_deref() {
            Some([one]) => event = event.usager(one),
            Some(many) => event = event.detail("filter_usagers", many.len()),
            None => {}
        }
        if let Some(a) = filter.action {
            event = event.detail("filter_action", a);
        }
        if let Some(d) = filter.demarche {
            event = event.demarche(d);
        }
        if let Some(c) = &filter.client_id {
            event = event.client(c);
        }
        if let Some(from) = filter.from {
            event = event.detail("filter_from", from.unix_timestamp());
        }
        if let Some(to) = filter.to {
            event = event.detail("filter_to", to.unix_timestamp());
        }
        journal::record(tx, context, event, now)?;
        Ok(Ticket { up_to })
    })
}

/// Journals that an export begun by [`begin`] broke off, with what it had delivered: the
/// `export.made` entry says what was asked for, this one that it did not all leave.
#[allow(clippy::too_many_arguments)] // one entry's facts, each a plain value
pub fn interrupted(
    conn: &mut DbConnection,
    filed_under: &OrganisationId,
    format: Format,
    ticket: &Ticket,
    bytes_sent: u64,
    reason: &str,
    context: &AuditContext,
    now: OffsetDateTime,
) -> Result<(), StorageError> {
    write(conn, |tx| {
        let event = Event::new(Action::ExportInterrupted)
            .organisation(filed_under)
            .detail("format", format.key())
            .detail("up_to_seq", ticket.up_to)
            .detail("bytes_sent", bytes_sent)
            .detail("reason", reason);
        journal::record(tx, context, event, now)
    })
}

/// The CSV header, in French.
pub const CSV_HEADER: [&str; 12] = [
    "numéro",
    "horodatage (heure locale de la structure)",
    "action",
    "type d'acteur",
    "acteur",
    "structure",
    "usager (pseudonyme)",
    "démarche",
    "site partenaire",
    "objet",
    "requête",
    "détails",
];

/// How the CSV reads for the people entitled to it: French words for the journal's codes. The
/// web layer holds the one table of labels (`console/labels.rs`) and passes it here; with
/// [`Codes`] the cells keep the stable codes and ids (the JSON-lines export always does).
pub trait CsvWords {
    fn action(&self, code: &str) -> String;
    /// `aidant` and `partner` are the names found for the actor's id, if any.
    fn actor(
        &self,
        kind: &str,
        id: Option<&str>,
        aidant: Option<&str>,
        partner: Option<&str>,
    ) -> String;
    fn actor_kind(&self, kind: &str) -> String;
    fn detail_key(&self, key: &str) -> String;
    fn detail_value(&self, key: &str, value: &str) -> String;
    fn demarche(&self, key: &str) -> String;
    /// Whether ids become names (structures, partner sites).
    fn names(&self) -> bool;
}

/// The stable codes and ids, as the journal stores them.
pub struct Codes;

impl CsvWords for Codes {
    fn action(&self, code: &str) -> String {
        code.to_owned()
    }
    fn actor(&self, _: &str, id: Option<&str>, _: Option<&str>, _: Option<&str>) -> String {
        id.unwrap_or_default().to_owned()
    }
    fn actor_kind(&self, kind: &str) -> String {
        kind.to_owned()
    }
    fn detail_key(&self, key: &str) -> String {
        key.to_owned()
    }
    fn detail_value(&self, _: &str, value: &str) -> String {
        value.to_owned()
    }
    fn demarche(&self, key: &str) -> String {
        key.to_owned()
    }
    fn names(&self) -> bool {
        false
    }
}

/// Writes the export with the stable codes; returns how many entries.
pub fn write_to(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &JournalFilter,
    format: Format,
    ticket: &Ticket,
    times: &ac_localtime::LocalTimes,
    out: &mut dyn Write,
) -> Result<u64, StorageError> {
    write_in_words(conn, scope, filter, format, ticket, times, &Codes, out)
}

/// The names a CSV row may show instead of ids.
#[derive(Default)]
struct CsvNames {
    /// Structure id -> (name, département).
    organisations: std::collections::BTreeMap<String, (String, String)>,
    aidants: std::collections::BTreeMap<String, String>,
    partners: std::collections::BTreeMap<String, String>,
}

fn csv_names(conn: &mut DbConnection, with_names: bool) -> Result<CsvNames, StorageError> {
    use crate::schema::{aidants, oidc_clients, organisations};
    let mut names = CsvNames {
        organisations: organisations::table
            .select((
                organisations::id,
                organisations::name,
                organisations::departement,
            ))
            .load::<(String, String, String)>(conn)?
            .into_iter()
            .map(|(id, name, departement)| (id, (name, departement)))
            .collect(),
        ..CsvNames::default()
    };
    if with_names {
        names.aidants = aidants::table
            .select((aidants::id, aidants::first_name, aidants::last_name))
            .load::<(String, String, String)>(conn)?
            .into_iter()
            .map(|(id, first, last)| (id, format!("{first} {last}")))
            .collect();
        names.partners = oidc_clients::table
            .select((oidc_clients::id, oidc_clients::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
    }
    Ok(names)
}

/// Writes the export, its CSV cells in `words`; returns how many entries. Stops at the first
/// write error (a client that went away).
#[allow(clippy::too_many_arguments)] // the export's facts, each a plain value
pub fn write_in_words(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &JournalFilter,
    format: Format,
    ticket: &Ticket,
    times: &ac_localtime::LocalTimes,
    words: &dyn CsvWords,
    out: &mut dyn Write,
) -> Result<u64, StorageError> {
    // Each row's time is written in its structure's local time, with the offset (ISO 8601).
    let names = if format == Format::Csv {
        csv_names(conn, words.names())?
    } else {
        CsvNames::default()
    };
    let mut stream = Stream::forwards(scope, filter, Some(ticket.up_to));
    if format == Format::Csv {
        out.write_all("\u{feff}".as_bytes())?;
        write_csv_record(out, CSV_HEADER.iter().copied())?;
    }
    let mut count = 0;
    while let Some(row) = stream.next(conn)? {
        match format {
            Format::JsonLines => {
                out.write_all(row.entry.as_bytes())?;
                out.write_all(b"\n")?;
            }
            Format::Csv => write_csv_row(out, &row, times, &names, words)?,
        }
        count += 1;
    }
    out.flush()?;
    Ok(count)
}

fn write_csv_row(
    out: &mut dyn Write,
    row: &JournalRow,
    times: &ac_localtime::LocalTimes,
    names: &CsvNames,
    words: &dyn CsvWords,
) -> Result<(), StorageError> {
    let entry = row.entry()?;
    let organisation = row
        .organisation_id
        .as_deref()
        .and_then(|o| names.organisations.get(o));
    let departement = organisation.map(|(_, d)| d.as_str());
    let at = times.format_in(departement, row.at(), ac_localtime::Format::Iso);
    let details: std::collections::BTreeMap<String, String> = entry
        .details
        .iter()
        .map(|(k, v)| (words.detail_key(k), words.detail_value(k, v)))
        .collect();
    let details = serde_json::to_string(&details)
        .map_err(|e| StorageError::Corrupt(format!("details: {e}")))?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let named = |id: &Option<String>, found: Option<&String>| match found {
        Some(name) if words.names() => name.clone(),
        _ => opt(id),
    };
    let actor_id = row.actor_id.as_deref();
    let cells = [
        row.seq.to_string(),
        at,
        words.action(&row.action),
        words.actor_kind(&row.actor_kind),
        words.actor(
            &row.actor_kind,
            actor_id,
            actor_id
                .and_then(|a| names.aidants.get(a))
                .map(String::as_str),
            actor_id
                .and_then(|a| names.partners.get(a))
                .map(String::as_str),
        ),
        named(&row.organisation_id, organisation.map(|(n, _)| n)),
        opt(&row.usager),
        row.demarche
            .as_deref()
            .map(|d| words.demarche(d))
            .unwrap_or_default(),
        named(
            &row.client_id,
            row.client_id.as_deref().and_then(|c| names.partners.get(c)),
        ),
        opt(&row.target),
        opt(&entry.request_id),
        if entry.details.is_empty() {
            String::new()
        } else {
            details
        },
    ];
    write_csv_record(out, cells.iter().map(String::as_str))?;
    Ok(())
}

fn write_csv_record<'a>(
    out: &mut dyn Write,
    cells: impl Iterator<Item = &'a str>,
) -> std::io::Result<()> {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.write_all(b";")?;
        }
        out.write_all(csv_cell(cell).as_bytes())?;
    }
    out.write_all(b"\r\n")
}

/// One CSV cell. A cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return) gets a leading apostrophe, so it is shown as text and never run
/// (OWASP, "CSV injection"). Then RFC 4180 quoting: a cell holding the separator, a quote or a
/// line break is quoted, its quotes doubled.
pub fn csv_cell(value: &str) -> String {
    let neutralised = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if neutralised.contains([';', ',', '"', '\n', '\r']) || neutralised != value {
        format!("\"{}\"", neutralised.replace('"', "\"\""))
    } else {
        neutralised
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formulas_are_neutralised_and_cells_quoted() {
        assert_eq!(csv_cell("mandate.created"), "mandate.created");
        assert_eq!(csv_cell(""), "");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+33"), "\"'+33\"");
        assert_eq!(csv_cell("-1"), "\"'-1\"");
        assert_eq!(csv_cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_cell("\tx"), "\"'\tx\"");
        assert_eq!(csv_cell("\rx"), "\"'\rx\"");
        assert_eq!(csv_cell("a;b"), "\"a;b\"");
        assert_eq!(csv_cell("a\nb"), "\"a\nb\"");
        assert_eq!(csv_cell("{\"k\":\"v\"}"), "\"{\"\"k\"\":\"\"v\"\"}\"");
        // Only the first character matters: a minus inside a value is data.
        assert_eq!(csv_cell("2026-11-22"), "2026-11-22");
    }
}
