//! Tera templates, embedded in the binary so a deployment is one file. Names end in `.html`, so
//! tera escapes every value; a `| safe` needs a reviewed reason.

use serde::Serialize;
use tera::{Context, Tera};

use crate::WebError;
use crate::i18n::{Language, LanguageView};
use crate::menu::Menu;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("footer.html", include_str!("../templates/footer.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("error.html", include_str!("../templates/error.html")),
    (
        "identification/start.html",
        include_str!("../templates/identification/start.html"),
    ),
    (
        "identification/new.html",
        include_str!("../templates/identification/new.html"),
    ),
    (
        "identification/recap.html",
        include_str!("../templates/identification/recap.html"),
    ),
    (
        "identification/_recap_languages.html",
        include_str!("../templates/identification/_recap_languages.html"),
    ),
    (
        "identification/_legal_text.html",
        include_str!("../templates/identification/_legal_text.html"),
    ),
    (
        "identification/comprehension.html",
        include_str!("../templates/identification/comprehension.html"),
    ),
    (
        "identification/comprehension_question.html",
        include_str!("../templates/identification/comprehension_question.html"),
    ),
    (
        "identification/refused.html",
        include_str!("../templates/identification/refused.html"),
    ),
    (
        "identification/mandate.html",
        include_str!("../templates/identification/mandate.html"),
    ),
    (
        "identification/print.html",
        include_str!("../templates/identification/print.html"),
    ),
    (
        "identification/verification_form.html",
        include_str!("../templates/identification/verification_form.html"),
    ),
    (
        "identification/verification.html",
        include_str!("../templates/identification/verification.html"),
    ),
    (
        "aide/_nav.html",
        include_str!("../templates/aide/_nav.html"),
    ),
    (
        "aide/entry.html",
        include_str!("../templates/aide/entry.html"),
    ),
    (
        "aide/no_mandate.html",
        include_str!("../templates/aide/no_mandate.html"),
    ),
    (
        "aide/mandates.html",
        include_str!("../templates/aide/mandates.html"),
    ),
    (
        "aide/revoke.html",
        include_str!("../templates/aide/revoke.html"),
    ),
    (
        "aide/history.html",
        include_str!("../templates/aide/history.html"),
    ),
    (
        "aide/signed_out.html",
        include_str!("../templates/aide/signed_out.html"),
    ),
    (
        "aide/receipt.html",
        include_str!("../templates/aide/receipt.html"),
    ),
    (
        "aide/report.html",
        include_str!("../templates/aide/report.html"),
    ),
    (
        "aide/notifications.html",
        include_str!("../templates/aide/notifications.html"),
    ),
    (
        "identification/verification_unknown.html",
        include_str!("../templates/identification/verification_unknown.html"),
    ),
    (
        "identification/verification_deleted.html",
        include_str!("../templates/identification/verification_deleted.html"),
    ),
    (
        "identification/revocation.html",
        include_str!("../templates/identification/revocation.html"),
    ),
    (
        "identification/revocation_attestation.html",
        include_str!("../templates/identification/revocation_attestation.html"),
    ),
    (
        "auth/sign_in.html",
        include_str!("../templates/auth/sign_in.html"),
    ),
    (
        "auth/link_sent.html",
        include_str!("../templates/auth/link_sent.html"),
    ),
    (
        "auth/confirm_link.html",
        include_str!("../templates/auth/confirm_link.html"),
    ),
    (
        "auth/code.html",
        include_str!("../templates/auth/code.html"),
    ),
    (
        "auth/step_up.html",
        include_str!("../templates/auth/step_up.html"),
    ),
    (
        "auth/space.html",
        include_str!("../templates/auth/space.html"),
    ),
    (
        "auth/dev_outbox.html",
        include_str!("../templates/auth/dev_outbox.html"),
    ),
];

#[derive(Debug)]
pub struct Templates {
    tera: Tera,
}

impl Templates {
    /// The shared templates and the features' own (`routes::TEMPLATES`: the route table, above
    /// the features, lists them, so this module below them names none).
    pub fn load(features: &[&[(&str, &str)]]) -> Result<Self, WebError> {
        let mut tera = Tera::default();
        tera.add_raw_templates(
            TEMPLATES
                .iter()
                .chain(features.iter().flat_map(|t| t.iter()))
                .copied(),
        )?;
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
