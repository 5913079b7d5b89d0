//! STAND-IN for branch `appc` (deleted at the merge): just enough of the ImageManifest contract.
#![allow(dead_code)]

use serde_json::Value;

#[derive(Debug)]
pub(crate) struct Error(pub(crate) String);
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Error {}

#[derive(Debug, Clone)]
pub(crate) struct AcIdentifier(String);
impl AcIdentifier {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Labels(Vec<(String, String)>);
impl Labels {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ImageId(String);
impl ImageId {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Dependency {
    pub(crate) image_name: AcIdentifier,
    pub(crate) image_id: Option<ImageId>,
    pub(crate) labels: Labels,
    pub(crate) size: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct ImageManifest {
    pub(crate) name: AcIdentifier,
    pub(crate) labels: Labels,
    pub(crate) dependencies: Vec<Dependency>,
    pub(crate) path_whitelist: Vec<String>,
    raw: Value,
}

fn labels(v: Option<&Value>) -> Result<Labels, Error> {
    let mut out = Vec::new();
    if let Some(v) = v {
        for l in v
            .as_array()
            .ok_or_else(|| Error("labels: not an array".into()))?
        {
            let n = l["name"]
                .as_str()
                .ok_or_else(|| Error("label name".into()))?;
            let val = l["value"]
                .as_str()
                .ok_or_else(|| Error("label value".into()))?;
            out.push((n.to_string(), val.to_string()));
        }
    }
    Ok(Labels(out))
}

impl ImageManifest {
    pub(crate) fn from_json(bytes: &[u8]) -> Result<ImageManifest, Error> {
        let raw: Value = serde_json::from_slice(bytes).map_err(|e| Error(e.to_string()))?;
        if raw["acKind"] != "ImageManifest" {
            return Err(Error(
                "missing or bad ACKind (must be \"ImageManifest\")".into(),
            ));
        }
        let name = raw["name"]
            .as_str()
            .ok_or_else(|| Error("missing name".into()))?;
        if name.is_empty() || name.chars().any(|c| c.is_ascii_uppercase() || c == ' ') {
            return Err(Error(format!("invalid name {name:?}")));
        }
        let mut deps = Vec::new();
        if let Some(ds) = raw.get("dependencies").and_then(Value::as_array) {
            for d in ds {
                deps.push(Dependency {
                    image_name: AcIdentifier(d["imageName"].as_str().unwrap_or_default().into()),
                    image_id: d
                        .get("imageID")
                        .and_then(Value::as_str)
                        .map(|s| ImageId(s.into())),
                    labels: labels(d.get("labels"))?,
                    size: d.get("size").and_then(Value::as_u64),
                });
            }
        }
        let path_whitelist = raw
            .get("pathWhitelist")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        Ok(ImageManifest {
            name: AcIdentifier(name.into()),
            labels: labels(raw.get("labels"))?,
            dependencies: deps,
            path_whitelist,
            raw,
        })
    }
    pub(crate) fn to_json(&self) -> String {
        self.raw.to_string()
    }
    pub(crate) fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.raw).unwrap_or_default()
    }
}
