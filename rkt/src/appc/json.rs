//! Reading and writing JSON the way rkt (Go's encoding/json) did.
//!
//! serde_json parses the bytes into [`Json`], a value whose objects keep their keys in order and
//! may not repeat a key. The typed structs then take their fields from it by hand with
//! [`Fields`], because Go matches struct field names case-insensitively (`ACKIND`,
//! `supplementaryGids`) while the keys of free-form maps (`userLabels`, sysctl) stay as written,
//! and serde derive can do neither that nor reject `name` next to `NAME`. Unknown fields are
//! ignored, as in Go; `null` counts as absent, as Go leaves the field at its zero value.
//!
//! Writing produces Go's bytes: fields in the Go structs' order, Go's string escaping
//! (`<`, `>`, `&`, U+2028 and U+2029 escaped), and `MarshalIndent(v, "", "\t")` for the pretty
//! form, which is what `rkt cat-manifest --pretty-print` printed.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::{Error, Path};

/// A parsed JSON value. Objects are ordered lists of distinct keys.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses a whole document. serde_json's recursion limit (128) stays on, so deep nesting is an
    /// error and never a stack overflow; trailing data is an error, as in Go.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Json, Error> {
        serde_json::from_slice(bytes).map_err(|e| Error::syntax(&e))
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// Compact output, as Go's `json.Marshal`.
    pub(crate) fn to_compact(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self, None);
        out
    }

    /// Indented output, as Go's `json.MarshalIndent(v, "", "\t")`.
    pub(crate) fn to_pretty(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self, Some(0));
        out
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Json>()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        // An object naming a key twice is ambiguous (Go keeps the last, other parsers the first),
        // so it is refused outright; serde_json adds the line and column.
        let mut seen = HashSet::new();
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let value = map.next_value::<Json>()?;
            entries.push((key, value));
        }
        Ok(Json::Object(entries))
    }
}

/// Conversion from a [`Json`] value at a known path.
pub(crate) trait FromJson: Sized {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Self, Error>;
}

/// Conversion to a [`Json`] value in canonical (Go) form.
pub(crate) trait ToJson {
    fn to_json(&self) -> Json;
}

impl FromJson for String {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<String, Error> {
        Ok(string(v, at)?.to_owned())
    }
}

impl FromJson for bool {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<bool, Error> {
        match v {
            Json::Bool(b) => Ok(*b),
            other => Err(Error::wrong_type(at, "a boolean", other)),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Vec<T>, Error> {
        match v {
            Json::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| T::from_json(item, &at.index(i)))
                .collect(),
            other => Err(Error::wrong_type(at, "an array", other)),
        }
    }
}

impl ToJson for String {
    fn to_json(&self) -> Json {
        Json::String(self.clone())
    }
}

impl<T: ToJson> ToJson for [T] {
    fn to_json(&self) -> Json {
        Json::Array(self.iter().map(ToJson::to_json).collect())
    }
}

/// A `[{"name": N, "value": "..."}]` list (labels, annotations, environment). Names are
/// required; a missing value is the empty string, as in Go.
pub(crate) fn name_value_list<N: FromJson>(
    v: &Json,
    at: &Path<'_>,
) -> Result<Vec<(N, String)>, Error> {
    match v {
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = at.index(i);
                let f = Fields::new(item, &at)?;
                Ok((f.req("name")?, f.opt("value")?.unwrap_or_default()))
            })
            .collect(),
        other => Err(Error::wrong_type(at, "an array", other)),
    }
}

/// Writes a `[{"name": ..., "value": ...}]` list.
pub(crate) fn name_value_list_json<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Json {
    Json::Array(
        pairs
            .map(|(name, value)| {
                ObjectBuilder::new()
                    .put("name", Json::String(name.to_owned()))
                    .put("value", Json::String(value.to_owned()))
                    .build()
            })
            .collect(),
    )
}

/// The index of the first item whose key appeared before it. Linear time, because a hostile
/// manifest can hold tens of thousands of labels or variables.
pub(crate) fn first_repeat<'k, T>(items: &'k [T], key: impl Fn(&'k T) -> &'k str) -> Option<usize> {
    let mut seen = HashSet::new();
    items.iter().position(|item| !seen.insert(key(item)))
}

/// The string in `v`, or a type error.
pub(crate) fn string<'v>(v: &'v Json, at: &Path<'_>) -> Result<&'v str, Error> {
    match v {
        Json::String(s) => Ok(s),
        other => Err(Error::wrong_type(at, "a string", other)),
    }
}

/// The integer in `v` (JSON integers only: Go refuses `1.0` and `1e2` for integer fields).
pub(crate) fn integer(v: &Json, at: &Path<'_>) -> Result<i128, Error> {
    match v {
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Ok(i128::from(u)),
            (None, Some(i)) => Ok(i128::from(i)),
            (None, None) => Err(Error::wrong_type(at, "an integer", v)),
        },
        other => Err(Error::wrong_type(at, "an integer", other)),
    }
}

/// An integer within `min..=max`; `what` names the rule in the error.
pub(crate) fn integer_in(
    v: &Json,
    at: &Path<'_>,
    min: i128,
    max: i128,
    what: &str,
) -> Result<i128, Error> {
    let n = integer(v, at)?;
    if n < min || n > max {
        return Err(Error::invalid(
            at,
            &n.to_string(),
            format!("{what} must be between {min} and {max}"),
        ));
    }
    Ok(n)
}

/// The fields of one JSON object that maps onto a Go struct.
pub(crate) struct Fields<'a> {
    entries: &'a [(String, Json)],
    at: &'a Path<'a>,
}

impl<'a> Fields<'a> {
    /// `v` must be an object.
    pub(crate) fn new(v: &'a Json, at: &'a Path<'a>) -> Result<Fields<'a>, Error> {
        match v {
            Json::Object(entries) => Ok(Fields { entries, at }),
            other => Err(Error::wrong_type(at, "an object", other)),
        }
    }

    /// The value of field `name`, matched as Go's encoding/json matches struct fields: exactly or
    /// case-insensitively (with Unicode simple folding, so `ſ` matches `s` and the Kelvin sign
    /// matches `k`). Two spellings of one field are an error; `null` is absent.
    pub(crate) fn raw(&self, name: &'static str) -> Result<Option<&'a Json>, Error> {
        let mut found: Option<&'a (String, Json)> = None;
        for entry in self.entries.iter().filter(|(key, _)| go_fold_eq(key, name)) {
            if let Some((first, _)) = found {
                let spellings = format!("{first:?} and {:?}", entry.0);
                return Err(Error::duplicate(&self.at.field(name), spellings));
            }
            found = Some(entry);
        }
        Ok(found.map(|(_, v)| v).filter(|v| **v != Json::Null))
    }

    /// Field `name` if present.
    pub(crate) fn opt<T: FromJson>(&self, name: &'static str) -> Result<Option<T>, Error> {
        self.opt_with(name, T::from_json)
    }

    /// Field `name`, which must be present.
    pub(crate) fn req<T: FromJson>(&self, name: &'static str) -> Result<T, Error> {
        self.opt(name)?
            .ok_or_else(|| Error::missing(&self.at.field(name)))
    }

    /// A list field; absent and `null` give an empty list, as Go's nil slice.
    pub(crate) fn list<T: FromJson>(&self, name: &'static str) -> Result<Vec<T>, Error> {
        Ok(self.opt(name)?.unwrap_or_default())
    }

    /// A boolean field defaulting to false.
    pub(crate) fn flag(&self, name: &'static str) -> Result<bool, Error> {
        Ok(self.opt(name)?.unwrap_or(false))
    }

    /// Field `name` if present, converted by `parse` (for values with field-specific rules).
    pub(crate) fn opt_with<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&Json, &Path<'_>) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        match self.raw(name)? {
            Some(v) => parse(v, &self.at.field(name)).map(Some),
            None => Ok(None),
        }
    }

    /// Field `name`, which must be present, converted by `parse`.
    pub(crate) fn req_with<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&Json, &Path<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.opt_with(name, parse)?
            .ok_or_else(|| Error::missing(&self.at.field(name)))
    }

    /// Refuses field `name`: it belongs to the other manifest kind (see [`super::image`]).
    pub(crate) fn forbid(&self, name: &'static str, reason: &'static str) -> Result<(), Error> {
        match self.raw(name)? {
            Some(_) => Err(Error::rule(&self.at.field(name), reason)),
            None => Ok(()),
        }
    }
}

/// Go's `bytes.EqualFold` restricted to what can match an ASCII field name: ASCII letters fold,
/// and so do U+017F (long s, folds to `s`) and U+212A (Kelvin sign, folds to `k`).
fn go_fold_eq(key: &str, field: &str) -> bool {
    let mut fc = field.chars();
    for k in key.chars() {
        let Some(f) = fc.next() else { return false };
        let same = k.eq_ignore_ascii_case(&f)
            || (k == '\u{17f}' && f.eq_ignore_ascii_case(&'s'))
            || (k == '\u{212a}' && f.eq_ignore_ascii_case(&'k'));
        if !same {
            return false;
        }
    }
    fc.next().is_none()
}

/// Builds an object in field order.
pub(crate) struct ObjectBuilder(Vec<(String, Json)>);

impl ObjectBuilder {
    pub(crate) fn new() -> ObjectBuilder {
        ObjectBuilder(Vec::new())
    }

    pub(crate) fn put(mut self, name: &str, value: Json) -> ObjectBuilder {
        self.0.push((name.to_owned(), value));
        self
    }

    /// Adds the field only when `keep` holds: Go's `omitempty`.
    pub(crate) fn put_if(
        self,
        keep: bool,
        name: &str,
        value: impl FnOnce() -> Json,
    ) -> ObjectBuilder {
        if keep {
            self.put(name, value())
        } else {
            self
        }
    }

    /// A list field that Go writes as `null` when empty (a nil slice without `omitempty`).
    pub(crate) fn put_list<T: ToJson>(self, name: &str, items: &[T]) -> ObjectBuilder {
        let value = if items.is_empty() {
            Json::Null
        } else {
            items.to_json()
        };
        self.put(name, value)
    }

    /// A list field with `omitempty`.
    pub(crate) fn put_nonempty<T: ToJson>(self, name: &str, items: &[T]) -> ObjectBuilder {
        self.put_if(!items.is_empty(), name, || items.to_json())
    }

    pub(crate) fn build(self) -> Json {
        Json::Object(self.0)
    }
}

fn write_value(out: &mut String, v: &Json, indent: Option<usize>) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => write_string(out, s),
        Json::Array(items) => write_seq(out, '[', ']', items.iter(), indent, |out, item, ind| {
            write_value(out, item, ind)
        }),
        Json::Object(entries) => write_seq(
            out,
            '{',
            '}',
            entries.iter(),
            indent,
            |out, (key, value), ind| {
                write_string(out, key);
                out.push(':');
                if ind.is_some() {
                    out.push(' ');
                }
                write_value(out, value, ind);
            },
        ),
    }
}

/// Writes a bracketed sequence; empty ones stay `[]`/`{}` in both forms, as in Go.
fn write_seq<I: ExactSizeIterator>(
    out: &mut String,
    open: char,
    close: char,
    items: I,
    indent: Option<usize>,
    mut write_item: impl FnMut(&mut String, I::Item, Option<usize>),
) {
    out.push(open);
    let empty = items.len() == 0;
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        if let Some(level) = indent {
            newline(out, level + 1);
        }
        write_item(out, item, indent.map(|level| level + 1));
    }
    if let (Some(level), false) = (indent, empty) {
        newline(out, level);
    }
    out.push(close);
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push('\t');
    }
}

/// Go's `encoding/json` string encoding, HTML-safe escapes included.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
