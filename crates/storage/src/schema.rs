//! Diesel table definitions, mirroring `migrations/`. `make check` regenerates them from the
//! migrations and fails on drift.

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        address -> Text,
        departement -> Text,
        siret -> Text,
        is_active -> Bool,
        created_at -> Timestamp,
        renewal_requires_identification -> Bool,
    }
}

diesel::table! {
    organisation_demarches (organisation_id, demarche) {
        organisation_id -> Text,
        demarche -> Text,
    }
}

diesel::table! {
    aidants (id) {
        id -> Text,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        profession -> Text,
        current_organisation_id -> Text,
        can_create_mandates -> Bool,
        is_active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    aidant_organisations (aidant_id, organisation_id) {
        aidant_id -> Text,
        organisation_id -> Text,
        is_referent -> Bool,
    }
}

diesel::table! {
    coordinator_scopes (id) {
        id -> Text,
        aidant_id -> Text,
        kind -> Text,
        departement -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
    }
}

diesel::table! {
    usagers (id) {
        id -> Text,
        subject -> Text,
        given_name -> Text,
        family_name -> Text,
        birthdate -> Date,
        gender -> Text,
        birthplace -> Nullable<Text>,
        birthcountry -> Text,
        email -> Nullable<Text>,
        preferred_username -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    mandates (id) {
        id -> Text,
        organisation_id -> Text,
        usager_id -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        duration_days -> Integer,
        legal_text_version -> Text,
        content_hash -> Text,
        renewal_of -> Nullable<Text>,
    }
}

diesel::table! {
    authorizations (id) {
        id -> Text,
        mandate_id -> Text,
        organisation_id -> Text,
        usager_id -> Text,
        demarche -> Text,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revocation_reason -> Nullable<Text>,
    }
}

diesel::joinable!(organisation_demarches -> organisations (organisation_id));
diesel::joinable!(aidant_organisations -> aidants (aidant_id));
diesel::joinable!(aidant_organisations -> organisations (organisation_id));
diesel::joinable!(coordinator_scopes -> aidants (aidant_id));
diesel::joinable!(mandates -> organisations (organisation_id));
diesel::joinable!(mandates -> usagers (usager_id));
diesel::joinable!(authorizations -> mandates (mandate_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    organisation_demarches,
    aidants,
    aidant_organisations,
    coordinator_scopes,
    usagers,
    mandates,
    authorizations,
);

diesel::table! {
    audit_pending (id) {
        id -> BigInt,
        entry -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        pending_id -> BigInt,
        entry -> Text,
        leaf_hash -> Binary,
        at -> Timestamp,
        action -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        organisation_id -> Nullable<Text>,
        usager -> Nullable<Text>,
        demarche -> Nullable<Text>,
        client_id -> Nullable<Text>,
        target -> Nullable<Text>,
        redacted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_heads (tree_size) {
        tree_size -> BigInt,
        root_hash -> Binary,
        frontier -> Binary,
        integrated_at -> Timestamp,
    }
}

diesel::table! {
    audit_checkpoints (tree_size) {
        tree_size -> BigInt,
        root_hash -> Binary,
        signed_note -> Text,
        signed_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    audit_pending,
    audit_log,
    audit_heads,
    audit_checkpoints
);

diesel::table! {
    auth_sign_in_links (token_hash) {
        token_hash -> Text,
        aidant_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    totp_devices (id) {
        id -> Text,
        aidant_id -> Nullable<Text>,
        kind -> Text,
        serial -> Nullable<Text>,
        sealed_seed -> Text,
        step_secs -> Integer,
        last_counter -> Nullable<BigInt>,
        failures -> Integer,
        locked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    auth_sessions (id_hash) {
        id_hash -> Text,
        aidant_id -> Text,
        stage -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_seen_at -> Timestamp,
        last_activity_at -> Timestamp,
    }
}

diesel::table! {
    auth_rate_limits (key_hash) {
        key_hash -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::joinable!(auth_sign_in_links -> aidants (aidant_id));
diesel::joinable!(totp_devices -> aidants (aidant_id));
diesel::joinable!(auth_sessions -> aidants (aidant_id));

diesel::allow_tables_to_appear_in_same_query!(
    aidants,
    auth_sign_in_links,
    totp_devices,
    auth_sessions,
    auth_rate_limits,
);
// `sessions::authenticate` reads a session with its aidant's structure, memberships and scopes.
diesel::allow_tables_to_appear_in_same_query!(auth_sessions, organisations);
diesel::allow_tables_to_appear_in_same_query!(auth_sessions, aidant_organisations);
diesel::allow_tables_to_appear_in_same_query!(auth_sessions, coordinator_scopes);

diesel::table! {
    franceconnect_logins (state_hash) {
        state_hash -> Text,
        kind -> Text,
        aidant_id -> Text,
        payload -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    audit_verifications (id) {
        id -> Text,
        requested_by -> Nullable<Text>,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        entries -> Nullable<BigInt>,
        checkpoints -> Nullable<BigInt>,
        root_hash -> Nullable<Text>,
        problem_seq -> Nullable<BigInt>,
        problem -> Nullable<Text>,
    }
}

diesel::table! {
    oidc_clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Text,
        sealed_secret -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        auth_method -> Text,
        id_token_alg -> Text,
        userinfo_alg -> Nullable<Text>,
        allowed_scopes -> Text,
        act_claim -> Bool,
        is_active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    oidc_signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        state -> Text,
        public_jwk -> Text,
        sealed_private_key -> Text,
        created_at -> Timestamp,
        activated_at -> Nullable<Timestamp>,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oidc_authorization_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        redirect_uri -> Text,
        code_challenge -> Nullable<Text>,
        nonce -> Nullable<Text>,
        scopes -> Text,
        aidant_id -> Text,
        usager_id -> Text,
        authorization_id -> Text,
        demarche -> Text,
        rep_scope_claim -> Bool,
        auth_time -> Timestamp,
        acr -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oidc_access_tokens (token_hash) {
        token_hash -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(oidc_access_tokens -> oidc_authorization_codes (code_hash));
diesel::joinable!(oidc_authorization_codes -> oidc_clients (client_id));
diesel::joinable!(oidc_authorization_codes -> authorizations (authorization_id));

diesel::allow_tables_to_appear_in_same_query!(
    oidc_clients,
    oidc_signing_keys,
    oidc_authorization_codes,
    oidc_access_tokens,
    authorizations,
);
// The token and userinfo endpoints read a grant with its usager.
diesel::allow_tables_to_appear_in_same_query!(oidc_authorization_codes, usagers);
diesel::allow_tables_to_appear_in_same_query!(oidc_access_tokens, usagers);

diesel::table! {
    oidc_answered_requests (interaction_id) {
        interaction_id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    mandate_consents (token_hash) {
        token_hash -> Text,
        aidant_id -> Text,
        organisation_id -> Text,
        usager_id -> Text,
        draft -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        renewal_of -> Nullable<Text>,
        identification -> Text,
        comprehension_question -> Integer,
        comprehension_tries -> Integer,
        comprehension -> Nullable<Text>,
    }
}

diesel::table! {
    mandate_verifications (mandate_id) {
        mandate_id -> Text,
        code -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(mandate_verifications -> mandates (mandate_id));
diesel::allow_tables_to_appear_in_same_query!(mandate_verifications, mandates);

diesel::table! {
    mail_outbox (id) {
        id -> Text,
        kind -> Text,
        dedupe_key -> Nullable<Text>,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    expiry_reminders (authorization_id, threshold_days) {
        authorization_id -> Text,
        threshold_days -> Integer,
        reminded_at -> Timestamp,
    }
}

diesel::joinable!(expiry_reminders -> authorizations (authorization_id));
diesel::allow_tables_to_appear_in_same_query!(expiry_reminders, authorizations);

// Retention (migrations/*/2026-12-07-000001_retention).
diesel::table! {
    retention_permits (holder) {
        holder -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    retired_verification_codes (code) {
        code -> Text,
        retired_at -> Timestamp,
    }
}

diesel::table! {
    job_leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

// Retention looks for identities nothing refers to any more.
diesel::allow_tables_to_appear_in_same_query!(mandate_consents, usagers);

// The aidé's own space (migrations/*/2026-12-07-000002_aide_space).
diesel::table! {
    aide_logins (state_hash) {
        state_hash -> Text,
        kind -> Text,
        payload -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    aide_sessions (token_hash) {
        token_hash -> Text,
        subject -> Text,
        id_token_hint -> Text,
        created_at -> Timestamp,
        idle_until -> Timestamp,
        expires_at -> Timestamp,
    }
}

// The aidé's history names who acted, where, on which site.
diesel::allow_tables_to_appear_in_same_query!(audit_log, aidants);
diesel::allow_tables_to_appear_in_same_query!(audit_log, organisations);
diesel::allow_tables_to_appear_in_same_query!(audit_log, oidc_clients);
diesel::allow_tables_to_appear_in_same_query!(aidants, oidc_clients);
diesel::allow_tables_to_appear_in_same_query!(organisations, oidc_clients);

// Receipts to the aidé (migrations/*/2026-12-08-000100_receipts).
diesel::table! {
    aide_notification_preferences (usager_id) {
        usager_id -> Text,
        choice -> Text,
        email_sealed -> Nullable<Text>,
        email_masked -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    receipts (id) {
        id -> Text,
        code -> Text,
        kind -> Text,
        usager_id -> Text,
        organisation_id -> Text,
        mandate_id -> Text,
        authorization_id -> Nullable<Text>,
        demarches -> Text,
        actor_kind -> Text,
        aidant_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        pending_id -> BigInt,
        delivery -> Text,
        created_at -> Timestamp,
        dispatched_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    receipt_report_tokens (token_hash) {
        token_hash -> Text,
        receipt_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    receipt_reports (id) {
        id -> Text,
        receipt_id -> Text,
        organisation_id -> Text,
        mandate_id -> Text,
        authorization_id -> Nullable<Text>,
        opened_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        closed_by -> Nullable<Text>,
    }
}

diesel::joinable!(receipt_report_tokens -> receipts (receipt_id));
diesel::joinable!(receipt_reports -> receipts (receipt_id));
diesel::joinable!(receipts -> organisations (organisation_id));
diesel::allow_tables_to_appear_in_same_query!(receipts, receipt_report_tokens);
diesel::allow_tables_to_appear_in_same_query!(receipts, receipt_reports);
diesel::allow_tables_to_appear_in_same_query!(receipts, aide_notification_preferences);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, receipt_reports);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, aide_notification_preferences);
diesel::allow_tables_to_appear_in_same_query!(receipt_reports, aide_notification_preferences);
diesel::allow_tables_to_appear_in_same_query!(receipts, organisations);
diesel::allow_tables_to_appear_in_same_query!(receipts, aidants);
diesel::allow_tables_to_appear_in_same_query!(receipts, oidc_clients);
diesel::allow_tables_to_appear_in_same_query!(receipts, audit_log);
diesel::allow_tables_to_appear_in_same_query!(receipts, usagers);
diesel::allow_tables_to_appear_in_same_query!(receipts, mandates);
diesel::allow_tables_to_appear_in_same_query!(receipts, authorizations);
diesel::allow_tables_to_appear_in_same_query!(receipts, aidant_organisations);
diesel::allow_tables_to_appear_in_same_query!(receipts, coordinator_scopes);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, organisations);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, aidants);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, oidc_clients);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, audit_log);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, usagers);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, mandates);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, authorizations);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, aidant_organisations);
diesel::allow_tables_to_appear_in_same_query!(receipt_report_tokens, coordinator_scopes);
diesel::allow_tables_to_appear_in_same_query!(receipt_reports, organisations);
diesel::allow_tables_to_appear_in_same_query!(receipt_reports, aidants);
diesel::allow_tables_to_appear_in_same_query!(receipt_reports, oidc_clients);
diesel::allow_tables_to_appear_in_same_query!(receipt_reports, audit_log);
diesel::allow_tables_to_appear_in_same_query!(receipt_reports, usagers);
diesel::allow_tables_to_appear_in_same_query!(receipt_reports, mandates);
diesel::allow_tables_to_appear_in_same_query!(receipt_reports, authorizations);
diesel::allow_tables_to_appear_in_same_query!(receipt_reports, aidant_organisations);
diesel::allow_tables_to_appear_in_same_query!(receipt_reports, coordinator_scopes);
diesel::allow_tables_to_appear_in_same_query!(aide_notification_preferences, organisations);
diesel::allow_tables_to_appear_in_same_query!(aide_notification_preferences, aidants);
diesel::allow_tables_to_appear_in_same_query!(aide_notification_preferences, oidc_clients);
diesel::allow_tables_to_appear_in_same_query!(aide_notification_preferences, audit_log);
diesel::allow_tables_to_appear_in_same_query!(aide_notification_preferences, usagers);
diesel::allow_tables_to_appear_in_same_query!(aide_notification_preferences, mandates);
diesel::allow_tables_to_appear_in_same_query!(aide_notification_preferences, authorizations);
diesel::allow_tables_to_appear_in_same_query!(aide_notification_preferences, aidant_organisations);
diesel::allow_tables_to_appear_in_same_query!(aide_notification_preferences, coordinator_scopes);
diesel::allow_tables_to_appear_in_same_query!(oidc_clients, mandates);
// Userinfo reads whether the person wants receipts with the grant.
diesel::allow_tables_to_appear_in_same_query!(aide_notification_preferences, oidc_access_tokens);
diesel::allow_tables_to_appear_in_same_query!(
    aide_notification_preferences,
    oidc_authorization_codes
);

// Consent at a distance (migrations/*/2026-12-09-000300_remote_consents).
diesel::table! {
    remote_consents (id) {
        id -> Text,
        token_hash -> Text,
        aidant_id -> Text,
        organisation_id -> Text,
        demarches -> Text,
        duration_days -> Integer,
        channel -> Text,
        status -> Text,
        created_at -> Timestamp,
        link_expires_at -> Timestamp,
        session_hash -> Nullable<Text>,
        usager_id -> Nullable<Text>,
        reading -> Text,
        consented_at -> Nullable<Timestamp>,
        confirm_by -> Nullable<Timestamp>,
        mandate_id -> Nullable<Text>,
    }
}
