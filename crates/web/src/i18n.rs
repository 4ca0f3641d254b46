//! The aidé's language (docs/languages.md): the pages the aidé reads — the consent's recap, their
//! own space, the receipts — are offered in French and in the languages most spoken by the
//! people the structures help, with the French text named as the one that binds.
//!
//! Messages are Project Fluent files (`crates/web/locales/<code>/*.ftl`), embedded in the binary;
//! templates call `t(key=..., lang=lang, ...)`. A key missing in any language fails
//! `tests::every_language_has_every_message`, and a key a template uses but French lacks fails
//! `tests::every_key_a_template_uses_exists`, so no page can fall back silently.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::{Ready, ready};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, static_loader};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::respond::see_other;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "fr",
        // Unicode isolation marks around placeables keep a Latin name or date from reordering
        // the punctuation of a right-to-left sentence (Fluent's default); left-to-right pages
        // do not need them, and they would sit invisibly in copied text.
        customise: |bundle| {
            let right_to_left = bundle.locales.iter().any(|l| l.language.as_str() == "ar");
            bundle.set_use_isolating(right_to_left);
        },
    };
}

/// The cookie that keeps the language a person chose on this browser (a preference, no
/// personal data; docs/languages.md).
const COOKIE: &str = "ac_langue";

/// The languages offered. French first: it is the language of the service and of the text that
/// binds; the others after the languages most spoken by the people the structures help
/// (docs/languages.md explains the choice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Fr,
    En,
    Ar,
    Es,
    Pt,
    Ro,
}

impl Language {
    pub const ALL: [Language; 6] = [
        Language::Fr,
        Language::En,
        Language::Ar,
        Language::Es,
        Language::Pt,
        Language::Ro,
    ];

    /// The BCP 47 code (RFC 5646), as in `<html lang>` and the journal.
    pub const fn code(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::En => "en",
            Language::Ar => "ar",
            Language::Es => "es",
            Language::Pt => "pt",
            Language::Ro => "ro",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The language's own name, as a person who reads it looks for it.
    pub const fn native_name(self) -> &'static str {
        match self {
            Language::Fr => "Français",
            Language::En => "English",
            Language::Ar => "العربية",
            Language::Es => "Español",
            Language::Pt => "Português",
            Language::Ro => "Română",
        }
    }

    pub const fn right_to_left(self) -> bool {
        matches!(self, Language::Ar)
    }

    fn identifier(self) -> LanguageIdentifier {
        // The six codes above are valid language subtags; French is the fallback regardless.
        self.code().parse().unwrap_or_default()
    }

    /// One message, with its arguments; `None` when the key is unknown (the completeness tests
    /// keep every key in every language).
    pub fn message(
        self,
        key: &str,
        args: &HashMap<Cow<'static, str>, FluentValue<'_>>,
    ) -> Option<String> {
        let args = (!args.is_empty()).then_some(args);
        LOCALES.try_lookup_complete(&self.identifier(), key, args)
    }

    /// One message for Rust-side text (a sentence of the history, a date); the key itself if
    /// it were missing, which `tests::every_language_has_every_message` rules out.
    pub(crate) fn text(self, key: &str, args: &[(&'static str, FluentValue<'static>)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), value.clone()))
            .collect();
        self.message(key, &args).unwrap_or_else(|| key.to_owned())
    }

    /// « 6 décembre 2026 », in this language (`written-day`, `month-N`).
    pub(crate) fn day(self, date: time::Date) -> String {
        let month = self.text(&format!("month-{}", u8::from(date.month())), &[]);
        self.text(
            "written-day",
            &[
                ("day", FluentValue::from(date.day())),
                ("month", FluentValue::from(month)),
                ("year", FluentValue::from(date.year().to_string())),
            ],
        )
    }

    /// « 6 décembre 2026 à 14 h 05 », of a local time (already at the structure's offset).
    pub(crate) fn moment(self, local: time::OffsetDateTime) -> String {
        self.text(
            "written-time",
            &[
                ("day", FluentValue::from(self.day(local.date()))),
                ("hour", FluentValue::from(local.hour().to_string())),
                (
                    "minute",
                    FluentValue::from(format!("{:02}", local.minute())),
                ),
            ],
        )
    }

    /// The language for this request: a `langue` in the query, else the one chosen on this
    /// browser, else the browser's preference (`Accept-Language`, RFC 9110 §12.5.4), else French.
    fn of_request(req: &HttpRequest) -> Self {
        let query = web::Query::<LanguageQuery>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.langue.as_deref().and_then(Language::parse));
        query
            .or_else(|| req.cookie(COOKIE).and_then(|c| Language::parse(c.value())))
            .or_else(|| {
                req.headers()
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(preferred)
            })
            .unwrap_or_default()
    }
}

/// The first offered language of an `Accept-Language` list, by weight (RFC 9110 §12.5.4; a
/// weight of 0 means "not this one"). Lists are short; a long one is cut, not parsed whole.
fn preferred(accept: &str) -> Option<Language> {
    let mut ranked: Vec<(u16, Language)> = accept
        .split(',')
        .take(20)
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let primary = tag.split('-').next()?.to_ascii_lowercase();
            let language = Language::parse(&primary)?;
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), quality)?;
            (weight > 0).then_some((weight, language))
        })
        .collect();
    // Stable: equal weights keep the list's order.
    ranked.sort_by_key(|(weight, _)| std::cmp::Reverse(*weight));
    ranked.first().map(|(_, l)| *l)
}

/// A `qvalue` (RFC 9110 §12.4.2) in thousandths; `None` when malformed.
fn quality(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

impl FromRequest for Language {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Language::of_request(req)))
    }
}

#[derive(Deserialize)]
struct LanguageQuery {
    langue: Option<String>,
}

/// The language of a page and the page itself, so the language switcher can come back to it.
#[derive(Clone, Debug)]
pub(crate) struct PageLanguage {
    pub language: Language,
    /// This page's path and query, without `langue`.
    here: String,
}

impl PageLanguage {
    pub(crate) fn of(req: &HttpRequest) -> Self {
        let query: Vec<(String, String)> =
            url::form_urlencoded::parse(req.query_string().as_bytes())
                .into_owned()
                .filter(|(name, _)| name != "langue")
                .collect();
        let mut here = req.path().to_owned();
        if !query.is_empty() {
            here.push('?');
            here.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish(),
            );
        }
        Self {
            language: Language::of_request(req),
            here,
        }
    }

    pub(crate) fn view(&self) -> LanguageView {
        LanguageView::new(self.language, Some(&self.here))
    }
}

impl FromRequest for PageLanguage {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

/// What every translated page needs besides its own values: the language, its direction, and
/// the switcher's links (`/langue/{code}?retour=...`, which keep the choice and come back).
#[derive(Serialize)]
pub(crate) struct LanguageView {
    pub lang: &'static str,
    pub dir: &'static str,
    pub languages: Vec<LanguageChoice>,
    /// Whether the layout shows the switcher's links (else the page has its own switcher).
    pub links: bool,
}

#[derive(Serialize)]
pub(crate) struct LanguageChoice {
    code: &'static str,
    name: &'static str,
    current: bool,
    href: String,
}

impl LanguageView {
    /// The view of a page in `language`; `here` is where the switcher's links come back to
    /// (none: the page has its own switcher, e.g. a form).
    pub(crate) fn new(language: Language, here: Option<&str>) -> Self {
        let back = here.map(|h| {
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("retour", h)
                .finish()
        });
        Self {
            lang: language.code(),
            dir: if language.right_to_left() {
                "rtl"
            } else {
                "ltr"
            },
            links: back.is_some(),
            languages: Language::ALL
                .into_iter()
                .map(|l| LanguageChoice {
                    code: l.code(),
                    name: l.native_name(),
                    current: l == language,
                    href: back
                        .as_ref()
                        .map(|b| format!("/langue/{}?{b}", l.code()))
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }
}

/// The templates' `t(key=..., lang=...)`: any other argument is a Fluent variable. An unknown
/// key is an error (a 500 a test catches), never the key shown to a person.
///
/// Escaping: every variable is HTML-escaped here, as tera escapes any value; the messages
/// themselves are reviewed text from this repository, which
/// `tests::messages_hold_no_markup_and_no_straight_quote` keeps free of `<`, `>`, `&` and `"`,
/// so the result is marked safe and reads exactly as the same words written in the template.
pub(crate) struct Translate;

impl tera::Function for Translate {
    fn call(&self, args: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
        let key = args
            .get("key")
            .and_then(tera::Value::as_str)
            .ok_or_else(|| tera::Error::msg("t(): a key is needed"))?;
        let language = args
            .get("lang")
            .and_then(tera::Value::as_str)
            .and_then(Language::parse)
            .unwrap_or_default();
        // `strong=true`: each text variable is emphasised (`<strong>`), wherever the language
        // puts it in the sentence.
        let strong = args.get("strong").and_then(tera::Value::as_bool) == Some(true);
        let variables: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "key" | "lang" | "strong"))
            .map(|(name, value)| (Cow::Owned(name.clone()), escaped_value(value, strong)))
            .collect();
        language
            .message(key, &variables)
            .map(tera::Value::String)
            .ok_or_else(|| tera::Error::msg(format!("t(): no message {key}")))
    }

    fn is_safe(&self) -> bool {
        // Variables escaped above, messages free of markup (see the type's comment).
        true
    }
}

/// A template's value as a Fluent variable: numbers stay numbers (plural and `1er` selectors),
/// anything else is text, HTML-escaped, then emphasised if asked.
fn escaped_value(value: &tera::Value, strong: bool) -> FluentValue<'static> {
    let text = match value {
        tera::Value::Number(n) => match n.as_f64() {
            Some(number) => return FluentValue::from(number),
            None => n.to_string(),
        },
        tera::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let escaped = tera::escape_html(&text);
    FluentValue::from(if strong {
        format!("<strong>{escaped}</strong>")
    } else {
        escaped
    })
}

#[derive(Deserialize)]
pub(crate) struct Back {
    retour: Option<String>,
}

/// The switcher's links: keep the choice on this browser and go back to the page. Only a path
/// of this site is followed back (no open redirect).
pub(crate) async fn choose(
    state: web::Data<AppState>,
    code: web::Path<String>,
    back: web::Query<Back>,
) -> HttpResponse {
    let back_to = back
        .retour
        .as_deref()
        .filter(|p| is_local_path(p))
        .unwrap_or("/mon-espace");
    let mut response = see_other(back_to);
    if let Some(language) = Language::parse(&code) {
        // A preference, not a credential: no `__Host-` prefix needed, but never sent in clear
        // outside development.
        let cookie = Cookie::build(COOKIE, language.code())
            .path("/")
            .http_only(true)
            .secure(!state.settings.server.dev_mode)
            .same_site(SameSite::Lax)
            .max_age(time::Duration::days(365))
            .finish();
        response.cookie(cookie);
    }
    response.finish()
}

/// A path of this site: one leading slash, no scheme-relative `//`, no backslash a browser
/// would read as a slash, no control character, and short.
fn is_local_path(path: &str) -> bool {
    path.len() <= 512
        && path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    #[test]
    fn the_languages_offered_are_the_ones_storage_reads_back() {
        assert_eq!(
            Language::ALL.map(Language::code),
            ac_mandates::easy_read::PAGE_LANGUAGES
        );
    }

    #[test]
    fn accept_language_picks_the_heaviest_offered_language() {
        assert_eq!(preferred("ar-MA,ar;q=0.9,fr;q=0.8"), Some(Language::Ar));
        assert_eq!(preferred("de-DE, ro;q=0.5, en;q=0.7"), Some(Language::En));
        assert_eq!(preferred("en;q=0, es"), Some(Language::Es));
        assert_eq!(preferred("de, it"), None);
        assert_eq!(preferred("en;q=2"), None);
        assert_eq!(preferred(""), None);
    }

    #[test]
    fn only_paths_of_this_site_are_followed_back() {
        assert!(is_local_path("/mon-espace/mandats"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/\\evil.example"));
        assert!(!is_local_path("/a\nb"));
    }

    fn message_keys(language: Language) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("locales")
            .join(language.code());
        let mut keys = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.lines() {
                // A message starts a line with its identifier and `=` (Fluent syntax guide).
                let Some((id, _)) = line.split_once('=') else {
                    continue;
                };
                let id = id.trim_end();
                if !line.starts_with([' ', '#', '.', '-', '*', '['])
                    && !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    keys.insert(id.to_owned());
                }
            }
        }
        keys
    }

    #[test]
    fn every_language_has_every_message() {
        let french = message_keys(Language::Fr);
        assert!(
            french.len() > 50,
            "the French messages were not read: {french:?}"
        );
        for language in Language::ALL {
            let keys = message_keys(language);
            let missing: Vec<_> = french.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&french).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, not in French {extra:?}",
                language.code()
            );
            // And each loads in this very language (no fallback to French): a syntax error
            // drops a message at run time. A message with a variable, formatted without it,
            // is there but reports the missing variable.
            for key in &french {
                match LOCALES.lookup_single_language::<&str>(&language.identifier(), key, None) {
                    Ok(_) => {}
                    Err(error) => assert!(
                        !error.to_string().contains("retrieve message"),
                        "{}: {key} does not load: {error}",
                        language.code()
                    ),
                }
            }
        }
    }

    #[test]
    fn messages_hold_no_markup_and_no_straight_quote() {
        for language in Language::ALL {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("locales")
                .join(language.code());
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
                    // `->` is Fluent's selector, not text.
                    assert!(
                        !line.replace("->", "").contains(['<', '>', '&', '"']),
                        "{}: markup or a straight quote: {line}",
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn variables_are_escaped_and_messages_kept_as_written() {
        let args = HashMap::from([
            ("key".to_owned(), tera::Value::from("aide-revoke-structure")),
            ("lang".to_owned(), tera::Value::from("fr")),
            (
                "organisation".to_owned(),
                tera::Value::from("<b>Maison d'Emploi</b>"),
            ),
        ]);
        let out = tera::Function::call(&Translate, &args).unwrap();
        assert_eq!(
            out.as_str().unwrap(),
            "Structure : &lt;b&gt;Maison d&#x27;Emploi&lt;&#x2F;b&gt;."
        );
        let args = HashMap::from([
            ("key".to_owned(), tera::Value::from("aide-none-3")),
            ("lang".to_owned(), tera::Value::from("fr")),
        ]);
        let out = tera::Function::call(&Translate, &args).unwrap();
        assert!(
            out.as_str()
                .unwrap()
                .starts_with("Si vous pensez que c'est une erreur")
        );
    }

    #[test]
    fn every_key_a_template_uses_exists() {
        let french = message_keys(Language::Fr);
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut used = BTreeSet::new();
        let mut stack = vec![templates];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split("t(key=\"").skip(1) {
                    if let Some((key, _)) = piece.split_once('"') {
                        used.insert(key.to_owned());
                    }
                }
            }
        }
        assert!(!used.is_empty(), "no template uses t()");
        // A key ending in `-` is a family completed in the template (`"state-" ~ d.state`):
        // the families' members are held by `every_member_of_a_family_has_its_message`.
        let missing: Vec<_> = used
            .iter()
            .filter(|key| match key.strip_suffix('-') {
                Some(prefix) => !french.iter().any(|k| k.starts_with(&format!("{prefix}-"))),
                None => !french.contains(*key),
            })
            .collect();
        assert!(
            missing.is_empty(),
            "keys used by templates but not in French: {missing:?}"
        );
    }

    #[test]
    fn every_member_of_a_family_has_its_message() {
        let french = message_keys(Language::Fr);
        let mut family: Vec<String> = Vec::new();
        family.extend(
            ["active", "expiring", "expired", "revoked", "suspended"].map(|s| format!("state-{s}")),
        );
        family.extend(
            ac_storage::receipts::Choice::ALL
                .iter()
                .map(|c| format!("receipts-choice-{}", c.key())),
        );
        family.extend(
            ac_storage::receipts::ReceiptKind::ALL
                .iter()
                .map(|k| format!("receipt-kind-{}", k.key())),
        );
        family.extend((1..=12).map(|m| format!("month-{m}")));
        family.extend(
            ac_mandates::MandateDuration::ALL
                .iter()
                .map(|d| format!("duration-{}", d.days())),
        );
        family.extend(ac_mandates::Demarche::ALL.iter().flat_map(|d| {
            [
                format!("demarche-{}", d.key()),
                format!("demarche-{}-examples", d.key()),
            ]
        }));
        // The phone's pages of a consent at a distance (remote/landing.html, answered.html,
        // recap.html).
        for dead in ["unknown", "expired", "used"] {
            family.push(format!("remote-dead-{dead}"));
            family.push(format!("remote-dead-{dead}-title"));
        }
        family.extend(["sent", "refused", "error"].map(|o| format!("remote-{o}-title")));
        family.extend(
            [
                ac_mandates::comprehension::Outcome::Passed,
                ac_mandates::comprehension::Outcome::Skipped,
            ]
            .map(|o| format!("remote-comprehension-{}", o.key())),
        );
        let missing: Vec<_> = family.iter().filter(|k| !french.contains(*k)).collect();
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn french_dates_read_as_the_rest_of_the_service_writes_them() {
        let at = time::macros::datetime!(2026-12-01 09:05 +01:00);
        assert_eq!(
            Language::Fr.moment(at),
            ac_localtime::LocalTimes::load().unwrap().format(
                "75",
                at,
                ac_localtime::Format::DateTime
            )
        );
        assert_eq!(Language::Fr.day(at.date()), "1er décembre 2026");
        assert_eq!(Language::En.day(at.date()), "1 December 2026");
    }

    #[test]
    fn every_demarche_has_a_title_and_examples_in_every_language() {
        for demarche in ac_mandates::Demarche::ALL {
            let title = format!("demarche-{}", demarche.key());
            let examples = format!("{title}-examples");
            // French says what the catalogue says (ac_mandates::Demarche).
            assert_eq!(Language::Fr.text(&title, &[]), demarche.title());
            assert_eq!(Language::Fr.text(&examples, &[]), demarche.examples());
            for language in Language::ALL {
                for key in [&title, &examples] {
                    assert!(
                        language.message(key, &HashMap::new()).is_some(),
                        "{}: {key}",
                        language.code()
                    );
                }
            }
        }
    }

    #[test]
    fn arabic_is_right_to_left_and_the_others_are_not() {
        for language in Language::ALL {
            assert_eq!(
                LanguageView::new(language, None).dir == "rtl",
                language == Language::Ar
            );
        }
    }
}
