#![doc = include_str!("../README.md")]

mod templates;

use ac_config::{MailSettings, MailTransport, SmtpTls};
use ac_mandates::Email;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{
    Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use thiserror::Error;

use templates::MailTemplates;
pub use templates::{ReceiptLine, ReminderLine, Rendered};

#[derive(Debug, Error)]
pub enum MailError {
    #[error("{code} adresse d'expédition invalide (mail.from)", code = self.code())]
    InvalidFrom,
    #[error("{code} adresse de destination invalide", code = self.code())]
    InvalidRecipient,
    #[error("{code} nom affiché refusé : caractère de contrôle", code = self.code())]
    InvalidDisplayName,
    #[error("{code} gabarit de courriel : {0}", code = self.code())]
    Template(String),
    #[error("{code} construction du message impossible : {0}", code = self.code())]
    Build(String),
    #[error("{code} envoi impossible : {0}", code = self.code())]
    Send(String),
    #[error("{code} configuration SMTP : {0}", code = self.code())]
    Config(String),
    #[error("{code} boîte d'envoi locale : {0}", code = self.code())]
    Outbox(String),
}

impl MailError {
    pub fn code(&self) -> &'static str {
        match self {
            MailError::InvalidFrom => "MAIL001",
            MailError::InvalidRecipient => "MAIL002",
            MailError::InvalidDisplayName => "MAIL003",
            MailError::Template(_) => "MAIL004",
            MailError::Build(_) => "MAIL005",
            MailError::Send(_) => "MAIL006",
            MailError::Config(_) => "MAIL007",
            MailError::Outbox(_) => "MAIL008",
        }
    }
}

/// A message as the memory transport keeps it, for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File {
        dir: PathBuf,
        transport: AsyncFileTransport<Tokio1Executor>,
    },
    Memory(Mutex<Vec<SentMail>>),
}

struct Inner {
    from: Mailbox,
    transport: Transport,
    templates: MailTemplates,
}

/// Sends the service's messages. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner.transport {
            Transport::Smtp(_) => "smtp",
            Transport::File { .. } => "file",
            Transport::Memory(_) => "memory",
        };
        f.debug_struct("Mailer")
            .field("transport", &kind)
            .finish_non_exhaustive()
    }
}

/// A mailbox whose display name cannot smuggle a header: control characters are refused
/// outright (lettre would encode them, but a name with a line break is never legitimate).
pub fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, MailError> {
    if name.is_some_and(|n| n.contains(char::is_control)) {
        return Err(MailError::InvalidDisplayName);
    }
    let address: Address = address.parse().map_err(|_| MailError::InvalidRecipient)?;
    Ok(Mailbox::new(name.map(str::to_owned), address))
}

fn parse_from(from: &str) -> Result<Mailbox, MailError> {
    if from.contains(char::is_control) {
        return Err(MailError::InvalidFrom);
    }
    from.parse().map_err(|_| MailError::InvalidFrom)
}

/// Reads a credential from the environment variable named in the configuration.
fn env_credential(variable: &str) -> Result<String, MailError> {
    std::env::var(variable)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            MailError::Config(format!(
                "la variable d'environnement {variable} est vide ou absente"
            ))
        })
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings) -> Result<Self, MailError> {
        let from = parse_from(&settings.from)?;
        let transport = match settings.transport {
            MailTransport::Memory => Transport::Memory(Mutex::new(Vec::new())),
            MailTransport::File => Transport::File {
                dir: settings.outbox_dir.clone(),
                transport: AsyncFileTransport::new(&settings.outbox_dir),
            },
            MailTransport::Smtp => {
                let smtp = &settings.smtp;
                let builder = match smtp.tls {
                    SmtpTls::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                            .map_err(|e| MailError::Config(e.to_string()))?
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                        .map_err(|e| MailError::Config(e.to_string()))?,
                };
                let mut builder = builder
                    .port(smtp.port)
                    .timeout(Some(smtp.timeout.unsigned_abs()));
                if !smtp.username_env.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        env_credential(&smtp.username_env)?,
                        env_credential(&smtp.password_env)?,
                    ));
                }
                Transport::Smtp(builder.build())
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                from,
                transport,
                templates: MailTemplates::load()?,
            }),
        })
    }

    /// A memory mailer, for tests.
    pub fn memory(from: &str) -> Result<Self, MailError> {
        Ok(Self {
            inner: Arc::new(Inner {
                from: parse_from(from)?,
                transport: Transport::Memory(Mutex::new(Vec::new())),
                templates: MailTemplates::load()?,
            }),
        })
    }

    /// Messages kept by the memory transport (empty for the others).
    pub fn sent(&self) -> Vec<SentMail> {
        match &self.inner.transport {
            Transport::Memory(sent) => sent.lock().map(|s| s.clone()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The file outbox folder, when that is the transport.
    pub fn outbox_dir(&self) -> Option<&Path> {
        match &self.inner.transport {
            Transport::File { dir, .. } => Some(dir),
            _ => None,
        }
    }

    /// The sign-in link message. The link is a secret: it is never logged.
    pub async fn send_sign_in_link(
        &self,
        to: &Email,
        link: &str,
        minutes: u64,
    ) -> Result<(), MailError> {
        let rendered = self.inner.templates.sign_in_link(link, minutes)?;
        self.send(to, rendered).await
    }

    /// The link of a consent at a distance, sent at once over the configured transport (SMTP in
    /// production), never through the outbox: the address is used to send and not stored
    /// (docs/security/threat-model.md). The link is a secret: it is never logged.
    pub async fn send_remote_consent_link(
        &self,
        to: &Email,
        aidant_first_name: &str,
        structure: &str,
        link: &str,
        until: &str,
    ) -> Result<(), MailError> {
        let rendered =
            self.inner
                .templates
                .remote_consent_link(aidant_first_name, structure, link, until)?;
        self.send(to, rendered).await
    }

    /// The invitation of an aidant added by a référent: where to sign in, and that the second
    /// factor is handed over in person (the message carries no secret).
    pub async fn send_invitation(
        &self,
        to: &Email,
        first_name: &str,
        structure: &str,
        sign_in_url: &str,
    ) -> Result<(), MailError> {
        let rendered = self
            .inner
            .templates
            .invitation(first_name, structure, sign_in_url)?;
        self.send(to, rendered).await
    }

    /// The expiry reminder of one aidant (rendered only: it is queued in the outbox with the
    /// reminders it reports, then [`Self::deliver`]ed by the worker).
    pub fn expiry_reminder(
        &self,
        first_name: &str,
        structure: &str,
        lines: &[ReminderLine],
        list_url: &str,
    ) -> Result<Rendered, MailError> {
        self.inner
            .templates
            .expiry_reminder(first_name, structure, lines, list_url)
    }

    /// The notice to a structure's référents and the mandate's aidant that the person revoked
    /// alone from their space (rendered only: queued in the revocation's transaction). Names no
    /// one.
    pub fn revoked_by_person(
        &self,
        first_name: &str,
        structure: &str,
        demarches: &[String],
        at: &str,
        list_url: &str,
    ) -> Result<Rendered, MailError> {
        self.inner
            .templates
            .revoked_by_person(first_name, structure, demarches, at, list_url)
    }

    /// A receipt to the aidé (rendered only: queued with its report token when dispatched).
    pub fn receipt(&self, line: &ReceiptLine, space_url: &str) -> Result<Rendered, MailError> {
        self.inner.templates.receipt(line, space_url)
    }

    /// The aidé's weekly digest of delegated uses, a receipt per line.
    pub fn receipt_digest(
        &self,
        lines: &[ReceiptLine],
        report_until: &str,
        space_url: &str,
    ) -> Result<Rendered, MailError> {
        self.inner
            .templates
            .receipt_digest(lines, report_until, space_url)
    }

    /// The notice to a structure's référents that a person reported a receipt (names no one).
    pub fn report_raised(
        &self,
        first_name: &str,
        structure: &str,
        what: &str,
        at: &str,
        list_url: &str,
    ) -> Result<Rendered, MailError> {
        self.inner
            .templates
            .report_raised(first_name, structure, what, at, list_url)
    }

    /// Sends a message from the outbox, with `id` (the outbox row's) in its Message-ID, so that
    /// a message sent twice (a node died between the SMTP server's acceptance and its record)
    /// can be recognised by the receiving side.
    pub async fn deliver(&self, id: &str, to: &str, rendered: Rendered) -> Result<(), MailError> {
        let to: Email = to.parse().map_err(|_| MailError::InvalidRecipient)?;
        let domain = self.inner.from.email.domain().to_owned();
        self.send_with_id(&to, rendered, Some(format!("<{id}@{domain}>")))
            .await
    }

    async fn send(&self, to: &Email, rendered: Rendered) -> Result<(), MailError> {
        self.send_with_id(to, rendered, None).await
    }

    async fn send_with_id(
        &self,
        to: &Email,
        rendered: Rendered,
        message_id: Option<String>,
    ) -> Result<(), MailError> {
        let recipient = mailbox(None, to.as_str())?;
        let message = Message::builder()
            .from(self.inner.from.clone())
            .to(recipient)
            .message_id(message_id)
            .subject(rendered.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                rendered.text.clone(),
                rendered.html.clone(),
            ))
            .map_err(|e| MailError::Build(e.to_string()))?;
        match &self.inner.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .map_err(|e| MailError::Send(e.to_string()))?;
            }
            Transport::File { dir, transport } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| MailError::Outbox(e.to_string()))?;
                let id = transport
                    .send(message)
                    .await
                    .map_err(|e| MailError::Outbox(e.to_string()))?;
                // A readable copy beside the .eml, for the dev outbox page.
                let copy = format!(
                    "À : {}\nObjet : {}\n\n{}",
                    to.as_str(),
                    rendered.subject,
                    rendered.text
                );
                tokio::fs::write(dir.join(format!("{id}.txt")), copy)
                    .await
                    .map_err(|e| MailError::Outbox(e.to_string()))?;
            }
            Transport::Memory(sent) => {
                if let Ok(mut sent) = sent.lock() {
                    sent.push(SentMail {
                        to: to.as_str().to_owned(),
                        subject: rendered.subject,
                        text: rendered.text,
                        html: rendered.html,
                    });
                }
            }
        }
        Ok(())
    }
}

/// One message of the file outbox, for the dev page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxMessage {
    pub name: String,
    pub content: String,
    /// Lines of the message that are links, to make them clickable.
    pub links: Vec<String>,
}

/// The newest `limit` messages of a file outbox. A missing folder is an empty outbox.
pub fn read_outbox(dir: &Path, limit: usize) -> Result<Vec<OutboxMessage>, MailError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(MailError::Outbox(e.to_string())),
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "txt") {
            let modified = entry.metadata().and_then(|m| m.modified()).ok();
            files.push((modified, path));
        }
    }
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files
        .into_iter()
        .take(limit)
        .map(|(_, path)| {
            let content =
                std::fs::read_to_string(&path).map_err(|e| MailError::Outbox(e.to_string()))?;
            let links = content
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("http://") || l.starts_with("https://"))
                .map(str::to_owned)
                .collect();
            Ok(OutboxMessage {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                content,
                links,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_with_line_breaks_are_refused() {
        assert!(matches!(
            mailbox(Some("Camille\r\nBcc: x@y.fr"), "camille@exemple.fr"),
            Err(MailError::InvalidDisplayName)
        ));
        assert!(matches!(
            mailbox(None, "camille@exemple.fr\r\nBcc: x@y.fr"),
            Err(MailError::InvalidRecipient)
        ));
        assert!(mailbox(Some("Camille Martin"), "camille@exemple.fr").is_ok());
        assert!(matches!(
            parse_from("Aidants <a@b.fr>\nBcc: x@y.fr"),
            Err(MailError::InvalidFrom)
        ));
    }

    #[tokio::test]
    async fn memory_mailer_keeps_both_parts() {
        let mailer = Mailer::memory("Aidants Connect <ne-pas-repondre@exemple.fr>").unwrap();
        let to: Email = "camille@exemple.fr".parse().unwrap();
        mailer
            .send_sign_in_link(&to, "https://exemple.fr/connexion/lien/abc", 5)
            .await
            .unwrap();
        let sent = mailer.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to, "camille@exemple.fr");
        assert!(
            sent[0]
                .text
                .contains("https://exemple.fr/connexion/lien/abc")
        );
        assert!(
            sent[0].html.contains(
                "href=\"https:&#x2F;&#x2F;exemple.fr&#x2F;connexion&#x2F;lien&#x2F;abc\""
            )
        );
        assert!(sent[0].text.contains("5 minutes"));
    }

    #[tokio::test]
    async fn file_outbox_writes_the_message_and_a_readable_copy() {
        let dir = tempfile::tempdir().unwrap();
        let settings = MailSettings {
            transport: MailTransport::File,
            from: "Aidants Connect <ne-pas-repondre@exemple.fr>".into(),
            outbox_dir: dir.path().join("mail"),
            smtp: ac_config::SmtpSettings {
                host: String::new(),
                port: 25,
                tls: SmtpTls::None,
                username_env: String::new(),
                password_env: String::new(),
                timeout: time::Duration::seconds(10),
            },
        };
        let mailer = Mailer::from_settings(&settings).unwrap();
        let to: Email = "camille@exemple.fr".parse().unwrap();
        mailer
            .send_sign_in_link(&to, "http://127.0.0.1:8080/connexion/lien/abc", 5)
            .await
            .unwrap();
        let outbox = read_outbox(&dir.path().join("mail"), 10).unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(
            outbox[0].links,
            ["http://127.0.0.1:8080/connexion/lien/abc"]
        );
        let eml: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .collect();
        assert_eq!(eml.len(), 1);
        let raw = std::fs::read_to_string(eml[0].path()).unwrap();
        assert!(raw.contains("To: camille@exemple.fr"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(
            read_outbox(&dir.path().join("absent"), 10)
                .unwrap()
                .is_empty()
        );
    }
}
