//! The one error type of the appc module, and the JSON path that locates an error in a document.
//!
//! Every message names where (a path such as `app.isolators[1].value.limit`), what (the offending
//! value, quoted) and why (the rule, worded after the Go reference code where it has a message).

use std::borrow::Cow;
use std::fmt;

use super::json::Json;

/// A schema error: not JSON, a missing or mistyped field, a duplicate, or a broken rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Error {
    /// JSON path of the offending field; empty for a standalone parse such as `AcName::parse`.
    at: String,
    /// The offending value as written (strings only), shortened when huge.
    value: Option<String>,
    kind: Kind,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// Not JSON, trailing data, or nesting deeper than serde_json's recursion limit (128). Holds
    /// serde_json's message, which carries the line and column.
    Syntax(String),
    /// A required field is absent or `null`.
    Missing,
    /// The JSON type is wrong.
    Type {
        expected: &'static str,
        found: &'static str,
    },
    /// A field given twice; the text lists the spellings (fields match case-insensitively).
    Duplicate(String),
    /// The value breaks a rule of the spec or of its reference code.
    Invalid(Cow<'static, str>),
}

/// Longest value quoted in a message: a hostile manifest must not turn into a megabyte of error.
const MAX_QUOTED: usize = 120;

impl Error {
    pub(crate) fn syntax(err: &serde_json::Error) -> Error {
        Error {
            at: String::new(),
            value: None,
            kind: Kind::Syntax(err.to_string()),
        }
    }

    pub(crate) fn missing(at: &Path<'_>) -> Error {
        Error {
            at: at.render(),
            value: None,
            kind: Kind::Missing,
        }
    }

    pub(crate) fn wrong_type(at: &Path<'_>, expected: &'static str, found: &Json) -> Error {
        let found = found.type_name();
        Error {
            at: at.render(),
            value: None,
            kind: Kind::Type { expected, found },
        }
    }

    pub(crate) fn duplicate(at: &Path<'_>, spellings: String) -> Error {
        Error {
            at: at.render(),
            value: None,
            kind: Kind::Duplicate(spellings),
        }
    }

    /// A broken rule about `value`, which the message quotes.
    pub(crate) fn invalid(
        at: &Path<'_>,
        value: &str,
        reason: impl Into<Cow<'static, str>>,
    ) -> Error {
        Error {
            at: at.render(),
            value: Some(shorten(value)),
            kind: Kind::Invalid(reason.into()),
        }
    }

    /// A broken rule whose reason already says everything (for example a duplicate name).
    pub(crate) fn rule(at: &Path<'_>, reason: impl Into<Cow<'static, str>>) -> Error {
        Error {
            at: at.render(),
            value: None,
            kind: Kind::Invalid(reason.into()),
        }
    }

    /// Where the error is, as a JSON path (`app.environment[2].name`).
    pub(crate) fn path(&self) -> &str {
        &self.at
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }
}

fn shorten(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}...", &value[..cut]),
        None => value.to_owned(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.at.is_empty() {
            "value"
        } else {
            self.at.as_str()
        };
        match &self.kind {
            Kind::Syntax(msg) => write!(f, "invalid JSON: {msg}"),
            Kind::Missing => write!(f, "missing required field {at}"),
            Kind::Type { expected, found } => {
                write!(f, "invalid {at}: must be {expected}, not {found}")
            }
            Kind::Duplicate(spellings) => write!(f, "duplicate field {at} ({spellings})"),
            Kind::Invalid(reason) => match (&self.value, self.at.is_empty()) {
                (Some(value), true) => write!(f, "invalid {value:?}: {reason}"),
                (Some(value), false) => write!(f, "invalid {at} {value:?}: {reason}"),
                (None, _) => write!(f, "invalid {at}: {reason}"),
            },
        }
    }
}

impl std::error::Error for Error {}

/// A location in a JSON document, built on the stack while descending and rendered only when an
/// error needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Root,
    /// A struct field, rendered `.name`.
    Field(&'a str),
    /// A key of a free-form map, rendered `["key"]`.
    Entry(&'a str),
    /// An array element, rendered `[3]`.
    Index(usize),
}

impl Path<'static> {
    pub(crate) const ROOT: Path<'static> = Path {
        parent: None,
        seg: Seg::Root,
    };
}

impl<'a> Path<'a> {
    pub(crate) fn field(&'a self, name: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Field(name),
        }
    }

    pub(crate) fn entry(&'a self, key: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Entry(key),
        }
    }

    pub(crate) fn index(&'a self, i: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Seg::Index(i),
        }
    }

    pub(crate) fn render(&self) -> String {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(p.seg);
            cur = p.parent;
        }
        let mut out = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Field(name) if out.is_empty() => out.push_str(name),
                Seg::Field(name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Seg::Entry(key) => out.push_str(&format!("[{:?}]", shorten(key))),
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}
