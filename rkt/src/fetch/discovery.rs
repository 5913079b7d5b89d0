//! appc meta discovery (appc-spec §4): for `name` and its labels, GET
//! `https://<prefix>?ac-discovery=1` for the name and then each shorter path prefix, read the
//! `ac-discovery` and `ac-discovery-pubkeys` meta tags whose prefix covers the name (by path
//! component), and render the templates. The HTML parsing and template rendering are pure
//! and bounded: a hostile page costs at most [`PAGE_LIMIT`] bytes and [`META_LIMIT`] tags.

use super::http::Client;
use super::{Error, Result};

/// A discovery page larger than this is refused.
pub(crate) const PAGE_LIMIT: u64 = 1 << 20;
/// Meta tags past this many are ignored.
pub(crate) const META_LIMIT: usize = 1024;

/// Where discovery says an image and its signature are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) aci: String,
    pub(crate) asc: String,
}

/// What discovery found for a name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Discovered {
    pub(crate) endpoints: Vec<Endpoint>,
    /// Key URLs, for `rkt trust` and trust-on-first-use.
    pub(crate) pubkeys: Vec<String>,
    /// The page they came from (after redirects): keys are trusted without review only when
    /// both it and the key URL are https.
    pub(crate) page: String,
}

/// The labels templates see: the asked ones, with `os`/`arch` defaulting to the host's.
pub(crate) fn with_host_defaults(labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = labels.to_vec();
    for (k, v) in [("os", "linux"), ("arch", host_arch())] {
        if !out.iter().any(|(n, _)| n == k) {
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

/// The appc name of this machine's architecture.
pub(crate) fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "i386",
        "arm" => "armv7l",
        "powerpc64" => "ppc64",
        other => other,
    }
}

/// Runs discovery for `name`, walking up its path until a page yields endpoints or keys.
pub(crate) fn discover(
    client: &Client,
    name: &str,
    labels: &[(String, String)],
) -> Result<Discovered> {
    let mut failures = Vec::new();
    let mut pages = 0;
    for prefix in prefixes(name) {
        let url = format!("https://{prefix}?ac-discovery=1");
        let (page, page_url) = match fetch_page(client, &url) {
            Ok(page) => page,
            Err(e @ (Error::TooLarge { .. } | Error::RedirectRefused { .. })) => return Err(e),
            // As rkt: with --insecure-options=http, a host without https is asked over http.
            Err(e @ Error::Http { .. }) if client.allows_http() => {
                crate::log::debug!("discovery: {e}; trying http");
                match fetch_page(client, &format!("http://{prefix}?ac-discovery=1")) {
                    Ok(page) => page,
                    Err(e) => {
                        failures.push(crate::error::chain(&e));
                        continue;
                    }
                }
            }
            Err(e) => {
                crate::log::debug!("discovery: {e}");
                failures.push(crate::error::chain(&e));
                continue;
            }
        };
        pages += 1;
        let mut found = from_metas(&parse_metas(&page), name, labels);
        found.page = page_url;
        if !found.endpoints.is_empty() || !found.pubkeys.is_empty() {
            return Ok(found);
        }
    }
    Err(Error::Discovery {
        name: name.to_string(),
        reason: if pages > 0 {
            "no ac-discovery meta tag matches the name".into()
        } else {
            format!("no usable discovery page ({})", failures.join("; "))
        },
    })
}

/// The page's text and its final URL.
fn fetch_page(client: &Client, url: &str) -> Result<(String, String)> {
    let reply = client.get(url, &[])?;
    if reply.status() != 200 {
        return Err(Error::Status {
            url: reply.url.clone(),
            status: reply.status(),
        });
    }
    let final_url = reply.url.clone();
    let bytes = reply.read_limited(PAGE_LIMIT, "discovery page")?;
    Ok((String::from_utf8_lossy(&bytes).into_owned(), final_url))
}

/// `a/b/c`, `a/b`, `a`.
pub(crate) fn prefixes(name: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(name);
    std::iter::from_fn(move || {
        let cur = next?;
        next = cur.rfind('/').map(|i| &cur[..i]);
        Some(cur)
    })
}

/// Endpoints and keys from the meta tags of one page.
pub(crate) fn from_metas(
    metas: &[(String, String)],
    name: &str,
    labels: &[(String, String)],
) -> Discovered {
    let mut found = Discovered::default();
    for (meta, content) in metas {
        let mut words = content.split_whitespace();
        let (Some(prefix), Some(target), None) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        if !covers(prefix, name) {
            continue;
        }
        match meta.as_str() {
            "ac-discovery" => {
                let aci = render(target, name, labels, "aci");
                let asc = render(target, name, labels, "aci.asc");
                if let (Some(aci), Some(asc)) = (aci, asc) {
                    found.endpoints.push(Endpoint { aci, asc });
                }
            }
            "ac-discovery-pubkeys" => found.pubkeys.push(target.to_string()),
            _ => {}
        }
    }
    found
}

/// Whether `prefix` is `name` or a whole-component prefix of it (`example.com/app` covers
/// `example.com/app/x`, not `example.com/apple`).
pub(crate) fn covers(prefix: &str, name: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    name == prefix || (name.starts_with(prefix) && name.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// A template rendered for `name`, `labels` and `ext`; `None` when a variable is left.
pub(crate) fn render(
    template: &str,
    name: &str,
    labels: &[(String, String)],
    ext: &str,
) -> Option<String> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let var = &after[..close];
        let value = match var {
            "name" => name.to_string(),
            "ext" => ext.to_string(),
            _ => match labels.iter().find(|(k, _)| k == var) {
                Some((_, v)) => query_escape(v),
                None if var == "version" => "latest".to_string(),
                None => return None,
            },
        };
        out.push_str(&value);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// Go's `url.QueryEscape`, which appc uses for label values.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `(name, content)` of each `<meta>` tag, at most [`META_LIMIT`], in one linear pass.
/// Anything malformed is skipped, never an error: discovery only needs the tags it knows.
pub(crate) fn parse_metas(html: &str) -> Vec<(String, String)> {
    let mut metas = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while metas.len() < META_LIMIT {
        let Some(at) = find_ci(&bytes[i..], b"<meta") else {
            break;
        };
        i += at + 5;
        if !bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'/')
        {
            continue;
        }
        let (attrs, end) = parse_attrs(bytes, i);
        i = end;
        let get = |key: &str| {
            attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        if let (Some(name), Some(content)) = (get("name"), get("content")) {
            metas.push((name, content));
        }
    }
    metas
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// The attributes of a tag starting at `i` (after its name), and where the tag ends.
fn parse_attrs(b: &[u8], mut i: usize) -> (Vec<(String, String)>, usize) {
    let mut attrs = Vec::new();
    loop {
        while b
            .get(i)
            .is_some_and(|c| c.is_ascii_whitespace() || *c == b'/')
        {
            i += 1;
        }
        match b.get(i) {
            None => return (attrs, i),
            Some(b'>') => return (attrs, i + 1),
            _ => {}
        }
        let start = i;
        while b
            .get(i)
            .is_some_and(|c| !c.is_ascii_whitespace() && !b"=>/".contains(c))
        {
            i += 1;
        }
        let key = String::from_utf8_lossy(&b[start..i]).into_owned();
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            if key.is_empty() {
                i += 1;
            }
            attrs.push((key, String::new()));
            continue;
        }
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        let value = match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                let vstart = i + 1;
                let len = b[vstart..]
                    .iter()
                    .position(|&c| c == q)
                    .unwrap_or(b.len() - vstart);
                i = (vstart + len + 1).min(b.len());
                &b[vstart..vstart + len]
            }
            _ => {
                let vstart = i;
                while b
                    .get(i)
                    .is_some_and(|c| !c.is_ascii_whitespace() && *c != b'>')
                {
                    i += 1;
                }
                &b[vstart..i]
            }
        };
        attrs.push((key, unescape(&String::from_utf8_lossy(value))));
    }
}

/// The few HTML character references a discovery page uses.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn meta_tags_parse_in_their_usual_forms() {
        let html = r#"<!DOCTYPE html><html><head>
            <META name="ac-discovery" content="example.com https://example.com/{name}-{version}.{ext}">
            <meta content='example.com https://example.com/pubkeys.gpg' name='ac-discovery-pubkeys' />
            <meta name=other content=x>
            <meta name="ac-discovery" content="a &amp; b">
            <metadata name="ac-discovery" content="not a meta tag">
            </head></html>"#;
        assert_eq!(
            parse_metas(html),
            vec![
                (
                    "ac-discovery".into(),
                    "example.com https://example.com/{name}-{version}.{ext}".into()
                ),
                (
                    "ac-discovery-pubkeys".into(),
                    "example.com https://example.com/pubkeys.gpg".into()
                ),
                ("other".into(), "x".into()),
                ("ac-discovery".into(), "a & b".into()),
            ]
        );
    }

    #[test]
    fn hostile_pages_stay_bounded() {
        // Unterminated quotes and tags, a truncated page, and far too many tags.
        for html in [
            "<meta name=\"ac-discovery\" content=\"x",
            "<meta name=",
            "<meta",
            "<meta <meta <meta name=a content=b>",
            "<<<>>>&&&",
        ] {
            assert!(parse_metas(html).len() <= 1, "{html}");
        }
        let many = "<meta name=a content=b>".repeat(100_000);
        assert_eq!(parse_metas(&many).len(), META_LIMIT);
    }

    #[test]
    fn templates_render_with_defaults_and_escaping() {
        let l = with_host_defaults(&labels(&[("version", "1.0/../x?#"), ("os", "linux")]));
        assert_eq!(
            render(
                "https://h/{name}/{version}/{os}/{arch}.{ext}",
                "h/app",
                &l,
                "aci"
            )
            .unwrap(),
            format!(
                "https://h/h/app/1.0%2F..%2Fx%3F%23/linux/{}.aci",
                host_arch()
            )
        );
        // No version asked: `latest`.
        assert_eq!(
            render("https://h/{name}-{version}.{ext}", "h/app", &[], "aci.asc").unwrap(),
            "https://h/h/app-latest.aci.asc"
        );
        // A label value cannot inject a variable.
        let l = labels(&[("version", "{ext}")]);
        assert_eq!(
            render("https://h/{version}.{ext}", "n", &l, "aci").unwrap(),
            "https://h/%7Bext%7D.aci"
        );
        // Unknown variables, and broken braces, skip the template.
        assert_eq!(
            render("https://h/{name}-{channel}.{ext}", "n", &[], "aci"),
            None
        );
        assert_eq!(render("https://h/{name", "n", &[], "aci"), None);
        assert_eq!(render("https://h/name}", "n", &[], "aci"), None);
        let l = labels(&[("channel", "alpha beta")]);
        assert_eq!(
            render("https://h/{channel}", "n", &l, "aci").unwrap(),
            "https://h/alpha+beta"
        );
    }

    #[test]
    fn prefixes_match_by_path_component() {
        assert!(covers("example.com/app", "example.com/app"));
        assert!(covers("example.com/app", "example.com/app/sub"));
        assert!(covers("example.com/app/", "example.com/app/sub"));
        assert!(!covers("example.com/app", "example.com/apple"));
        assert!(!covers("example.com/app/sub", "example.com/app"));
        assert_eq!(
            prefixes("a.com/b/c").collect::<Vec<_>>(),
            vec!["a.com/b/c", "a.com/b", "a.com"]
        );
    }

    #[test]
    fn endpoints_and_keys_from_metas() {
        let metas = vec![
            (
                "ac-discovery".to_string(),
                "example.com/apple https://x/{name}.{ext}".to_string(),
            ),
            (
                "ac-discovery".to_string(),
                "example.com https://h/{name}-{channel}.{ext}".to_string(),
            ),
            (
                "ac-discovery".to_string(),
                "example.com https://h/{name}-{version}.{ext}".to_string(),
            ),
            (
                "ac-discovery-pubkeys".to_string(),
                "example.com https://h/key.gpg".to_string(),
            ),
            (
                "ac-discovery-pubkeys".to_string(),
                "other.com https://o/key.gpg".to_string(),
            ),
            (
                "ac-discovery".to_string(),
                "example.com too many words".to_string(),
            ),
        ];
        let found = from_metas(&metas, "example.com/app", &labels(&[("version", "2")]));
        assert_eq!(
            found.endpoints,
            vec![Endpoint {
                aci: "https://h/example.com/app-2.aci".into(),
                asc: "https://h/example.com/app-2.aci.asc".into(),
            }]
        );
        assert_eq!(found.pubkeys, vec!["https://h/key.gpg".to_string()]);
    }
}
