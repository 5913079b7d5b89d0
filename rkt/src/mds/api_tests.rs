//! The metadata service's answers, request by request.

use super::*;

const UUID: &str = "6f1f0d3c-1a2b-4c5d-8e9f-0123456789ab";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const KEY: HmacKey = [7u8; 64];

fn req(method: &str, path: &str, body: &str) -> Request {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path.to_string(), None),
    };
    Request {
        method: method.into(),
        path,
        query,
        content_type: None,
        body: body.as_bytes().to_vec(),
    }
}

fn image(name: &str, annotations: &str) -> String {
    format!(
        r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"{name}","annotations":{annotations}}}"#
    )
}

fn registered() -> Registry {
    let mut reg = Registry::in_memory();
    let pod = format!(
        r#"{{"acKind":"PodManifest","acVersion":"0.8.11","apps":[{{"name":"web","image":{{"name":"example.com/web","id":"sha512-{}"}},"annotations":[{{"name":"b","value":"pod"}},{{"name":"c","value":"3"}}]}}],"annotations":[{{"name":"example.com/p","value":"v"}}]}}"#,
        "a".repeat(128)
    );
    let r = registration(
        &mut reg,
        &req("PUT", &format!("/pods/{UUID}?token={TOKEN}"), &pod),
    );
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    let img = image(
        "example.com/web",
        r#"[{"name":"a","value":"1"},{"name":"b","value":"image"}]"#,
    );
    let r = registration(&mut reg, &req("PUT", &format!("/pods/{UUID}/web"), &img));
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    reg
}

fn get(reg: &Registry, route: &str) -> Response {
    public(
        reg,
        &KEY,
        &req("GET", &format!("/{TOKEN}/acMetadata/v1/{route}"), ""),
    )
}

fn body(r: &Response) -> &str {
    std::str::from_utf8(&r.body).unwrap()
}

#[test]
fn every_endpoint_answers_with_the_specs_type_and_no_newline() {
    let reg = registered();
    let cases = [
        ("pod/uuid", TEXT, UUID.to_string()),
        (
            "pod/annotations",
            JSON,
            r#"[{"name":"example.com/p","value":"v"}]"#.into(),
        ),
        ("pod/annotations/example.com/p", TEXT, "v".into()),
        (
            "apps/web/image/id",
            TEXT,
            format!("sha512-{}", "a".repeat(128)),
        ),
        (
            "apps/web/annotations",
            JSON,
            r#"[{"name":"a","value":"1"},{"name":"b","value":"pod"},{"name":"c","value":"3"}]"#
                .into(),
        ),
        ("apps/web/annotations/b", TEXT, "pod".into()),
    ];
    for (route, ct, want) in cases {
        let r = get(&reg, route);
        assert_eq!(
            (r.status, r.content_type, body(&r)),
            (200, Some(ct), want.as_str()),
            "{route}"
        );
    }
    let manifest: Value = serde_json::from_slice(&get(&reg, "pod/manifest").body).unwrap();
    assert_eq!(manifest["apps"][0]["name"], "web");
    let image: Value = serde_json::from_slice(&get(&reg, "apps/web/image/manifest").body).unwrap();
    assert_eq!(image["name"], "example.com/web");
}

#[test]
fn errors_have_rkts_statuses_and_words() {
    let reg = registered();
    let other = public(&reg, &KEY, &req("GET", "/nope/acMetadata/v1/pod/uuid", ""));
    assert_eq!((other.status, body(&other)), (401, "pod not found\n"));
    for (route, status, words) in [
        ("apps/db/annotations", 404, "app not found\n"),
        (
            "pod/annotations/missing",
            404,
            "Pod annotation \"missing\" not found",
        ),
        (
            "pod/annotations/Bad Name",
            400,
            "Pod annotation \"Bad Name\" is not a valid AC Identifier",
        ),
        (
            "apps/web/annotations/zz",
            404,
            "App annotation \"zz\" not found",
        ),
        (
            "apps/web/annotations/-x",
            400,
            "App annotation name \"-x\" is not a valid AC Identifier",
        ),
        ("pod/nothing", 404, "404 page not found\n"),
    ] {
        let r = get(&reg, route);
        assert_eq!((r.status, body(&r)), (status, words), "{route}");
    }
    let r = public(
        &reg,
        &KEY,
        &req("POST", &format!("/{TOKEN}/acMetadata/v1/pod/uuid"), ""),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn null_and_empty_pod_annotations_stay_apart() {
    for (annotations, want) in [("null", "null"), ("[]", "[]")] {
        let mut reg = Registry::in_memory();
        let pod = format!(
            r#"{{"acKind":"PodManifest","acVersion":"0.8.11","apps":[],"annotations":{annotations}}}"#
        );
        let r = registration(
            &mut reg,
            &req("PUT", &format!("/pods/{UUID}?token={TOKEN}"), &pod),
        );
        assert_eq!(r.status, 200, "{}", body(&r));
        assert_eq!(body(&get(&reg, "pod/annotations")), want);
    }
}

#[test]
fn sign_then_verify_and_a_wrong_signature_is_forbidden() {
    let reg = registered();
    let url = |what: &str| format!("/{TOKEN}/acMetadata/v1/pod/hmac/{what}");
    let signed = public(
        &reg,
        &KEY,
        &req("POST", &url("sign"), "content=Old+MacDonald+Had+A+Farm"),
    );
    assert_eq!((signed.status, signed.content_type), (200, Some(TEXT)));
    let sig = body(&signed).to_string();
    assert_eq!(sig.len(), 88);
    let (raw, _) = parse_uuid(UUID).unwrap();
    assert_eq!(
        crate::base64::decode(&sig).unwrap(),
        sign(&KEY, &raw, b"Old MacDonald Had A Farm")
    );
    let enc = |s: &str| {
        s.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    };
    let verify = |content: &str, sig: &str, uuid: &str| {
        let form = format!("content={content}&uuid={uuid}&signature={}", enc(sig));
        // Verify needs no registered token (rkt's behaviour).
        public(
            &reg,
            &KEY,
            &req("POST", "/any/acMetadata/v1/pod/hmac/verify", &form),
        )
    };
    let ok = verify("Old+MacDonald+Had+A+Farm", &sig, UUID);
    assert_eq!(
        (ok.status, ok.content_type, body(&ok)),
        (200, Some(TEXT), "")
    );
    assert_eq!(verify("Old+MacDonald", &sig, UUID).status, 403);
    assert_eq!(
        verify("Old+MacDonald+Had+A+Farm", &sig, &"0".repeat(32)).status,
        403
    );
    let bad = verify("x", "****", UUID);
    assert_eq!(bad.status, 400);
    let bad = verify("", &sig, UUID);
    assert_eq!((bad.status, body(&bad)), (400, "content field missing"));
    let bad = verify("x", &sig, "12");
    assert!(
        body(&bad).starts_with("uuid field missing or malformed"),
        "{}",
        body(&bad)
    );
    let none = public(&reg, &KEY, &req("POST", &url("sign"), ""));
    assert_eq!(
        (none.status, body(&none)),
        (400, "content form value not found")
    );
}

#[test]
fn hmac_is_rfc_2104_sha512() {
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?" (the key padded
    // to 64 bytes gives the same MAC, HMAC pads it with zeros to the block size anyway).
    let mut key = [0u8; 64];
    key[..4].copy_from_slice(b"Jefe");
    let uuid: [u8; 16] = *b"what do ya want ";
    let mac = sign(&key, &uuid, b"for nothing?");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        hex.starts_with("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd6"),
        "{hex}"
    );
}

#[test]
fn registration_errors_and_unregistering() {
    let mut reg = registered();
    let pod = r#"{"acKind":"PodManifest","acVersion":"0.8.11","apps":[]}"#;
    for (method, path, body_text, status, words) in [
        ("PUT", format!("/pods/{UUID}"), pod, 400, "token missing"),
        (
            "PUT",
            format!("/pods/{UUID}?token=a&token=b"),
            pod,
            400,
            "token missing",
        ),
        (
            "PUT",
            "/pods/xyz?token=a".to_string(),
            pod,
            400,
            "UUID is missing or malformed",
        ),
        (
            "PUT",
            format!("/pods/{UUID}?token=a"),
            "{",
            400,
            "JSON-decoding failed",
        ),
        (
            "PUT",
            format!("/pods/{}/web", "0".repeat(32)),
            "{}",
            400,
            "JSON-decoding failed",
        ),
        (
            "PUT",
            format!("/pods/{}/web", "0".repeat(32)),
            &image("example.com/x", "[]"),
            404,
            "Pod with given UUID not found",
        ),
        (
            "DELETE",
            format!("/pods/{}", "0".repeat(32)),
            "",
            404,
            "pod not found",
        ),
        (
            "GET",
            format!("/pods/{UUID}"),
            "",
            404,
            "404 page not found",
        ),
    ] {
        let r = registration(&mut reg, &req(method, &path, body_text));
        assert_eq!(r.status, status, "{method} {path}: {}", body(&r));
        assert!(body(&r).starts_with(words), "{method} {path}: {}", body(&r));
    }
    let r = registration(&mut reg, &req("DELETE", &format!("/pods/{UUID}"), ""));
    assert_eq!(r.status, 200);
    assert_eq!(get(&reg, "pod/uuid").status, 401);
}
