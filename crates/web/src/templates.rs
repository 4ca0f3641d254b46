//! Tera templates, embedded in the binary so a deployment is one file. Names end in `.html`, so
//! tera escapes every value; a `| safe` needs a reviewed reason.

use serde::Serialize;
use tera::{Context, Tera};

use crate::WebError;
use crate::i18n::{Language, LanguageView};
use crate::menu::Menu;

/// A template by its path under `crates/web/templates/`, embedded.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

/// Every template of the service, by its path under `crates/web/templates/`: the one place a
/// template is registered (a test checks that every file there is listed).
const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "footer.html",
    "macros.html",
    "home.html",
    "error.html",
    "identification/start.html",
    "identification/new.html",
    "identification/recap.html",
    "identification/_recap_languages.html",
    "identification/_legal_text.html",
    "identification/comprehension.html",
    "identification/comprehension_question.html",
    "identification/refused.html",
    "identification/mandate.html",
    "identification/print.html",
    "identification/verification_form.html",
    "identification/verification.html",
    "aide/_nav.html",
    "aide/entry.html",
    "aide/no_mandate.html",
    "aide/mandates.html",
    "aide/revoke.html",
    "aide/history.html",
    "aide/signed_out.html",
    "aide/receipt.html",
    "aide/report.html",
    "aide/notifications.html",
    "identification/verification_unknown.html",
    "identification/verification_deleted.html",
    "identification/revocation.html",
    "identification/revocation_attestation.html",
    "auth/sign_in.html",
    "auth/link_sent.html",
    "auth/confirm_link.html",
    "auth/code.html",
    "auth/step_up.html",
    "auth/space.html",
    "auth/dev_outbox.html",
    "console/layout.html",
    "console/macros.html",
    "console/referent_index.html",
    "console/referent_structure.html",
    "console/referent_new_aidant.html",
    "console/referent_aidant.html",
    "console/referent_totp_app.html",
    "console/journal.html",
    "console/journal_entry.html",
    "console/dashboard.html",
    "console/integrity.html",
    "console/anomalies.html",
    "console/reports.html",
    "console/report_restore.html",
    "provider/refused.html",
    "provider/usagers.html",
    "provider/demarche.html",
    "provider/logout.html",
    "usagers/list.html",
    "usagers/usager.html",
    "information/mentions_legales.html",
    "information/donnees_personnelles.html",
    "information/accessibilite.html",
    "information/plan_du_site.html",
    "remote/new.html",
    "remote/list.html",
    "remote/landing.html",
    "remote/recap.html",
    "remote/questions.html",
    "remote/answered.html",
);

#[derive(Debug)]
pub struct Templates {
    tera: Tera,
}

impl Templates {
    /// Every template, registered with the translation function `t`.
    pub fn load() -> Result<Self, WebError> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())?;
        tera.register_function("t", crate::i18n::Translate);
        Ok(Self { tera })
    }

    /// A page as anyone sees it: the header without the signed-in menu.
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, WebError> {
        self.render_with(name, context, None)
    }

    /// A page of a signed-in person: the header carries their menu (`menu.rs`).
    pub fn render_for(
        &self,
        menu: &Menu,
        name: &str,
        context: &impl Serialize,
    ) -> Result<String, WebError> {
        self.render_with(name, context, Some(menu))
    }

    /// A page the aidé reads, in their language (`i18n.rs`): `<html lang dir>` and the language
    /// switcher come from `language`.
    pub(crate) fn render_in(
        &self,
        language: &LanguageView,
        name: &str,
        context: &impl Serialize,
    ) -> Result<String, WebError> {
        self.translated(language, name, context, None)
    }

    /// [`Self::render_in`] on a signed-in aidant's screen, read by the aidé (the consent's
    /// recap on the tablet): the aidant's menu stays, the page speaks the aidé's language.
    pub(crate) fn render_for_in(
        &self,
        menu: &Menu,
        language: &LanguageView,
        name: &str,
        context: &impl Serialize,
    ) -> Result<String, WebError> {
        self.translated(language, name, context, Some(menu))
    }

    fn translated(
        &self,
        language: &LanguageView,
        name: &str,
        context: &impl Serialize,
        menu: Option<&Menu>,
    ) -> Result<String, WebError> {
        let mut context = Context::from_serialize(context)?;
        context.insert("lang", language.lang);
        context.insert("dir", language.dir);
        context.insert("languages", &language.languages);
        context.insert("language_links", &language.links);
        self.finish(name, context, menu)
    }

    fn render_with(
        &self,
        name: &str,
        context: &impl Serialize,
        menu: Option<&Menu>,
    ) -> Result<String, WebError> {
        let mut context = Context::from_serialize(context)?;
        // Every other page is in French.
        context.insert("lang", Language::Fr.code());
        context.insert("dir", "ltr");
        self.finish(name, context, menu)
    }

    fn finish(
        &self,
        name: &str,
        mut context: Context,
        menu: Option<&Menu>,
    ) -> Result<String, WebError> {
        // Every page links the State design system's files of this build (`dsfr.rs`).
        context.insert("dsfr", &crate::dsfr::base());
        if let Some(menu) = menu {
            context.insert("menu", menu);
        }
        Ok(self.tera.render(name, &context)?)
    }

    pub fn error_page(&self, status: u16, code: &str, message: &str) -> Result<String, WebError> {
        self.render(
            "error.html",
            &serde_json::json!({ "status": status, "code": code, "message": message }),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly

    use std::path::{Path, PathBuf};

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    /// A template file left out of the list would only fail when a page first renders it.
    #[test]
    fn every_template_file_is_registered_once() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut on_disk = Vec::new();
        files(&root, &mut on_disk);
        let mut on_disk: Vec<String> = on_disk
            .iter()
            .map(|p| {
                p.strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = super::TEMPLATES
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }
}
