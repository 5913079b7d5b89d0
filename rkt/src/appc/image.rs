//! The image manifest: the `manifest` file of an ACI (spec aci.md; Go `schema/image.go`,
//! `schema/types/dependencies.go`).
//!
//! A document is read as the kind it claims to be and nothing else: `acKind` must be
//! `ImageManifest`, and a document that also carries the pod manifest's `apps` is refused, so one
//! file can never be valid as both kinds (the type-confusion shape of CVE-2021-41190).

use super::annotations::Annotations;
use super::app::App;
use super::error::{Error, Path};
use super::hash::ImageId;
use super::json::{integer, string, Fields, FromJson, Json, ObjectBuilder, ToJson};
use super::labels::Labels;
use super::name::AcIdentifier;
use super::semver::SemVer;

pub(crate) const IMAGE_MANIFEST_KIND: &str = "ImageManifest";

/// An ACI's manifest. `acKind` is implied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ImageManifest {
    pub(crate) ac_version: SemVer,
    pub(crate) name: AcIdentifier,
    pub(crate) labels: Labels,
    pub(crate) app: Option<App>,
    pub(crate) dependencies: Vec<Dependency>,
    /// Paths that survive rendering; empty means all (the spec treats `[]` as absent).
    pub(crate) path_whitelist: Vec<String>,
    pub(crate) annotations: Annotations,
}

impl ImageManifest {
    /// A manifest for image `name` with nothing else in it.
    pub(crate) fn new(name: AcIdentifier) -> ImageManifest {
        ImageManifest {
            ac_version: SemVer::appc(),
            name,
            labels: Labels::default(),
            app: None,
            dependencies: Vec::new(),
            path_whitelist: Vec::new(),
            annotations: Annotations::default(),
        }
    }

    /// Parses and validates a manifest.
    pub(crate) fn from_json(bytes: &[u8]) -> Result<ImageManifest, Error> {
        ImageManifest::read(&Json::parse(bytes)?, &Path::ROOT)
    }

    /// Canonical compact JSON, as Go's `json.Marshal`.
    pub(crate) fn to_json(&self) -> String {
        self.write().to_compact()
    }

    /// Tab-indented JSON, as `rkt image cat-manifest --pretty-print` (Go's
    /// `json.MarshalIndent(m, "", "\t")`).
    pub(crate) fn to_json_pretty(&self) -> String {
        self.write().to_pretty()
    }

    fn read(v: &Json, at: &Path<'_>) -> Result<ImageManifest, Error> {
        let f = Fields::new(v, at)?;
        check_kind(&f, at, IMAGE_MANIFEST_KIND)?;
        f.forbid(
            "apps",
            "a pod manifest field; this document must be an image manifest",
        )?;
        Ok(ImageManifest {
            ac_version: f.req("acVersion")?,
            name: f.req("name")?,
            labels: f.opt("labels")?.unwrap_or_default(),
            app: f.opt("app")?,
            dependencies: f.list("dependencies")?,
            path_whitelist: f.list("pathWhitelist")?,
            annotations: f.opt("annotations")?.unwrap_or_default(),
        })
    }

    fn write(&self) -> Json {
        ObjectBuilder::new()
            .put("acKind", Json::String(IMAGE_MANIFEST_KIND.to_owned()))
            .put("acVersion", self.ac_version.to_json())
            .put("name", self.name.to_json())
            .put_if(!self.labels.is_empty(), "labels", || self.labels.to_json())
            .put_if(self.app.is_some(), "app", || {
                self.app.as_ref().map_or(Json::Null, ToJson::to_json)
            })
            .put_if(!self.annotations.is_empty(), "annotations", || {
                self.annotations.to_json()
            })
            .put_nonempty("dependencies", &self.dependencies)
            .put_nonempty("pathWhitelist", &self.path_whitelist)
            .build()
    }
}

/// `acKind` must name the expected kind exactly (Go `InvalidACKindError`).
pub(crate) fn check_kind(f: &Fields<'_>, at: &Path<'_>, kind: &'static str) -> Result<(), Error> {
    let found = f.opt_with("acKind", |v, at| string(v, at).map(str::to_owned))?;
    if found.as_deref() != Some(kind) {
        let reason = format!("missing or bad ACKind (must be {kind:?})");
        return Err(match found {
            Some(found) => Error::invalid(&at.field("acKind"), &found, reason),
            None => Error::rule(&at.field("acKind"), reason),
        });
    }
    Ok(())
}

/// An image this one is layered on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dependency {
    pub(crate) image_name: AcIdentifier,
    /// When given, the fetched image's ID must match it.
    pub(crate) image_id: Option<ImageId>,
    /// Discovery labels; an absent label matches any value.
    pub(crate) labels: Labels,
    /// Expected size in bytes; Go writes 0 as absent, so `Some(0)` never occurs.
    pub(crate) size: Option<u64>,
}

impl FromJson for Dependency {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Dependency, Error> {
        let f = Fields::new(v, at)?;
        let size = f.opt_with("size", |v, at| {
            let n = integer(v, at)?;
            u64::try_from(n)
                .map_err(|_| Error::invalid(at, &n.to_string(), "size must not be negative"))
        })?;
        Ok(Dependency {
            image_name: f.req("imageName")?,
            image_id: f.opt("imageID")?,
            labels: f.opt("labels")?.unwrap_or_default(),
            size: size.filter(|s| *s != 0),
        })
    }
}

impl ToJson for Dependency {
    fn to_json(&self) -> Json {
        ObjectBuilder::new()
            .put("imageName", self.image_name.to_json())
            .put_if(self.image_id.is_some(), "imageID", || {
                self.image_id.as_ref().map_or(Json::Null, ToJson::to_json)
            })
            .put_if(!self.labels.is_empty(), "labels", || self.labels.to_json())
            .put_if(self.size.is_some(), "size", || {
                Json::Number(self.size.unwrap_or(0).into())
            })
            .build()
    }
}
