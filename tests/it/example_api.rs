//! The example server over a real socket with a real HTTP client: the README's curl session, the
//! contract routes of DESIGN.md, and the start-up refusals of the built binary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test reports failure

#[allow(dead_code, unreachable_pub)] // the binary's entry points (run, signals) are not used here
#[path = "../../examples/api/server/mod.rs"]
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokengate::Passwords;

/// Starts the example's application on 127.0.0.1:0 with an in-memory database; returns its base
/// URL and the app handles.
async fn start(vars: &[(&str, &str)]) -> (String, server::App) {
    let mut all: Vec<(String, String)> = vec![("DATABASE_URL".into(), "sqlite::memory:".into())];
    all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let settings = server::Settings::from_lookup(|name| {
        all.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    // Small argon2 parameters: these tests are about the HTTP surface, not hashing cost.
    let passwords = Passwords::builder()
        .memory_kib(256)
        .iterations(1)
        .build()
        .unwrap();
    let app = server::build(settings, passwords).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (format!("http://{addr}"), app)
}

async fn login(client: &reqwest::Client, base: &str, user: &str) -> Value {
    let res = client
        .post(format!("{base}/auth/login"))
        .json(&json!({ "username": user, "password": format!("{user}-dev-password") }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "login as {user}");
    res.json().await.unwrap()
}

async fn get(client: &reqwest::Client, url: String, token: &str) -> reqwest::Response {
    client.get(url).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn readme_curl_session() {
    let (base, _app) = start(&[]).await;
    let client = reqwest::Client::new();

    // curl http://127.0.0.1:3000/health
    let res = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({ "status": "ok" })
    );

    // curl -d '{"username":"alice","password":"alice-dev-password"}' .../auth/login
    let pair = login(&client, &base, "alice").await;
    assert_eq!(pair["token_type"], "Bearer");
    assert!(pair["expires_in"].as_i64().unwrap() > 0);
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();

    // curl -H "Authorization: Bearer $ACCESS" .../me
    let res = get(&client, format!("{base}/me"), &access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["roles"], json!(["admin"]));
    assert_eq!(me["iss"], server::DEFAULT_ISSUER);
    assert!(
        me["sub"]
            .as_str()
            .is_some_and(|s| !s.is_empty() && s != "alice")
    );

    // curl -H "Authorization: Bearer $ACCESS" .../admin/stats
    let res = get(&client, format!("{base}/admin/stats"), &access).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["users"], 3);

    // curl -d "{\"refresh_token\":\"$REFRESH\"}" .../auth/refresh
    let res = client
        .post(format!("{base}/auth/refresh"))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let next: Value = res.json().await.unwrap();
    let access2 = next["access_token"].as_str().unwrap().to_owned();
    assert_ne!(access2, access);
    // The spent refresh token is refused.
    let res = client
        .post(format!("{base}/auth/refresh"))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Reusing the spent refresh token ended the session; log in again for the logout step.
    let pair = login(&client, &base, "alice").await;
    let access3 = pair["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&client, format!("{base}/me"), &access3).await.status(),
        StatusCode::OK
    );

    // curl -X POST -H "Authorization: Bearer $ACCESS" .../auth/logout
    let res = client
        .post(format!("{base}/auth/logout"))
        .bearer_auth(&access3)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = get(&client, format!("{base}/me"), &access3).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()["www-authenticate"],
        format!(
            r#"Bearer realm="{}", error="invalid_token", error_description="token revoked""#,
            server::REALM
        )
    );
    let refreshed = pair["refresh_token"].as_str().unwrap();
    let res = client
        .post(format!("{base}/auth/refresh"))
        .json(&json!({ "refresh_token": refreshed }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "logout revokes the refresh family"
    );
}

#[tokio::test]
async fn roles_follow_the_hierarchy() {
    let (base, _app) = start(&[]).await;
    let client = reqwest::Client::new();
    for (user, drafts, stats) in [
        ("alice", StatusCode::OK, StatusCode::OK),
        ("bob", StatusCode::OK, StatusCode::FORBIDDEN),
        ("carol", StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
    ] {
        let token = login(&client, &base, user).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = get(&client, format!("{base}/editor/drafts"), &token).await;
        assert_eq!(res.status(), drafts, "{user} /editor/drafts");
        let res = get(&client, format!("{base}/admin/stats"), &token).await;
        assert_eq!(res.status(), stats, "{user} /admin/stats");
        if stats == StatusCode::FORBIDDEN {
            assert_eq!(
                res.headers()["www-authenticate"],
                format!(
                    r#"Bearer realm="{}", error="insufficient_scope", error_description="requires role admin", scope="admin""#,
                    server::REALM
                )
            );
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"], "insufficient_scope");
        }
    }
}

#[tokio::test]
async fn unauthenticated_and_bad_tokens_get_rfc6750_answers() {
    let (base, _app) = start(&[]).await;
    let client = reqwest::Client::new();
    let res = client.get(format!("{base}/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()["www-authenticate"],
        format!(r#"Bearer realm="{}""#, server::REALM)
    );

    let res = get(&client, format!("{base}/me"), "not.a.token").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");

    // A bad login is 401 invalid_grant.
    let res = client
        .post(format!("{base}/auth/login"))
        .json(&json!({ "username": "alice", "password": "wrong" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn jwks_and_openapi() {
    let (base, _app) = start(&[]).await;
    let client = reqwest::Client::new();
    let jwks: Value = client
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], "dev-es256");
    assert_eq!(keys[0]["alg"], "ES256");
    assert!(keys[0].get("d").is_none());

    // The token the server mints verifies with that JWKS alone.
    let token = login(&client, &base, "bob").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ring = tokengate::KeyRing::from_jwks_json(&jwks.to_string()).unwrap();
    let verifier = tokengate::Verifier::builder(ring)
        .issuer(server::DEFAULT_ISSUER)
        .audience(server::DEFAULT_AUDIENCE)
        .build()
        .unwrap();
    let claims: tokengate::Claims = verifier
        .dangerous()
        .verify_without_revocation(&token)
        .unwrap();
    assert_eq!(claims.roles, vec!["editor"]);

    let doc: Value = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/me",
        "/editor/drafts",
        "/admin/stats",
        "/health",
        "/.well-known/jwks.json",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from openapi.json"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        doc["paths"]["/me"]["get"]["security"][0]["bearer"],
        json!([])
    );

    // An HS256 server publishes no key.
    let (base, _app) = start(&[("JWT_SECRET", "an-hs256-secret-that-is-long-enough!!")]).await;
    let jwks: Value = client
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks, json!({ "keys": [] }));
}

#[tokio::test]
async fn disabled_user_cannot_log_in() {
    let (base, app) = start(&[]).await;
    let client = reqwest::Client::new();
    let pair = login(&client, &base, "carol").await;
    app.users.set_disabled("carol", true).await.unwrap();
    let res = client
        .post(format!("{base}/auth/login"))
        .json(&json!({ "username": "carol", "password": "carol-dev-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = client
        .post(format!("{base}/auth/refresh"))
        .json(&json!({ "refresh_token": pair["refresh_token"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

// ------------------------------------------------------------------ the built binary

/// `target/<profile>/examples/api`, built from the current sources once per test run: `cargo
/// test --all-targets` builds examples as test harnesses instead, and a binary left from an
/// earlier build would test old code.
fn example_binary() -> PathBuf {
    static BUILT: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut dir = std::env::current_exe().unwrap();
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    let binary = dir.join("examples").join("api");
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !*built {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--example", "api"]);
        if dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build.status().unwrap();
        assert!(status.success(), "cargo build --example api failed");
        *built = true;
    }
    assert!(
        binary.exists(),
        "{} missing after building it",
        binary.display()
    );
    binary
}

/// Runs the binary with `vars` (and a clean key environment); returns (exit success, stderr).
fn run_binary(vars: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(example_binary());
    for var in [
        "JWT_SECRET",
        "JWT_KEY_FILE",
        "BIND",
        "DATABASE_URL",
        "REDIS_URL",
        "JWT_ISSUER",
        "JWT_AUDIENCE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("DATABASE_URL", "sqlite::memory:")
        .env("RUST_LOG", "error");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Every caller expects a refusal at start; a server that starts anyway is stopped and reported.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{vars:?}: the server started instead of refusing to: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_settings_stop_the_server_with_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let weak = dir.path().join("weak.pem");
    std::fs::write(&weak, include_str!("../data/rsa1024.pem")).unwrap();
    let corrupt = dir.path().join("corrupt.pem");
    std::fs::write(
        &corrupt,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = listening.local_addr().unwrap().to_string();
    let missing = dir.path().join("missing.pem");

    for (vars, named) in [
        (vec![("JWT_SECRET", "too-short")], "JWT_SECRET"),
        (vec![("JWT_SECRET", "")], "JWT_SECRET"),
        (
            vec![
                ("JWT_SECRET", "an-hs256-secret-that-is-long-enough!!"),
                ("JWT_KEY_FILE", weak.to_str().unwrap()),
            ],
            "JWT_SECRET and JWT_KEY_FILE",
        ),
        (
            vec![("JWT_KEY_FILE", missing.to_str().unwrap())],
            "JWT_KEY_FILE",
        ),
        (
            vec![("JWT_KEY_FILE", corrupt.to_str().unwrap())],
            "JWT_KEY_FILE",
        ),
        (
            vec![("JWT_KEY_FILE", weak.to_str().unwrap())],
            "JWT_KEY_FILE",
        ),
        (vec![("BIND", "not-an-address")], "BIND"),
        (vec![("BIND", taken.as_str())], "BIND"),
        (vec![("DATABASE_URL", "postgres://db")], "DATABASE_URL"),
    ] {
        let (ok, stderr) = run_binary(&vars);
        assert!(!ok, "{vars:?} should refuse to start");
        let line = stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{vars:?}: {stderr}"));
        assert!(
            line.starts_with(&format!("error: {named}")),
            "{vars:?}: {line}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // The missing file's path is named.
    let (_, stderr) = run_binary(&[("JWT_KEY_FILE", missing.to_str().unwrap())]);
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
    drop(listening);
}

#[test]
fn development_key_refused_on_a_public_bind() {
    // Neither JWT_SECRET nor JWT_KEY_FILE (run_binary removes them): the development key, whose
    // private half is in the repository, must not sign for a server reachable from elsewhere.
    for bind in ["0.0.0.0:0", "[::]:0"] {
        let (ok, stderr) = run_binary(&[("BIND", bind)]);
        assert!(!ok, "{bind}: started with the development key");
        let line = stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{bind}: {stderr}"));
        for named in ["JWT_SECRET", "JWT_KEY_FILE", "BIND", "development key"] {
            assert!(line.contains(named), "{bind}: {named} not in {line}");
        }
        assert!(!stderr.contains("listening"), "{stderr}");
    }
}

#[test]
fn development_key_warning_and_graceful_shutdown() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(example_binary())
        .env_remove("JWT_SECRET")
        .env_remove("JWT_KEY_FILE")
        .env_remove("REDIS_URL")
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", "sqlite::memory:")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it answers.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "server did not start");
        assert!(child.try_wait().unwrap().is_none(), "server exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SIGTERM → drains and exits 0.
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit status {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("development key"), "{stderr}");
    assert!(stderr.contains("shut down"), "{stderr}");
}

// ------------------------------------------------------------------ the published document

/// Checks that `res` (the answer to `method path`) is listed in the published document with its
/// status, its body's content type and every header the document says it carries; returns the body.
async fn assert_documented(doc: &Value, method: &str, path: &str, res: reqwest::Response) -> Value {
    let status = res.status().as_u16().to_string();
    let operation = &doc["paths"][path][method.to_ascii_lowercase()];
    assert!(
        operation.is_object(),
        "{method} {path} is not in openapi.json"
    );
    let listed = &operation["responses"][&status];
    assert!(
        listed.is_object(),
        "{method} {path} answered {status}, which openapi.json does not list (it lists {:?})",
        operation["responses"]
            .as_object()
            .map(|r| r.keys().cloned().collect::<Vec<_>>())
    );
    if let Some(headers) = listed["headers"].as_object() {
        for (name, header) in headers {
            if header["required"] == true {
                assert!(
                    res.headers().contains_key(name.as_str()),
                    "{method} {path} {status}: no {name} header"
                );
            }
        }
    }
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.bytes().await.unwrap();
    match listed["content"].as_object() {
        Some(content) => {
            let content_type = content_type.unwrap_or_default();
            assert!(
                content.contains_key(&content_type),
                "{method} {path} {status}: content type {content_type} not listed"
            );
            let body: Value = serde_json::from_slice(&body).unwrap();
            if res_is_refusal(&status) {
                assert_eq!(
                    listed["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Refusal"
                );
                assert!(body["error"].is_string(), "{method} {path}: {body}");
                assert!(
                    body["error_description"].is_string(),
                    "{method} {path}: {body}"
                );
            }
            body
        }
        None => {
            assert!(
                body.is_empty(),
                "{method} {path} {status}: undocumented body"
            );
            Value::Null
        }
    }
}

fn res_is_refusal(status: &str) -> bool {
    status.starts_with('4') || status.starts_with('5')
}

#[tokio::test]
async fn published_document_lists_every_refusal() {
    let (base, _app) = start(&[]).await;
    let client = reqwest::Client::new();
    let doc: Value = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let send = |method: &str, path: &str| {
        client.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{base}{path}"),
        )
    };
    let protected = [
        ("GET", "/me"),
        ("GET", "/editor/drafts"),
        ("GET", "/admin/stats"),
        ("POST", "/auth/logout"),
        ("DELETE", "/auth/session"),
    ];

    // Credentials: empty or malformed bearer token (400), none (401, or 204 where optional),
    // a bad token (401).
    for (method, path) in protected {
        for (authorization, expected) in [
            (Some("Bearer"), 400),
            (Some("Bearer "), 400),
            (Some("Bearer a b"), 400),
            (None, if method == "DELETE" { 204 } else { 401 }),
            (Some("Bearer not.a.token"), 401),
        ] {
            let mut request = send(method, path);
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            let res = request.send().await.unwrap();
            assert_eq!(
                res.status().as_u16(),
                expected,
                "{method} {path} {authorization:?}"
            );
            let body = assert_documented(&doc, method, path, res).await;
            if expected == 400 {
                assert_eq!(body["error"], "invalid_request");
            }
        }
    }
    // The cookie of DELETE /auth/session is optional, and so is every other input of it.
    let session_delete = &doc["paths"]["/auth/session"]["delete"];
    assert!(
        session_delete["security"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_object().is_some_and(serde_json::Map::is_empty)),
        "DELETE /auth/session must list anonymous access: {session_delete}"
    );
    for param in session_delete["parameters"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert_ne!(param["required"], true, "{param}");
    }

    // Roles: 403 insufficient_scope.
    for (user, path) in [
        ("carol", "/editor/drafts"),
        ("carol", "/admin/stats"),
        ("bob", "/admin/stats"),
    ] {
        let token = login(&client, &base, user).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = get(&client, format!("{base}{path}"), &token).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{user} {path}");
        assert_documented(&doc, "GET", path, res).await;
    }

    // Bodies of the /auth routes.
    let big = "x".repeat(17 * 1024);
    for path in ["/auth/login", "/auth/session", "/auth/refresh"] {
        let json = |body: Value| send("POST", path).json(&body);
        let mut cases = vec![
            (json(json!({})), 400, "missing"),
            (
                json(json!({ "grant_type": "other" })),
                400,
                "unsupported_grant_type",
            ),
            (json(json!("a string")), 400, "object"),
            (
                send("POST", path)
                    .header("content-type", "text/plain")
                    .body("x"),
                415,
                "",
            ),
            (
                send("POST", path)
                    .header("content-type", "application/json")
                    .body(big.clone()),
                413,
                "",
            ),
        ];
        if path == "/auth/refresh" {
            cases.push((
                json(json!({ "refresh_token": "not.a.token" })),
                401,
                "invalid_grant",
            ));
        } else {
            cases.push((
                json(json!({ "username": "nobody", "password": "wrong" })),
                401,
                "invalid_grant",
            ));
        }
        for (request, expected, says) in cases {
            let res = request.send().await.unwrap();
            assert_eq!(res.status().as_u16(), expected, "POST {path} ({says})");
            let body = assert_documented(&doc, "POST", path, res).await;
            assert!(
                body.to_string().contains(says),
                "POST {path}: {body} does not say {says}"
            );
        }
    }

    // Throttling: 429 + Retry-After once an account has had too many failures.
    for path in ["/auth/login", "/auth/session"] {
        let mut last = None;
        for _ in 0..12 {
            let res = send("POST", path)
                .json(&json!({ "username": "locked-out", "password": "wrong" }))
                .send()
                .await
                .unwrap();
            if res.status() == StatusCode::TOO_MANY_REQUESTS {
                last = Some(res);
                break;
            }
        }
        let res = last.unwrap_or_else(|| panic!("POST {path}: never throttled"));
        assert_documented(&doc, "POST", path, res).await;
    }

    // Cookie mode: no refresh cookie (401), a live cookie session without its CSRF header (403).
    let res = send("POST", "/auth/session/refresh").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_documented(&doc, "POST", "/auth/session/refresh", res).await;
    let res = send("POST", "/auth/session")
        .json(&json!({ "username": "bob", "password": "bob-dev-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_documented(&doc, "POST", "/auth/session", res).await;
    let cookie = |name: &str| {
        cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
            .clone()
    };
    for (method, path, name) in [
        ("POST", "/auth/session/refresh", "__Secure-refresh_token="),
        ("POST", "/auth/logout", "__Host-access_token="),
        ("DELETE", "/auth/session", "__Host-access_token="),
    ] {
        let res = send(method, path)
            .header("cookie", cookie(name))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let body = assert_documented(&doc, method, path, res).await;
        assert_eq!(body["error"], "csrf_failed");
    }

    // Another method on a listed path: 405 with Allow, and the same refusal body as the others.
    for (method, path, allow) in [
        ("PUT", "/auth/login", "POST"),
        ("PUT", "/auth/session", "POST, DELETE"),
        ("POST", "/me", "GET, HEAD"),
        ("DELETE", "/health", "GET, HEAD"),
    ] {
        let res = send(method, path).send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{method} {path}");
    }
}
