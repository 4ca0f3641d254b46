//! Every route, with hostile values in every parameter: a NUL byte, an over-long value, dates
//! and numbers out of any range. Whatever the route, the role and the backend, the answer is a
//! 4xx (or a success), never a 5xx. The route list comes from actix's own table
//! (`ac_web::configure`, read through actix's route introspection), so a route added later is
//! swept too without anyone listing it here.

use ac_e2e::{TestApp, extract_csrf};
use actix_web::introspection::IntrospectionTree;
use actix_web::{App, HttpResponse, web};
use reqwest::{Method, StatusCode};

/// Names of the query and form parameters the service reads (pages, consoles, OIDC protocol):
/// each is tried alone with every hostile value.
const PARAMETERS: &[&str] = &[
    // Consoles: journal filters and pages.
    "structure",
    "aidant",
    "usager",
    "nom",
    "action",
    "demarche",
    "site",
    "du",
    "au",
    "avant",
    "apres",
    "onglet",
    "page",
    "q",
    // Pages and forms of the aidant's space.
    "email",
    "token",
    "code",
    "csrf",
    "i",
    "id",
    "duree",
    "demarches",
    "organisation",
    "reason",
    "confirmation",
    "autorisation",
    "fait",
    "suite",
    "first_name",
    "last_name",
    "profession",
    "device",
    "serial",
    // OpenID Connect (authorization, token, userinfo, logout) and the FranceConnect return.
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "claims",
    "acr_values",
    "login_hint",
    "id_token_hint",
    "post_logout_redirect_uri",
    "grant_type",
    "code_verifier",
    "client_secret",
    "access_token",
    "iss",
    "error",
    "error_description",
];

/// The hostile values: a NUL byte, a value longer than any field (and than PostgreSQL's index
/// entries), dates outside any calendar the service uses, a number beyond 64 bits.
fn hostile_values() -> Vec<(&'static str, String)> {
    vec![
        ("nul", "a\0b".to_owned()),
        ("long", "é".repeat(2_000) + &"x".repeat(2_000)),
        ("far future", "9999-12-31".to_owned()),
        ("far past", "-9999-01-01".to_owned()),
        ("huge number", "99999999999999999999".to_owned()),
    ]
}

/// Every (path pattern, methods) the server registers.
async fn registered_routes(app: &TestApp) -> Vec<(String, Vec<Method>)> {
    let state = app.state.clone();
    let service = actix_web::test::init_service(
        App::new()
            .configure(|cfg| ac_web::configure(cfg, &state))
            .default_service(web::to(|tree: web::Data<IntrospectionTree>| async move {
                HttpResponse::Ok().body(tree.report_as_json())
            })),
    )
    .await;
    let request = actix_web::test::TestRequest::get()
        .uri("/__introspection__")
        .to_request();
    let body = actix_web::test::call_and_read_body(&service, request).await;
    let report: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    let mut routes: Vec<(String, Vec<Method>)> = report
        .iter()
        .filter(|r| r["resource_type"] == "resource")
        .map(|r| {
            let methods = r["methods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().parse().unwrap())
                .collect();
            (r["full_path"].as_str().unwrap().to_owned(), methods)
        })
        .collect();
    // Signing out last, so the signed-in sweeps stay signed in as long as possible.
    routes.sort_by_key(|(path, _)| (path.contains("deconnexion"), path.clone()));
    routes
}

/// The path with every `{segment}` replaced by `value`, percent-encoded.
fn fill(pattern: &str, value: &str) -> String {
    fill_with(pattern, |_| value.to_owned())
}

/// The path with every `{name}` (or `{name:regex}`) segment replaced by `value(name)`,
/// percent-encoded.
fn fill_with(pattern: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        let name = rest[start + 1..end].split(':').next().unwrap();
        let encoded = encode(&value(name));
        out.push_str(&rest[..start]);
        out.push_str(&encoded);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One request of the sweep: a method, a path, and the parameters (query for GET, form body
/// otherwise, after the form token when signed in).
struct Probe {
    method: Method,
    path: String,
    pairs: Vec<(String, String)>,
}

/// The probes of one route: for every hostile value, in the path segments, then in all the
/// parameters at once; and each parameter alone with the long value and with a far date (the
/// NUL byte alone is refused before any parameter is read, so one probe per route holds that).
fn probes(pattern: &str, methods: &[Method], org: &str) -> Vec<Probe> {
    let mut out = Vec::new();
    // Segments that are not under test name the référent's structure (its pages are reached)
    // or a number.
    let plain = fill_with(pattern, |name| {
        if name == "org" {
            org.to_owned()
        } else {
            "1".to_owned()
        }
    });
    for method in methods {
        let probe = |path: &str, pairs: Vec<(String, String)>| Probe {
            method: method.clone(),
            path: path.to_owned(),
            pairs,
        };
        for (label, value) in hostile_values() {
            if pattern.contains('{') {
                out.push(probe(&fill(pattern, &value), Vec::new()));
            }
            // (The long value in every parameter at once would exceed a URL's length.)
            if label != "long" {
                let all = PARAMETERS
                    .iter()
                    .map(|name| ((*name).to_owned(), value.clone()))
                    .collect();
                out.push(probe(&plain, all));
            }
            if label == "long" || label == "far past" {
                for name in PARAMETERS {
                    out.push(probe(&plain, vec![((*name).to_owned(), value.clone())]));
                }
            }
        }
    }
    // A method the route does not take: the framework's 405, never a 5xx.
    let other = if methods.contains(&Method::PUT) {
        Method::PATCH
    } else {
        Method::PUT
    };
    out.push(Probe {
        method: other,
        path: plain,
        pairs: Vec::new(),
    });
    out
}

/// Sends one probe; `Some(description)` when the answer is a 5xx.
async fn send(
    client: reqwest::Client,
    base: String,
    csrf: Option<String>,
    probe: Probe,
) -> Option<String> {
    let mut request = client.request(probe.method.clone(), format!("{base}{}", probe.path));
    if probe.method == Method::GET {
        request = request.query(&probe.pairs);
    } else {
        let mut form = probe.pairs.clone();
        if let Some(csrf) = csrf {
            form.insert(0, ("csrf".to_owned(), csrf));
        }
        request = request.form(&form);
    }
    let status = match request.send().await {
        Ok(response) => response.status(),
        Err(e) => {
            return Some(format!(
                "{} {}: {}",
                probe.method,
                probe.path,
                e.without_url()
            ));
        }
    };
    status.is_server_error().then(|| {
        let what: Vec<String> = probe
            .pairs
            .iter()
            .take(2)
            .map(|(k, v)| format!("{k}={}", v.chars().take(12).collect::<String>()))
            .collect();
        format!(
            "{} {} [{}] -> {status}",
            probe.method,
            probe.path.chars().take(60).collect::<String>(),
            what.join("&")
        )
    })
}

/// Runs every probe of every route, a few at a time; returns the 5xx answers.
async fn sweep(
    app: &TestApp,
    routes: &[(String, Vec<Method>)],
    org: &str,
    csrf: Option<String>,
) -> Vec<String> {
    const IN_FLIGHT: usize = 4;
    let mut failures = Vec::new();
    let mut sent = 0;
    let mut running = tokio::task::JoinSet::new();
    for (pattern, methods) in routes {
        for probe in probes(pattern, methods, org) {
            if running.len() >= IN_FLIGHT
                && let Some(done) = running.join_next().await
            {
                failures.extend(done.unwrap());
            }
            running.spawn_local(send(
                app.client.clone(),
                app.base_url.clone(),
                csrf.clone(),
                probe,
            ));
            sent += 1;
        }
        // Signing out ends the sweep's session: the routes after it are swept signed out.
        while let Some(done) = running.join_next().await {
            failures.extend(done.unwrap());
        }
    }
    assert!(sent > 1_000, "only {sent} requests");
    failures
}

#[actix_web::test]
async fn no_route_answers_a_hostile_parameter_with_a_server_error() {
    for app in TestApp::each().await {
        // A référent who also coordinates the whole pilot: every page past its checks.
        let referent = app.demo_referent_coordinating_everything();
        let routes = registered_routes(&app).await;
        let paths: Vec<&str> = routes.iter().map(|(p, _)| p.as_str()).collect();
        for expected in [
            "/oidc/token",
            "/oidc/authorize",
            "/mandats/{id}",
            "/coordination/journal",
            "/coordination/journal/export.csv",
            "/referent/{org}/journal",
            "/usagers/{id}",
        ] {
            assert!(paths.contains(&expected), "{expected} not in {paths:?}");
        }

        // Signed out, then signed in (so the pages past the sign-in checks are reached too).
        let org = referent.referent_of.iter().next().unwrap().to_string();
        let mut failures = sweep(&app, &routes, &org, None).await;
        app.sign_in_on(referent.email.as_str(), ac_demo::DEMO_TOTP_SEED)
            .await;
        let res = app.get("/espace").await;
        assert_eq!(res.status(), StatusCode::OK);
        let csrf = extract_csrf(&res.text().await.unwrap());
        failures.extend(sweep(&app, &routes, &org, Some(csrf)).await);
        assert!(
            failures.is_empty(),
            "{:?}: {} server errors:\n{}",
            app.db.backend(),
            failures.len(),
            failures.join("\n")
        );
        app.stop().await;
    }
}
