//! TEMPORARY stand-in for the appc module (replaced on merge).
//!
//! It offers only the contract the `image` module builds on:
//! `ImageManifest::from_json(&[u8]) -> Result<ImageManifest, Error>`, with a few checks (kind,
//! version, AC Identifier name and label names) so that the image tests exercise a rejecting
//! validator. The real module validates the whole schema.

use std::fmt;

/// A parsed image manifest (the stand-in keeps the JSON value).
#[derive(Debug, Clone)]
pub(crate) struct ImageManifest {
    #[allow(dead_code)]
    value: serde_json::Value,
}

#[derive(Debug)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ImageManifest {
    pub(crate) fn from_json(bytes: &[u8]) -> Result<ImageManifest, Error> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| Error(e.to_string()))?;
        let obj = value
            .as_object()
            .ok_or_else(|| Error("manifest is not a JSON object".into()))?;
        if obj.get("acKind").and_then(|v| v.as_str()) != Some("ImageManifest") {
            return Err(Error(
                "missing or bad ACKind (must be \"ImageManifest\")".into(),
            ));
        }
        match obj.get("acVersion").and_then(|v| v.as_str()) {
            Some(v) if !v.is_empty() => {}
            _ => return Err(Error("acVersion must be a non-empty string".into())),
        }
        match obj.get("name").and_then(|v| v.as_str()) {
            Some(name) if is_ac_identifier(name) => {}
            _ => return Err(Error("name must be an AC Identifier".into())),
        }
        if let Some(labels) = obj.get("labels") {
            let labels = labels
                .as_array()
                .ok_or_else(|| Error("labels must be an array".into()))?;
            for label in labels {
                let name = label.get("name").and_then(|v| v.as_str());
                let value = label.get("value").and_then(|v| v.as_str());
                match (name, value) {
                    (Some(n), Some(_)) if is_ac_identifier(n) => {}
                    _ => return Err(Error("bad label".into())),
                }
            }
        }
        Ok(ImageManifest { value })
    }
}

fn is_ac_identifier(s: &str) -> bool {
    let sep = |c: char| matches!(c, '-' | '.' | '_' | '~' | '/');
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || sep(c))
        && !s.starts_with(sep)
        && !s.ends_with(sep)
}
