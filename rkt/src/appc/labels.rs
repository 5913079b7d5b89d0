//! Labels: the `[{name, value}]` list that qualifies an image name (spec aci.md "Image
//! Manifest Schema"; Go `schema/types/labels.go`).
//!
//! Rules (Go `Labels.assertValid`): names are AC Identifiers, unique, and never `name`; when an
//! `os` label is present it must be a known OS, and an `arch` label must then be one of that OS's
//! architectures. `arch` without `os` is accepted: it only means something next to `os`.

use super::error::{Error, Path};
use super::json::{first_repeat, name_value_list, name_value_list_json, FromJson, Json, ToJson};
use super::name::AcIdentifier;

/// The os/arch combinations of Go's `types.ValidOSArch` (appc 0.8.11), in its order.
pub(crate) const VALID_OS_ARCH: &[(&str, &[&str])] = &[
    (
        "linux",
        &[
            "amd64",
            "i386",
            "aarch64",
            "aarch64_be",
            "armv6l",
            "armv7l",
            "armv7b",
            "ppc64",
            "ppc64le",
            "s390x",
        ],
    ),
    ("freebsd", &["amd64", "i386", "arm"]),
    ("darwin", &["x86_64", "i386"]),
];

/// An ordered list of labels with unique names and a valid os/arch pair.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Labels(Vec<(AcIdentifier, String)>);

impl Labels {
    /// Validates and wraps `labels`, keeping their order.
    pub(crate) fn new(labels: Vec<(AcIdentifier, String)>) -> Result<Labels, Error> {
        check(&labels, &Path::ROOT)?;
        Ok(Labels(labels))
    }

    /// The value of label `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&AcIdentifier, &str)> + '_ {
        self.0.iter().map(|(n, v)| (n, v.as_str()))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn check(labels: &[(AcIdentifier, String)], at: &Path<'_>) -> Result<(), Error> {
    if let Some(i) = labels.iter().position(|(n, _)| n.as_str() == "name") {
        return Err(Error::rule(&at.index(i), r#"invalid label name: "name""#));
    }
    if let Some(i) = first_repeat(labels, |(n, _)| n.as_str()) {
        let name = labels[i].0.as_str();
        return Err(Error::rule(
            &at.index(i),
            format!("duplicate labels of name {name:?}"),
        ));
    }
    let value = |wanted: &str| {
        labels
            .iter()
            .find(|(n, _)| n.as_str() == wanted)
            .map(|(_, v)| v)
    };
    let Some(os) = value("os") else { return Ok(()) };
    let Some((_, archs)) = VALID_OS_ARCH.iter().find(|(known, _)| known == os) else {
        let mut oses: Vec<&str> = VALID_OS_ARCH.iter().map(|(o, _)| *o).collect();
        oses.sort_unstable();
        return Err(Error::rule(
            at,
            format!("bad os {os:?} (must be one of: [{}])", oses.join(" ")),
        ));
    };
    if let Some(arch) = value("arch") {
        if !archs.contains(&arch.as_str()) {
            return Err(Error::rule(
                at,
                format!(
                    "bad arch {arch:?} for {os} (must be one of: [{}])",
                    archs.join(" ")
                ),
            ));
        }
    }
    Ok(())
}

impl FromJson for Labels {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Labels, Error> {
        let labels = name_value_list(v, at)?;
        check(&labels, at)?;
        Ok(Labels(labels))
    }
}

impl ToJson for Labels {
    fn to_json(&self) -> Json {
        name_value_list_json(self.iter().map(|(n, v)| (n.as_str(), v)))
    }
}
