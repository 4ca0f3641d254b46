//! Mail templates, embedded in the binary. `.html` ones are auto-escaped by tera; `.txt` ones
//! are plain text and carry no markup to escape.

use serde::Serialize;
use tera::{Context, Tera};

use crate::MailError;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "sign_in_link.txt",
        include_str!("../templates/sign_in_link.txt"),
    ),
    (
        "sign_in_link.html",
        include_str!("../templates/sign_in_link.html"),
    ),
    (
        "invitation.txt",
        include_str!("../templates/invitation.txt"),
    ),
    (
        "invitation.html",
        include_str!("../templates/invitation.html"),
    ),
    (
        "expiry_reminder.txt",
        include_str!("../templates/expiry_reminder.txt"),
    ),
    (
        "expiry_reminder.html",
        include_str!("../templates/expiry_reminder.html"),
    ),
    (
        "revoked_by_person.txt",
        include_str!("../templates/revoked_by_person.txt"),
    ),
    (
        "revoked_by_person.html",
        include_str!("../templates/revoked_by_person.html"),
    ),
    ("receipt.txt", include_str!("../templates/receipt.txt")),
    ("receipt.html", include_str!("../templates/receipt.html")),
    (
        "receipt_digest.txt",
        include_str!("../templates/receipt_digest.txt"),
    ),
    (
        "receipt_digest.html",
        include_str!("../templates/receipt_digest.html"),
    ),
    (
        "remote_consent_link.txt",
        include_str!("../templates/remote_consent_link.txt"),
    ),
    (
        "remote_consent_link.html",
        include_str!("../templates/remote_consent_link.html"),
    ),
    (
        "report_raised.txt",
        include_str!("../templates/report_raised.txt"),
    ),
    (
        "report_raised.html",
        include_str!("../templates/report_raised.html"),
    ),
];

/// One receipt to the aidé, every part already written for a person (local time, first name,
/// titles): what happened, when, who, where, and its two links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptLine {
    pub headline: String,
    pub when: String,
    pub who: String,
    pub structure: String,
    pub demarches: String,
    pub site: Option<String>,
    /// The verification code, grouped by four.
    pub code: String,
    pub verify_url: String,
    pub report_url: String,
    pub report_until: String,
}

/// One line of an expiry reminder: a démarche's title, its end (already written for a person)
/// and the threshold crossed, in days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReminderLine {
    pub demarche: String,
    pub ends_on: String,
    pub days: i32,
}

/// A message's fixed subject and its two bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub(crate) struct MailTemplates {
    tera: Tera,
}

impl MailTemplates {
    pub(crate) fn load() -> Result<Self, MailError> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .map_err(|e| MailError::Template(format!("{e:?}")))?;
        Ok(Self { tera })
    }

    fn render(&self, name: &str, context: &impl Serialize) -> Result<String, MailError> {
        let context =
            Context::from_serialize(context).map_err(|e| MailError::Template(format!("{e:?}")))?;
        self.tera
            .render(name, &context)
            .map_err(|e| MailError::Template(format!("{e:?}")))
    }

    pub(crate) fn invitation(
        &self,
        first_name: &str,
        structure: &str,
        sign_in_url: &str,
    ) -> Result<Rendered, MailError> {
        let context = serde_json::json!({
            "first_name": first_name,
            "structure": structure,
            "sign_in_url": sign_in_url,
        });
        Ok(Rendered {
            subject: "Votre compte Aidants Connect".into(),
            text: self.render("invitation.txt", &context)?,
            html: self.render("invitation.html", &context)?,
        })
    }

    /// The link of a consent at a distance: who sends it, what it is, until when; nothing
    /// about the person.
    pub(crate) fn remote_consent_link(
        &self,
        aidant_first_name: &str,
        structure: &str,
        link: &str,
        until: &str,
    ) -> Result<Rendered, MailError> {
        let context = serde_json::json!({
            "aidant_first_name": aidant_first_name,
            "structure": structure,
            "link": link,
            "until": until,
        });
        Ok(Rendered {
            subject: "Aidants Connect : votre accord est demandé pour un mandat".into(),
            text: self.render("remote_consent_link.txt", &context)?,
            html: self.render("remote_consent_link.html", &context)?,
        })
    }

    pub(crate) fn expiry_reminder(
        &self,
        first_name: &str,
        structure: &str,
        lines: &[ReminderLine],
        list_url: &str,
    ) -> Result<Rendered, MailError> {
        let context = serde_json::json!({
            "first_name": first_name,
            "structure": structure,
            "lines": lines,
            "list_url": list_url,
        });
        Ok(Rendered {
            subject: "Des mandats arrivent à leur fin".into(),
            text: self.render("expiry_reminder.txt", &context)?,
            html: self.render("expiry_reminder.html", &context)?,
        })
    }

    pub(crate) fn revoked_by_person(
        &self,
        first_name: &str,
        structure: &str,
        demarches: &[String],
        at: &str,
        list_url: &str,
    ) -> Result<Rendered, MailError> {
        let context = serde_json::json!({
            "first_name": first_name,
            "structure": structure,
            "demarches": demarches,
            "at": at,
            "list_url": list_url,
        });
        Ok(Rendered {
            subject: "Une personne a arrêté son mandat".into(),
            text: self.render("revoked_by_person.txt", &context)?,
            html: self.render("revoked_by_person.html", &context)?,
        })
    }

    /// One receipt; its subject is its headline.
    pub(crate) fn receipt(
        &self,
        line: &ReceiptLine,
        space_url: &str,
    ) -> Result<Rendered, MailError> {
        let subject = format!("Aidants Connect : {}", line.headline.trim_end_matches('.'));
        let context = serde_json::json!({
            "subject": subject,
            "line": line,
            "space_url": space_url,
        });
        Ok(Rendered {
            text: self.render("receipt.txt", &context)?,
            html: self.render("receipt.html", &context)?,
            subject,
        })
    }

    /// The weekly digest of delegated uses.
    pub(crate) fn receipt_digest(
        &self,
        lines: &[ReceiptLine],
        report_until: &str,
        space_url: &str,
    ) -> Result<Rendered, MailError> {
        let subject = format!(
            "Aidants Connect : ce qui a été fait pour vous cette semaine ({})",
            lines.len()
        );
        let context = serde_json::json!({
            "subject": subject,
            "lines": lines,
            "report_until": report_until,
            "space_url": space_url,
        });
        Ok(Rendered {
            text: self.render("receipt_digest.txt", &context)?,
            html: self.render("receipt_digest.html", &context)?,
            subject,
        })
    }

    pub(crate) fn report_raised(
        &self,
        first_name: &str,
        structure: &str,
        what: &str,
        at: &str,
        list_url: &str,
    ) -> Result<Rendered, MailError> {
        let context = serde_json::json!({
            "first_name": first_name,
            "structure": structure,
            "what": what,
            "at": at,
            "list_url": list_url,
        });
        Ok(Rendered {
            subject: "Une personne signale un usage de son mandat".into(),
            text: self.render("report_raised.txt", &context)?,
            html: self.render("report_raised.html", &context)?,
        })
    }

    pub(crate) fn sign_in_link(&self, link: &str, minutes: u64) -> Result<Rendered, MailError> {
        let context = serde_json::json!({ "link": link, "minutes": minutes });
        Ok(Rendered {
            subject: "Votre lien de connexion à Aidants Connect".into(),
            text: self.render("sign_in_link.txt", &context)?,
            html: self.render("sign_in_link.html", &context)?,
        })
    }
}
