//! Just enough HTTP/1.1 for the metadata service: one request per connection (every reply
//! says `Connection: close`, so a client never reuses a connection the service closes),
//! `Content-Length` bodies only, and caps on the head and the body.

use std::fmt::Write as _;

/// At most this much request head (request line and headers).
pub(crate) const MAX_HEAD: usize = 8 << 10;

/// A complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// The path, percent-decoded, without the query.
    pub(crate) path: String,
    /// The raw query (after `?`), if any.
    pub(crate) query: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// What parsing the bytes read so far gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// More bytes are needed.
    Partial,
    Done(Request),
    /// A request that cannot be served; answered with this status and closed.
    Refused(Response),
}

/// Parses `buf`; `max_body` caps the body.
pub(crate) fn parse(buf: &[u8], max_body: usize) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Parsed::Refused(Response::text(431, "request header too large\n"))
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Refused(Response::text(400, "malformed request\n")),
    };
    if head_len > MAX_HEAD {
        return Parsed::Refused(Response::text(431, "request header too large\n"));
    }
    let mut length = 0usize;
    let mut content_type = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
            {
                Some(n) => length = n,
                None => return Parsed::Refused(Response::text(400, "bad Content-Length\n")),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Refused(Response::text(411, "Content-Length required\n"));
        } else if h.name.eq_ignore_ascii_case("content-type") {
            content_type = std::str::from_utf8(h.value).ok().map(str::to_string);
        }
    }
    if length > max_body {
        return Parsed::Refused(Response::text(413, "request body too large\n"));
    }
    if buf.len() < head_len + length {
        return Parsed::Partial;
    }
    let target = req.path.unwrap_or("/");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (target, None),
    };
    let Some(path) = percent_decode(path, false) else {
        return Parsed::Refused(Response::text(400, "malformed request path\n"));
    };
    Parsed::Done(Request {
        method: req.method.unwrap_or("").to_string(),
        path,
        query,
        content_type,
        body: buf[head_len..head_len + length].to_vec(),
    })
}

/// `%XX` decoding (and `+` as a space in form values); None for bad escapes or non-UTF-8.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The values of `key` in an `application/x-www-form-urlencoded` string.
pub(crate) fn form_values(form: &str, key: &str) -> Vec<String> {
    form.split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true)? == key).then(|| percent_decode(v, true))?
        })
        .collect()
}

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) body: Vec<u8>,
}

pub(crate) const JSON: &str = "application/json";
pub(crate) const TEXT: &str = "text/plain; charset=us-ascii";

impl Response {
    pub(crate) fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status: 200,
            content_type: Some(content_type),
            body: body.into(),
        }
    }

    /// An error reply: rkt's (Go's) plain-text words.
    pub(crate) fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: Some("text/plain; charset=utf-8"),
            body: body.as_bytes().to_vec(),
        }
    }

    /// The bytes on the wire.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            411 => "Length Required",
            413 => "Payload Too Large",
            431 => "Request Header Fields Too Large",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", self.status);
        if let Some(ct) = self.content_type {
            let _ = write!(head, "Content-Type: {ct}\r\n");
        }
        let _ = write!(
            head,
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.body.len()
        );
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_parsed_whole_and_capped() {
        let req = b"POST /t/acMetadata/v1/pod/hmac/sign?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\ncontent=a";
        assert_eq!(parse(&req[..40], 100), Parsed::Partial);
        assert_eq!(parse(&req[..req.len() - 1], 100), Parsed::Partial);
        let Parsed::Done(r) = parse(req, 100) else {
            panic!("not parsed")
        };
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_deref()),
            ("POST", "/t/acMetadata/v1/pod/hmac/sign", Some("x=1"))
        );
        assert_eq!(r.body, b"content=a");
        assert!(matches!(
            parse(req, 8),
            Parsed::Refused(Response { status: 413, .. })
        ));
        assert!(matches!(
            parse(b"GARBAGE\x01\r\n\r\n", 100),
            Parsed::Refused(Response { status: 400, .. })
        ));
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(MAX_HEAD));
        assert!(matches!(
            parse(big.as_bytes(), 100),
            Parsed::Refused(Response { status: 431, .. })
        ));
        let chunked = b"PUT /pods/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(
            parse(chunked, 100),
            Parsed::Refused(Response { status: 411, .. })
        ));
    }

    #[test]
    fn forms_decode_as_go_does() {
        let form = "content=Old+MacDonald%2BFarm&uuid=abc&content=second";
        assert_eq!(
            form_values(form, "content"),
            ["Old MacDonald+Farm", "second"]
        );
        assert_eq!(form_values(form, "uuid"), ["abc"]);
        assert!(form_values(form, "none").is_empty());
        assert_eq!(percent_decode("%zz", false), None);
    }

    #[test]
    fn replies_close_and_carry_their_length() {
        let r = Response::ok(TEXT, "abc").encode();
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
        );
    }
}
