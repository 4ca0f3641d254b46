//! Interop with a certified relying party that is not ours: panva's `openid-client` 6.x plays
//! FranceConnect against the provider, through discovery (tests/interop/client.mjs). This test
//! plays the aidant's browser, moves the server's clock and revokes mandates between steps.
//! Every interoperability case of docs/security/oidc-provider.md is here; the same test body runs on each backend.

use ac_clock::Clock;
use ac_e2e::interop::RelyingParty;
use ac_e2e::{
    CLIENT_ID, CLIENT_SECRET, ClientSetup, POST_LOGOUT_URI, REDIRECT_URI, TestApp, hidden, links,
    person_path, query_param,
};
use ac_mandates::Demarche;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

const EMAIL: &str = "camille.martin@mediatheque.exemple.fr";
const STRUCTURE: &str = "mediatheque";

struct Rp<'a> {
    node: RelyingParty,
    app: &'a TestApp,
}

impl Rp<'_> {
    async fn call(&self, request: Value) -> Result<Value, Value> {
        self.node.call(request).await
    }

    /// An authorization URL built by openid-client; returns (flow id, URL).
    async fn begin(&self, name: &str, changes: Value) -> (String, String) {
        let mut request = json!({"op": "begin", "name": name, "redirect_uri": REDIRECT_URI});
        for (k, v) in changes.as_object().unwrap() {
            request[k] = v.clone();
        }
        let begun = self.call(request).await.unwrap();
        (
            begun["id"].as_str().unwrap().to_owned(),
            begun["url"].as_str().unwrap().to_owned(),
        )
    }

    /// The aidant picks Angela DUBOIS for `social`: the redirect back to FranceConnect.
    async fn browse(&self, url: &str) -> String {
        self.app
            .pick(url, "DUBOIS", Demarche::Social, None)
            .await
            .location
    }

    async fn callback(
        &self,
        name: &str,
        id: &str,
        location: &str,
        extra: Value,
    ) -> Result<Value, Value> {
        let mut request = json!({"op": "callback", "name": name, "id": id, "url": location});
        for (k, v) in extra.as_object().unwrap() {
            request[k] = v.clone();
        }
        self.call(request).await
    }

    async fn userinfo(&self, tokens: &Value) -> Result<Value, Value> {
        self.call(json!({
            "op": "userinfo", "name": "fc",
            "access_token": tokens["access_token"], "sub": tokens["claims"]["sub"],
        }))
        .await
    }

    /// A whole flow; the tokens openid-client accepted.
    async fn flow(&self, changes: Value) -> Value {
        let (id, url) = self.begin("fc", changes).await;
        let location = self.browse(&url).await;
        self.callback("fc", &id, &location, json!({}))
            .await
            .unwrap_or_else(|e| panic!("openid-client refused: {e}"))
    }
}

fn refused_with(result: Result<Value, Value>, expected: &str) -> Value {
    let error = result.expect_err("openid-client should have refused");
    assert_eq!(error["error"], expected, "{error}");
    error
}

#[actix_web::test]
async fn openid_client_plays_franceconnect_against_the_provider() {
    for app in TestApp::each().await {
        // openid-client checks `iat`/`exp` against the wall clock, so the server's clock follows
        // it; the sign-in happens a TOTP step earlier, so the step-up below has a fresh code.
        app.clock
            .set(ac_clock::SystemClock.now() - Duration::seconds(31));
        let aidant = app.with_aidant(EMAIL, &[STRUCTURE]);
        app.with_client(&ClientSetup::default());
        let (angela, mandate) = app.with_mandate(
            &aidant,
            STRUCTURE,
            "Angela",
            "DUBOIS",
            &[Demarche::Social, Demarche::Argent],
        );
        app.sign_in(EMAIL).await;
        let rp = Rp {
            node: RelyingParty::start(),
            app: &app,
        };
        let discover = |name: &str, secret: &str| {
            json!({"op": "discover", "name": name, "issuer": app.base_url,
                   "client_id": CLIENT_ID, "client_secret": secret})
        };
        let metadata = rp.call(discover("fc", CLIENT_SECRET)).await.unwrap();
        assert_eq!(metadata["metadata"]["issuer"], app.base_url.as_str());
        rp.call(discover(
            "wrong",
            "a-wrong-secret-of-the-right-length-000000000",
        ))
        .await
        .unwrap();

        // The happy path: state, nonce, PKCE, acr_values, prompt=login (the aidant signed in
        // just before, which satisfies it), rep_scope; id_token signature (openid-client's
        // non-repudiation checks and jose against the JWKS), at_hash, userinfo.
        let (id, url) = rp
            .begin(
                "fc",
                json!({"prompt_login": true, "rep_scope": ["social_sante"]}),
            )
            .await;
        let page = app
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let person = person_path(&page, "DUBOIS").unwrap();
        let form = app.get(&person).await.text().await.unwrap();
        assert!(
            form.contains("name=\"code\""),
            "prompt=login: the second factor again"
        );
        app.clock.set(ac_clock::SystemClock.now());
        let location = app
            .choose(&form, Demarche::Social, Some(&app.totp_now()))
            .await
            .location;
        let tokens = rp.callback("fc", &id, &location, json!({})).await.unwrap();
        assert_eq!(tokens["token_type"], "bearer");
        assert_eq!(tokens["expires_in"], 60);
        assert_eq!(tokens["header"]["alg"], "ES256");
        let kid = tokens["header"]["kid"].as_str().unwrap();
        assert!(
            tokens["jwks_kids"]
                .as_array()
                .unwrap()
                .contains(&json!(kid))
        );
        assert_eq!(tokens["at_hash_ok"], true);
        assert_eq!(tokens["claims"]["acr"], "eidas1");
        assert_eq!(tokens["claims"]["rep_scope"], json!(["social_sante"]));
        assert_eq!(tokens["jose_sub"], tokens["claims"]["sub"]);
        let info = rp.userinfo(&tokens).await.unwrap();
        assert_eq!(info["claims"]["given_name"], "Angela");
        assert_eq!(info["claims"]["family_name"], "DUBOIS");
        assert_eq!(info["claims"]["birthcountry"], "99100");
        assert_eq!(info["claims"]["email"], "angela.dubois@exemple.fr");
        let first = tokens.clone();

        // The code replayed: invalid_grant, and the first access token is refused from then on.
        refused_with(
            rp.callback("fc", &id, &location, json!({})).await,
            "invalid_grant",
        );
        refused_with(rp.userinfo(&first).await, "invalid_token");

        // Redirect-URI variants: never a redirect to an unregistered URI.
        for variant in [
            "https://fc.example/api/v2/oidc-callback/",
            "https://fc.example/api/v2/oidc-callback?next=x",
            "https://evil.example/api/v2/oidc-callback",
            "http://fc.example/api/v2/oidc-callback",
        ] {
            let (_, url) = rp.begin("fc", json!({"redirect_uri": variant})).await;
            let res = app.client.get(&url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{variant}");
            assert!(res.headers().get("location").is_none(), "{variant}");
        }
        // …and the token request must name the same URI as the authorization request.
        let (id, url) = rp.begin("fc", json!({})).await;
        let location = rp.browse(&url).await;
        let moved = location.replacen("oidc-callback", "oidc-callback-other", 1);
        refused_with(
            rp.callback("fc", &id, &moved, json!({})).await,
            "invalid_grant",
        );

        // A wrong secret: invalid_client (401), and the code is not consumed by it.
        let (id, url) = rp.begin("wrong", json!({})).await;
        let location = rp.browse(&url).await;
        let error = refused_with(
            rp.callback("wrong", &id, &location, json!({})).await,
            "invalid_client",
        );
        assert_eq!(error["status"], 401);

        // PKCE: a verifier for a code issued without a challenge (downgrade), and a missing one.
        let (id, url) = rp.begin("fc", json!({"pkce": false})).await;
        let location = rp.browse(&url).await;
        let downgrade =
            json!({"verifier": "a-verifier-the-authorization-request-never-committed-to"});
        refused_with(
            rp.callback("fc", &id, &location, downgrade).await,
            "invalid_grant",
        );
        let (id, url) = rp.begin("fc", json!({})).await;
        let location = rp.browse(&url).await;
        refused_with(
            rp.callback("fc", &id, &location, json!({"verifier": null}))
                .await,
            "invalid_grant",
        );

        // An unknown parameter is ignored.
        let tokens = rp
            .flow(json!({"extra": {"x_unknown_parameter": "ignored"}}))
            .await;
        assert_eq!(tokens["at_hash_ok"], true);

        // An expired code (30 s).
        let (id, url) = rp.begin("fc", json!({})).await;
        let location = rp.browse(&url).await;
        app.clock.advance(Duration::seconds(31));
        refused_with(
            rp.callback("fc", &id, &location, json!({})).await,
            "invalid_grant",
        );
        app.clock.set(ac_clock::SystemClock.now());

        // rep_scope outside the mandate: Angela is not offered, forcing her is refused and
        // journaled, and cancelling gives FranceConnect access_denied.
        let (id, url) = rp.begin("fc", json!({"rep_scope": ["logement"]})).await;
        let page = app
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains("DUBOIS"), "no mandate covers logement");
        let csrf = app.csrf_of("/espace").await;
        let forced = app
            .post_form(
                "/oidc/choix",
                &[
                    ("csrf", csrf.as_str()),
                    ("i", hidden(&page, "i").as_str()),
                    ("usager", angela.as_str()),
                    ("demarche", "logement"),
                ],
            )
            .await;
        assert_eq!(forced.status(), StatusCode::FORBIDDEN);
        assert!(forced.text().await.unwrap().contains("OIDC114"));
        let refusal = app
            .journal()
            .into_iter()
            .rev()
            .find(|e| e["action"] == "delegation.refused")
            .unwrap();
        assert_eq!(refusal["details"]["reason"], "usager_not_offered");
        let cancel = links(&page, "/oidc/annuler").remove(0);
        let location = app.get(&cancel).await.headers()["location"]
            .to_str()
            .unwrap()
            .to_owned();
        refused_with(
            rp.callback("fc", &id, &location, json!({})).await,
            "access_denied",
        );

        // The mandate revoked between authorize and token.
        let (id, url) = rp.begin("fc", json!({})).await;
        let location = rp.browse(&url).await;
        app.revoke(&aidant, &mandate);
        refused_with(
            rp.callback("fc", &id, &location, json!({})).await,
            "invalid_grant",
        );

        // …and between token and userinfo.
        let (_, renewed) =
            app.with_mandate(&aidant, STRUCTURE, "Angela", "DUBOIS", &[Demarche::Social]);
        let tokens = rp.flow(json!({})).await;
        app.revoke(&aidant, &renewed);
        refused_with(rp.userinfo(&tokens).await, "invalid_token");

        // Scope-filtered userinfo.
        app.with_mandate(&aidant, STRUCTURE, "Angela", "DUBOIS", &[Demarche::Social]);
        let tokens = rp.flow(json!({"scope": "openid birth"})).await;
        assert_eq!(tokens["scope"], "openid birth");
        let info = rp.userinfo(&tokens).await.unwrap();
        let mut names: Vec<String> = info["claims"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "aud",
                "birthcountry",
                "birthplace",
                "exp",
                "iat",
                "iss",
                "sub"
            ]
        );

        // Logout: a valid hint redirects with state; a bad or missing one asks the person.
        let hint = tokens["id_token"].as_str().unwrap();
        let end = |hint: Option<&str>| {
            let mut request = json!({"op": "end_session_url", "name": "fc",
                "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "au-revoir"});
            if let Some(h) = hint {
                request["id_token_hint"] = json!(h);
            }
            rp.call(request)
        };
        let url = end(Some(hint)).await.unwrap()["url"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let location = res.headers()["location"].to_str().unwrap();
        assert!(location.starts_with(POST_LOGOUT_URI));
        assert_eq!(query_param(location, "state").as_deref(), Some("au-revoir"));
        let mut bad = hint.to_owned();
        bad.replace_range(bad.len() - 10.., "AAAAAAAAAA");
        for hint in [None, Some(bad.as_str()), Some("not-a-token")] {
            let url = end(hint).await.unwrap()["url"].as_str().unwrap().to_owned();
            let res = app.client.get(&url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{hint:?}");
            assert!(res.headers().get("location").is_none());
        }
        assert!(
            app.journal_actions()
                .contains(&"delegation.completed".to_owned())
        );
        drop(rp);
        app.stop().await;
    }
}
