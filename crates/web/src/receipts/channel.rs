//! Where the aidé's receipts go. A channel finds the person's address in their preference and
//! writes one message for one receipt or a weekly digest; [`send`] does the rest, the same for
//! every channel: a single-use « Ce n'était pas moi » token per receipt, and the message queued
//! with the tokens and the receipts marked dispatched, in one transaction
//! (`ac_storage::receipts::dispatch`). E-mail is the first channel, sent by the outbox worker
//! (`mail_worker`, SMTP with retries); an SMS channel would implement [`Channel`] and queue
//! its rows under its own `kind` for a transport of its own.

use ac_auth::Token;
use ac_localtime::Format;
use ac_mail::{ReceiptLine, Rendered};
use ac_storage::outbox::NewMail;
use ac_storage::receipts::{self, NewReportToken, Pending, ReceiptKind};
use time::OffsetDateTime;

use crate::{AppState, WebError};

/// One way of reaching the aidé.
pub(crate) trait Channel {
    /// The outbox `kind` of its messages.
    fn kind(&self, digest: bool) -> &'static str;
    /// The person's address on this channel, if they gave one and still want messages.
    fn address(&self, receipt: &Pending) -> Result<Option<String>, WebError>;
    /// The message of `lines`: one receipt, or the weekly digest.
    fn compose(
        &self,
        lines: &[ReceiptLine],
        digest: bool,
        report_until: &str,
    ) -> Result<Rendered, WebError>;
}

/// E-mail, through the outbox and `ac_mail`'s templates.
pub(crate) struct Email<'a> {
    pub state: &'a AppState,
}

impl Channel for Email<'_> {
    fn kind(&self, digest: bool) -> &'static str {
        if digest { "receipt_digest" } else { "receipt" }
    }

    fn address(&self, receipt: &Pending) -> Result<Option<String>, WebError> {
        let Some(sealed) = &receipt.email_sealed else {
            return Ok(None);
        };
        match receipts::open_address(&self.state.auth.keys, &receipt.usager, sealed) {
            Ok(opened) => Ok(opened.map(|e| e.as_str().to_owned())),
            // An address that will never open again (sealed under a key since removed from the
            // ring, or altered) is no address: the receipt is set aside, marked dispatched
            // without a message, rather than tried every round — where enough of them would
            // hold back every other receipt (docs/operations.md, "Mail"). Logged by id and
            // code, once; the person's receipts stay in their space.
            Err(ac_storage::StorageError::Auth(
                error @ (ac_auth::AuthError::Unseal | ac_auth::AuthError::UnknownKeyId(_)),
            )) => {
                tracing::error!(
                    receipt = %receipt.id,
                    code = error.code(),
                    "receipt set aside: the person's address no longer opens"
                );
                Ok(None)
            }
            Err(other) => Err(other.into()),
        }
    }

    fn compose(
        &self,
        lines: &[ReceiptLine],
        digest: bool,
        report_until: &str,
    ) -> Result<Rendered, WebError> {
        let space = format!("{}/mon-espace", self.state.settings.server.public_url);
        let rendered = match lines {
            [line] if !digest => self.state.mailer.receipt(line, &space),
            _ => self
                .state
                .mailer
                .receipt_digest(lines, report_until, &space),
        };
        rendered.map_err(WebError::internal)
    }
}

/// Who acted, as the message names them.
fn who(receipt: &Pending) -> String {
    match (&receipt.aidant_first_name, receipt.actor_kind.as_str()) {
        (Some(name), _) => format!("{name} ({})", receipt.organisation_name),
        (None, "usager") => "vous-même".to_owned(),
        _ => receipt.organisation_name.clone(),
    }
}

/// The receipt in words, with its links.
fn line(state: &AppState, receipt: &Pending, token: &Token, report_until: &str) -> ReceiptLine {
    let times = &state.local_times;
    let when = times.format(&receipt.departement, receipt.at, Format::DateTime);
    let who = who(receipt);
    let site = receipt.site.clone();
    let headline = match receipt.kind {
        ReceiptKind::DelegatedUse => format!(
            "{who} s'est connecté pour vous sur {}.",
            site.as_deref().unwrap_or("un site partenaire")
        ),
        ReceiptKind::MandateCreated => "Un mandat a été créé pour vous.".to_owned(),
        ReceiptKind::DemarcheRevoked => "Une démarche de votre mandat a été arrêtée.".to_owned(),
        ReceiptKind::MandateRevoked => "Votre mandat a été arrêté.".to_owned(),
        ReceiptKind::ExpiryReminder => format!(
            "Votre mandat se termine le {}.",
            times.format(
                &receipt.departement,
                receipt.mandate_expires_at,
                Format::Date
            )
        ),
    };
    let demarches: Vec<&str> = receipt.demarches.iter().map(|d| d.title()).collect();
    let base = &state.settings.server.public_url;
    ReceiptLine {
        headline,
        when,
        who,
        structure: receipt.organisation_name.clone(),
        demarches: demarches.join(", "),
        site,
        code: receipt.code.grouped(),
        verify_url: format!("{base}/recu/{}", receipt.code.as_str()),
        report_url: format!("{base}/signalement/{}", token.expose()),
        report_until: report_until.to_owned(),
    }
}

/// Sends `batch` (one person's receipts: one, or a digest) through `channel`. `false` when
/// another node dispatched them first. A person who no longer wants messages gets none: the
/// receipts are marked dispatched all the same, so they are not tried again.
pub(crate) fn send(
    state: &AppState,
    channel: &dyn Channel,
    batch: &[Pending],
    digest: bool,
    now: OffsetDateTime,
) -> Result<bool, WebError> {
    let Some(first) = batch.first() else {
        return Ok(false);
    };
    let ids: Vec<&str> = batch.iter().map(|p| p.id.as_str()).collect();
    let ttl = time::Duration::days(i64::from(state.settings.receipts.report_link_days));
    let conn = &mut *state.db.conn()?;
    let Some(address) = channel.address(first)? else {
        return Ok(receipts::dispatch(conn, &ids, &[], &[], ttl, now)?);
    };
    let until = state
        .local_times
        .format(&first.departement, now.saturating_add(ttl), Format::Date);
    let tokens: Vec<Token> = batch
        .iter()
        .map(|_| Token::generate(state.auth.rng()).map_err(WebError::internal))
        .collect::<Result<_, _>>()?;
    let lines: Vec<ReceiptLine> = batch
        .iter()
        .zip(&tokens)
        .map(|(receipt, token)| line(state, receipt, token, &until))
        .collect();
    let rendered = channel.compose(&lines, digest, &until)?;
    let hashes: Vec<_> = tokens.iter().map(Token::hash).collect();
    let new_tokens: Vec<NewReportToken<'_>> = batch
        .iter()
        .zip(&hashes)
        .map(|(receipt, hash)| NewReportToken {
            receipt_id: &receipt.id,
            hash,
        })
        .collect();
    let mail = NewMail {
        kind: channel.kind(digest),
        dedupe_key: None,
        recipient: &address,
        subject: &rendered.subject,
        text: &rendered.text,
        html: &rendered.html,
    };
    Ok(receipts::dispatch(
        conn,
        &ids,
        &new_tokens,
        &[mail],
        ttl,
        now,
    )?)
}
