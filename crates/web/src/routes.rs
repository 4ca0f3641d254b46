//! Every route of the service, in one place: its path, its methods and the handler that answers.
//! Who may reach a route is decided by the handler's extractors (docs/architecture.md, "Inside
//! `ac-web`: floors"); each group below says which one guards it.
//!
//! Resources match in the order they are registered, and a resource answers 405 to a method it
//! does not list instead of falling through to 404. So a fixed path comes before a pattern that
//! would take it (`/mandats/a-distance` before `/mandats/{id}`), and each group notes where that
//! matters.

use actix_web::web;

use crate::console::explorer::{self, Console};
use crate::console::{coordination, referent, reports};
use crate::identification::{
    comprehension, consent, print, refusal, renewal, revocation, verification,
};
use crate::provider::{protocol, selection};
use crate::{AppState, aide_space, auth, i18n, identification, information, public};
use crate::{audio, dsfr, receipts, remote_consent, usagers};

/// The whole table: the service's own routes, the demonstration's when this binary has it and
/// the settings turn it on, and the development outbox in dev mode only (absent, so 404, in
/// production). Tests enumerate the routes from here (actix's route introspection), so a route
/// sweep never misses a new one.
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    public_routes(cfg);
    sign_in(cfg);
    referent_console(cfg);
    coordination_console(cfg);
    // Before the identification journey, whose `/mandats/{id}` would take `/mandats/a-distance`.
    remote_consent_routes(cfg);
    mandate_journey(cfg);
    aide_space_routes(cfg);
    provider_routes(cfg);
    receipts_routes(cfg);
    usagers_routes(cfg);
    #[cfg(feature = "demo")]
    state.demo.configure(cfg);
    if state.settings.server.dev_mode {
        cfg.service(web::resource("/dev/courriels").get(auth::dev_outbox::outbox));
    }
}

/// Anyone: home, probes, assets, the journal's public notes, the footer's pages, the language.
fn public_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").get(public::home))
        .service(web::resource("/healthz").get(public::healthz))
        .service(web::resource("/readyz").get(public::readyz))
        .service(web::resource("/static/style.css").get(public::stylesheet))
        .service(web::resource("/static/print.css").get(public::print_stylesheet))
        .service(web::resource("/static/imprimer.js").get(public::print_script))
        .service(web::resource("/static/dsfr/{bundle}/{path:.*}").get(dsfr::file))
        .service(web::resource("/static/audio/{digest}/{file}").get(audio::file))
        .service(web::resource("/audit/key").get(public::audit_key))
        .service(web::resource("/audit/checkpoint").get(public::latest_checkpoint))
        .service(web::resource("/audit/checkpoints/{size}").get(public::checkpoint_at))
        .service(web::resource("/langue/{code}").get(i18n::choose));
    for (path, template) in [
        ("/mentions-legales", "information/mentions_legales.html"),
        (
            "/donnees-personnelles",
            "information/donnees_personnelles.html",
        ),
        ("/accessibilite", "information/accessibilite.html"),
        ("/plan-du-site", "information/plan_du_site.html"),
    ] {
        cfg.service(web::resource(path).get(
            move |state: web::Data<AppState>, current: Option<auth::CurrentAidant>| {
                information::show(state, current, template)
            },
        ));
    }
}

/// Aidants signing in: anyone reaches the forms; `CurrentAidant` guards the space, logout and
/// the structure switch; a form checks its CSRF token.
fn sign_in(cfg: &mut web::ServiceConfig) {
    use auth::pages::*;
    cfg.service(
        web::resource("/connexion")
            .get(sign_in_page)
            .post(request_link),
    )
    .service(web::resource("/connexion/lien/{token}").get(confirm_link_page))
    .service(web::resource("/connexion/lien").post(open_link))
    .service(
        web::resource("/connexion/code")
            .get(code_page)
            .post(submit_code),
    )
    .service(
        web::resource("/connexion/verification")
            .get(step_up_page)
            .post(submit_step_up),
    )
    .service(web::resource("/deconnexion").post(logout))
    .service(web::resource("/espace").get(space))
    .service(web::resource("/espace/structure").post(switch_structure));
}

/// A référent's structure: `RecentStepUp`, then the structure of the path checked against the
/// account's (or a journaled 403). `…/aidants/nouveau` before `…/aidants/{aidant}`.
fn referent_console(cfg: &mut web::ServiceConfig) {
    use referent::{demarches, devices, overview, settings, team};
    cfg.service(web::resource("/referent").get(overview::index))
        .service(web::resource("/referent/{org}").get(overview::structure))
        .service(web::resource("/referent/{org}/demarches").post(demarches::set_demarches))
        .service(web::resource("/referent/{org}/renouvellement").post(settings::set_renewal))
        .service(
            web::resource("/referent/{org}/aidants/nouveau")
                .get(team::new_aidant_page)
                .post(team::invite),
        )
        .service(web::resource("/referent/{org}/aidants/{aidant}").get(team::aidant_page))
        .service(
            web::resource("/referent/{org}/aidants/{aidant}/desactiver").post(team::deactivate),
        )
        .service(
            web::resource("/referent/{org}/aidants/{aidant}/deverrouiller").post(devices::unlock),
        )
        .service(
            web::resource("/referent/{org}/aidants/{aidant}/application").post(devices::enrol_app),
        )
        .service(web::resource("/referent/{org}/aidants/{aidant}/carte").post(devices::assign_card))
        .service(
            web::resource("/referent/{org}/aidants/{aidant}/retirer").post(devices::remove_device),
        )
        .service(web::resource("/referent/{org}/signalements").get(reports::referent_list))
        .service(web::resource("/referent/{org}/signalements/{id}/revoquer").post(reports::revoke))
        .service(
            web::resource("/referent/{org}/signalements/{id}/retablir")
                .get(reports::restore_page)
                .post(reports::restore),
        );
    journal_explorer::<referent::Referent>(cfg);
}

/// A coordinator's scope: `RecentStepUp`, then the scope of the account (or a journaled 403).
fn coordination_console(cfg: &mut web::ServiceConfig) {
    use coordination::*;
    cfg.service(web::resource("/coordination").get(dashboard_page))
        .service(web::resource("/coordination/structures/{id}").get(structure_page))
        .service(web::resource("/coordination/anomalies").get(anomalies_page))
        .service(web::resource("/coordination/integrite").get(integrity_page))
        .service(web::resource("/coordination/integrite/verifier").post(start_verification))
        .service(
            web::resource("/coordination/signalements-personnes").get(reports::coordination_list),
        );
    journal_explorer::<Coordination>(cfg);
}

/// The journal explorer, the same pages in both consoles under `{C::BASE}/journal`; its
/// extractor (`InSpace<C>`) resolves the console's space from the path and the account.
fn journal_explorer<C: Console>(cfg: &mut web::ServiceConfig) {
    let journal = format!("{}/journal", C::BASE);
    cfg.service(web::resource(journal.clone()).get(explorer::list_page::<C>))
        .service(
            web::resource(format!("{journal}/export.csv")).get(explorer::export_file::<C, false>),
        )
        .service(
            web::resource(format!("{journal}/export.jsonl")).get(explorer::export_file::<C, true>),
        )
        .service(web::resource(format!("{journal}/{{seq:[0-9]+}}")).get(explorer::entry_page::<C>))
        .service(
            web::resource(format!("{journal}/{{seq:[0-9]+}}/preuve"))
                .get(explorer::proof_file::<C>),
        );
}

/// Consent at a distance. The aidant's pages: `CurrentAidant` (the confirmation, a TOTP code
/// too). The person's: the single-use link, then the browser binding of their FranceConnect
/// login. The fixed paths before `/accord/{token}`.
fn remote_consent_routes(cfg: &mut web::ServiceConfig) {
    use remote_consent::{aidant, person};
    cfg.service(
        web::resource("/mandats/a-distance")
            .get(aidant::list_page)
            .post(aidant::send),
    )
    .service(web::resource("/mandats/a-distance/nouveau").get(aidant::new_page))
    .service(web::resource("/mandats/a-distance/{id}/confirmer").post(aidant::confirm))
    .service(web::resource("/accord/franceconnect").post(person::begin))
    .service(web::resource("/accord/franceconnect/retour").get(person::callback))
    .service(web::resource("/accord/recapitulatif").get(person::recap))
    .service(web::resource("/accord/questions").post(person::questions))
    .service(web::resource("/accord/reponse").post(person::answer))
    .service(web::resource("/accord/{token}").get(person::landing));
}

/// The mandate journey on the tablet, and what follows a mandate: `PersonalDataAccess` (a
/// signed-in aidant at a structure, journaled), the identification's binding to the browser
/// once FranceConnect answers. `/verification` is public (anyone holding a printed mandate).
/// `/mandats/{id}` last: every fixed `/mandats/…` path wins over it.
fn mandate_journey(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/mandats/identification").get(identification::start_page))
        .service(web::resource("/mandats/franceconnect").post(identification::begin))
        .service(web::resource("/mandats/franceconnect/retour").get(identification::callback))
        .service(
            web::resource("/mandats/franceconnect/deconnexion").get(identification::after_logout),
        )
        .service(
            web::resource("/mandats/{id}/revocation")
                .get(revocation::confirmation_page)
                .post(revocation::revoke),
        )
        .service(web::resource("/mandats/{id}/attestation-revocation").get(revocation::attestation))
        .service(
            web::resource("/mandats/{id}/renouveler")
                .get(renewal::choices)
                .post(renewal::proceed),
        )
        .service(web::resource("/mandats/{id}/renouveler/resume").get(renewal::aide_screen))
        .service(web::resource("/mandats/refus").post(refusal::refuse))
        .service(web::resource("/mandats/accord/questions").post(comprehension::questions))
        .service(web::resource("/mandats/nouveau").get(consent::new_mandate_page))
        .service(web::resource("/mandats/accord").post(consent::accord))
        .service(web::resource("/mandats/accord/texte").post(consent::switch_text))
        .service(web::resource("/mandats/{id}").get(consent::mandate_page))
        .service(web::resource("/mandats/{id}/imprimer").get(print::print_page))
        .service(web::resource("/verification").get(verification::form_page))
        .service(web::resource("/verification/{code}").get(verification::verify));
}

/// The aidé's own space: their FranceConnect sign-in, then their session cookie.
fn aide_space_routes(cfg: &mut web::ServiceConfig) {
    use aide_space::{notifications, pages, print, signin};
    cfg.service(web::resource("/mon-espace").get(signin::entry))
        .service(web::resource("/mon-espace/franceconnect").post(signin::begin))
        .service(web::resource("/mon-espace/franceconnect/retour").get(signin::callback))
        .service(web::resource("/mon-espace/deconnexion").post(signin::sign_out))
        .service(web::resource("/mon-espace/franceconnect/deconnexion").get(signin::after_logout))
        .service(web::resource("/mon-espace/mandats").get(pages::mandates_page))
        .service(
            web::resource("/mon-espace/mandats/{mandate}/revoquer")
                .get(pages::revoke_confirm)
                .post(pages::revoke),
        )
        .service(web::resource("/mon-espace/historique").get(pages::history_page))
        .service(web::resource("/mon-espace/historique/{seq}/preuve").get(pages::proof))
        .service(web::resource("/mon-espace/mandats/{mandate}/imprimer").get(print::print_page))
        .service(
            web::resource("/mon-espace/avis")
                .get(notifications::notifications_page)
                .post(notifications::save),
        );
}

/// The identity provider partner sites call (OpenID Connect): the protocol's endpoints answer
/// clients (client authentication at the token endpoint, the access token at userinfo); the
/// selection pages answer the signed-in aidant (`CurrentAidant`, `PersonalDataAccess`).
fn provider_routes(cfg: &mut web::ServiceConfig) {
    use ac_oidc::op;
    cfg.service(web::resource(op::DISCOVERY_PATH).get(protocol::discovery))
        .service(web::resource(op::JWKS_PATH).get(protocol::jwks))
        .service(web::resource(op::TOKEN_PATH).post(protocol::token))
        .service(
            web::resource(op::USERINFO_PATH)
                .get(protocol::userinfo)
                .post(protocol::userinfo),
        )
        .service(
            web::resource(op::END_SESSION_PATH)
                .get(protocol::end_session)
                .post(protocol::end_session),
        )
        .service(
            web::resource(op::AUTHORIZE_PATH)
                .get(selection::authorize)
                .post(selection::authorize_post),
        )
        .service(web::resource(crate::waiting::RESUME_PATH).get(selection::resume))
        .service(web::resource(selection::SELECTION_PATH).get(selection::usagers_page))
        .service(web::resource(selection::DEMARCHE_PATH).get(selection::demarche_page))
        .service(web::resource(selection::CHOICE_PATH).post(selection::choose))
        .service(web::resource(selection::CANCEL_PATH).get(selection::cancel));
}

/// Receipts and « Ce n'était pas moi »: the unguessable code or token in the path.
fn receipts_routes(cfg: &mut web::ServiceConfig) {
    use receipts::pages::*;
    cfg.service(web::resource("/recu/{code}").get(receipt))
        .service(
            web::resource("/signalement/{token}")
                .get(report_confirm)
                .post(report),
        );
}

/// The aidant's list of the people their structure helps: `PersonalDataAccess`.
fn usagers_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/usagers").get(usagers::list))
        .service(web::resource("/usagers/{id}").get(usagers::usager_page));
}
