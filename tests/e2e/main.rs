//! End-to-end tests: one binary, one module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod aide_space;
mod audit;
mod auth;
mod comprehension;
mod console;
mod errors;
mod forms;
mod identification;
mod languages;
mod limits;
mod mail_outbox;
mod mandate_document;
mod mandate_journey_browser;
mod provider;
mod receipts;
mod receipts_browser;
mod remote_consent;
mod remote_consent_browser;
mod renewal;
mod revocation;
mod route_sweep;
mod spoken_consent;
mod step_up;
mod usagers;
mod web;
