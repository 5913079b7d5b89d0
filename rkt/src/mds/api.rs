//! The metadata service's two APIs as pure functions of a request (appc spec, "App Container
//! Metadata Service"; rkt 1.30's `rkt/metadata_service.go` for paths, statuses and words):
//! the public one apps reach under `/{token}/acMetadata/v1/`, and the registration one stage0
//! reaches on the unix socket.

use serde_json::Value;
use sha2::{Digest, Sha512};

use super::http::{form_values, Request, Response, JSON, TEXT};
use super::registry::{PodEntry, Registry};
use crate::appc::{AcIdentifier, AcName, ImageManifest, PodManifest};

/// The key of the pods' HMACs: 64 random bytes drawn when the service starts.
pub(crate) type HmacKey = [u8; 64];

fn not_found() -> Response {
    Response::text(404, "404 page not found\n")
}

/// A UUID as appc's `NewUUID` takes it (dashes optional, 32 hex digits), canonical.
pub(crate) fn parse_uuid(s: &str) -> Result<([u8; 16], String), String> {
    let hex: String = s.chars().filter(|&c| c != '-').collect();
    if hex.len() != 32 {
        return Err(format!("bad UUID length != 32: {}", hex.len()));
    }
    let mut raw = [0u8; 16];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| "encoding/hex: invalid byte".to_string())?;
    }
    let h = hex.to_ascii_lowercase();
    let canonical = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    Ok((raw, canonical))
}

/// HMAC-SHA512 (RFC 2104) over the pod's 16 UUID bytes, then the content (rkt's MAC).
pub(crate) fn sign(key: &HmacKey, uuid: &[u8; 16], content: &[u8]) -> [u8; 64] {
    const BLOCK: usize = 128;
    let mut k = [0u8; BLOCK];
    k[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let mut inner = Sha512::new();
    inner.update(pad(0x36));
    inner.update(uuid);
    inner.update(content);
    let mut outer = Sha512::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The form fields of a POST: the urlencoded body, then the query (Go's `FormValue`).
fn form(req: &Request) -> String {
    let mut all = String::from_utf8_lossy(&req.body).into_owned();
    if let Some(q) = &req.query {
        all.push('&');
        all.push_str(q);
    }
    all
}

fn first(form: &str, key: &str) -> String {
    form_values(form, key)
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// The public API.
pub(crate) fn public(reg: &Registry, key: &HmacKey, req: &Request) -> Response {
    let Some(rest) = req.path.strip_prefix('/') else {
        return not_found();
    };
    let Some((token, route)) = rest.split_once("/acMetadata/v1/") else {
        return not_found();
    };
    if token.is_empty() || token.contains('/') {
        return not_found();
    }
    let (method, route) = (req.method.as_str(), route);
    if (method, route) == ("POST", "pod/hmac/verify") {
        return verify(key, req); // rkt: any pod may check any pod's signature
    }
    let Some(pod) = reg.by_token(token) else {
        return Response::text(401, "pod not found\n");
    };
    match (method, route) {
        ("POST", "pod/hmac/sign") => {
            let content = first(&form(req), "content");
            if content.is_empty() {
                return Response::text(400, "content form value not found");
            }
            let Ok((raw, _)) = parse_uuid(&pod.uuid) else {
                return Response::text(500, "bad pod UUID");
            };
            Response::ok(
                TEXT,
                crate::base64::encode(&sign(key, &raw, content.as_bytes())),
            )
        }
        ("GET", "pod/annotations") => json(pod.manifest.get("annotations").unwrap_or(&Value::Null)),
        ("GET", "pod/manifest") => json(&pod.manifest),
        ("GET", "pod/uuid") => Response::ok(TEXT, pod.uuid.clone()),
        ("GET", r) if r.starts_with("pod/annotations/") => {
            let name = &r["pod/annotations/".len()..];
            annotation("Pod annotation", name, pod.manifest.get("annotations"))
        }
        ("GET", r) if r.starts_with("apps/") => app_route(pod, &r["apps/".len()..]),
        _ => not_found(),
    }
}

fn app_route(pod: &PodEntry, r: &str) -> Response {
    let (app, what) = r.split_once('/').unwrap_or((r, ""));
    if app.is_empty() {
        return Response::text(400, "app missing");
    }
    let Some(image) = pod.apps.get(app) else {
        return Response::text(404, "app not found\n");
    };
    let runtime_app = pod
        .manifest
        .get("apps")
        .and_then(Value::as_array)
        .and_then(|apps| {
            apps.iter()
                .find(|a| a.get("name").and_then(Value::as_str) == Some(app))
        });
    match what {
        "image/manifest" => json(image),
        "image/id" => match runtime_app
            .and_then(|a| a.pointer("/image/id"))
            .and_then(Value::as_str)
        {
            Some(id) => Response::ok(TEXT, id.to_string()),
            None => Response::text(404, "app not found\n"),
        },
        "annotations" => json(&merged(image, runtime_app)),
        w if w.starts_with("annotations/") => {
            let merged = merged(image, runtime_app);
            annotation(
                "App annotation name",
                &w["annotations/".len()..],
                Some(&merged),
            )
        }
        _ => not_found(),
    }
}

/// The image's annotations, then the pod's for the app over them (in place, else appended).
fn merged(image: &Value, runtime_app: Option<&Value>) -> Value {
    let mut out: Vec<Value> = Vec::new();
    let lists = [
        image.get("annotations"),
        runtime_app.and_then(|a| a.get("annotations")),
    ];
    for a in lists
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
    {
        let name = a.get("name");
        match out.iter_mut().find(|o| o.get("name") == name) {
            Some(o) => *o = a.clone(),
            None => out.push(a.clone()),
        }
    }
    Value::Array(out)
}

/// One annotation's value. `what` is rkt's subject (`Pod annotation`, `App annotation name`;
/// rkt said `App annotation "x" not found` without the `name`).
fn annotation(what: &str, name: &str, list: Option<&Value>) -> Response {
    if AcIdentifier::parse(name).is_err() {
        return Response::text(
            400,
            &format!("{what} {name:?} is not a valid AC Identifier"),
        );
    }
    let found = list
        .and_then(Value::as_array)
        .and_then(|l| {
            l.iter()
                .find(|a| a.get("name").and_then(Value::as_str) == Some(name))
        })
        .and_then(|a| a.get("value"))
        .and_then(Value::as_str);
    match found {
        Some(v) => Response::ok(TEXT, v.to_string()),
        None => Response::text(
            404,
            &format!("{} {name:?} not found", what.trim_end_matches(" name")),
        ),
    }
}

fn json(v: &Value) -> Response {
    Response::ok(JSON, v.to_string())
}

fn verify(key: &HmacKey, req: &Request) -> Response {
    let f = form(req);
    let reply = |status: u16, body: String| Response {
        status,
        content_type: Some(TEXT),
        body: body.into_bytes(),
    };
    let raw = match parse_uuid(&first(&f, "uuid")) {
        Ok((raw, _)) => raw,
        Err(e) => return reply(400, format!("uuid field missing or malformed: {e}")),
    };
    let content = first(&f, "content");
    if content.is_empty() {
        return reply(400, "content field missing".into());
    }
    let signature = match crate::base64::decode(&first(&f, "signature")) {
        Ok(s) => s,
        Err(e) => return reply(400, format!("signature field missing or corrupt: {e}")),
    };
    let expected = sign(key, &raw, content.as_bytes());
    let same = super::registry::constant_time_eq(&signature, &expected);
    reply(if same { 200 } else { 403 }, String::new())
}

/// The registration API (the unix socket).
pub(crate) fn registration(reg: &mut Registry, req: &Request) -> Response {
    let Some(rest) = req.path.strip_prefix("/pods/") else {
        return not_found();
    };
    let (uuid, app) = match rest.split_once('/') {
        Some((u, a)) => (u, Some(a)),
        None => (rest, None),
    };
    let uuid = match parse_uuid(uuid) {
        Ok((_, canonical)) => canonical,
        Err(e) => return Response::text(400, &format!("UUID is missing or malformed: {e}")),
    };
    let stored = |r: std::io::Result<()>| match r {
        Ok(()) => Response::ok(TEXT, ""),
        Err(e) => Response::text(500, &format!("could not record the registration: {e}")),
    };
    match (req.method.as_str(), app) {
        ("PUT", None) => {
            let tokens = form_values(req.query.as_deref().unwrap_or(""), "token");
            let [token] = tokens.as_slice() else {
                return Response::text(400, "token missing");
            };
            if token.is_empty() || token.len() > 256 {
                return Response::text(400, "token missing");
            }
            if let Err(e) = PodManifest::from_json(&req.body) {
                return Response::text(400, &format!("JSON-decoding failed: {e}"));
            }
            let Ok(manifest) = serde_json::from_slice(&req.body) else {
                return Response::text(400, "JSON-decoding failed");
            };
            stored(reg.add_pod(&uuid, token, manifest))
        }
        ("PUT", Some(app)) => {
            if app.is_empty() {
                return Response::text(400, "app missing");
            }
            if AcName::parse(app).is_err() {
                return Response::text(400, &format!("App name {app:?} is not a valid AC Name"));
            }
            if let Err(e) = ImageManifest::from_json(&req.body) {
                return Response::text(400, &format!("JSON-decoding failed: {e}"));
            }
            let Ok(manifest) = serde_json::from_slice(&req.body) else {
                return Response::text(400, "JSON-decoding failed");
            };
            match reg.add_app(&uuid, app, manifest) {
                Ok(true) => Response::ok(TEXT, ""),
                Ok(false) => Response::text(404, "Pod with given UUID not found"),
                Err(e) => stored(Err(e)),
            }
        }
        ("DELETE", None) => match reg.remove(&uuid) {
            Ok(true) => Response::ok(TEXT, ""),
            Ok(false) => Response::text(404, "pod not found"),
            Err(e) => stored(Err(e)),
        },
        _ => not_found(),
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
