//! The pod manifest: the apps of a pod and what they share (spec pods.md; Go `schema/pod.go`).
//!
//! Read only as `acKind: PodManifest`, refusing the image manifest's `app` (see
//! [`super::image`]). App names and volume names are unique. Pod-level isolators may have names
//! this module does not know (they bound the apps' isolators; an executor reports what it
//! ignores). Go writes `apps`, `volumes`, `isolators`, `annotations` and `ports` without
//! `omitempty`, so an empty one is written as `null`, as rkt's pod manifests have them.

use super::annotations::Annotations;
use super::app::{App, UserAnnotations, UserLabels};
use super::error::{Error, Path};
use super::hash::ImageId;
use super::image::check_kind;
use super::isolator::Isolator;
use super::json::{first_repeat, Fields, FromJson, Json, ObjectBuilder, ToJson};
use super::labels::Labels;
use super::name::{AcIdentifier, AcName};
use super::port::ExposedPort;
use super::semver::SemVer;
use super::volume::{Mount, Volume};

pub(crate) const POD_MANIFEST_KIND: &str = "PodManifest";

/// A pod manifest. `acKind` is implied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PodManifest {
    pub(crate) ac_version: SemVer,
    pub(crate) apps: Vec<RuntimeApp>,
    pub(crate) volumes: Vec<Volume>,
    pub(crate) isolators: Vec<Isolator>,
    pub(crate) annotations: Annotations,
    pub(crate) ports: Vec<ExposedPort>,
    pub(crate) user_annotations: UserAnnotations,
    pub(crate) user_labels: UserLabels,
}

impl PodManifest {
    /// An empty pod of the current appc version.
    pub(crate) fn new() -> PodManifest {
        PodManifest {
            ac_version: SemVer::appc(),
            apps: Vec::new(),
            volumes: Vec::new(),
            isolators: Vec::new(),
            annotations: Annotations::default(),
            ports: Vec::new(),
            user_annotations: UserAnnotations::default(),
            user_labels: UserLabels::default(),
        }
    }

    /// Parses and validates a manifest.
    pub(crate) fn from_json(bytes: &[u8]) -> Result<PodManifest, Error> {
        PodManifest::read(&Json::parse(bytes)?, &Path::ROOT)
    }

    /// Canonical compact JSON, as Go's `json.Marshal`.
    pub(crate) fn to_json(&self) -> String {
        self.write().to_compact()
    }

    /// Tab-indented JSON, as `rkt cat-manifest --pretty-print`.
    pub(crate) fn to_json_pretty(&self) -> String {
        self.write().to_pretty()
    }

    /// The app named `name`.
    pub(crate) fn app(&self, name: &AcName) -> Option<&RuntimeApp> {
        self.apps.iter().find(|a| a.name == *name)
    }

    /// The pod volume named `name`.
    pub(crate) fn volume(&self, name: &AcName) -> Option<&Volume> {
        self.volumes.iter().find(|v| v.name == *name)
    }

    fn read(v: &Json, at: &Path<'_>) -> Result<PodManifest, Error> {
        let f = Fields::new(v, at)?;
        check_kind(&f, at, POD_MANIFEST_KIND)?;
        f.forbid(
            "app",
            "an image manifest field; this document must be a pod manifest",
        )?;
        let pod = PodManifest {
            ac_version: f.req("acVersion")?,
            apps: f.list("apps")?,
            volumes: f.list("volumes")?,
            isolators: f.list("isolators")?,
            annotations: f.opt("annotations")?.unwrap_or_default(),
            ports: f.list("ports")?,
            user_annotations: f.opt("userAnnotations")?.unwrap_or_default(),
            user_labels: f.opt("userLabels")?.unwrap_or_default(),
        };
        unique(&pod.apps, |a| &a.name, &at.field("apps"), "apps")?;
        unique(&pod.volumes, |v| &v.name, &at.field("volumes"), "volumes")?;
        Ok(pod)
    }

    fn write(&self) -> Json {
        let annotations = if self.annotations.is_empty() {
            Json::Null
        } else {
            self.annotations.to_json()
        };
        ObjectBuilder::new()
            .put("acVersion", self.ac_version.to_json())
            .put("acKind", Json::String(POD_MANIFEST_KIND.to_owned()))
            .put_list("apps", &self.apps)
            .put_list("volumes", &self.volumes)
            .put_list("isolators", &self.isolators)
            .put("annotations", annotations)
            .put_list("ports", &self.ports)
            .put_if(!self.user_annotations.is_empty(), "userAnnotations", || {
                self.user_annotations.to_json()
            })
            .put_if(!self.user_labels.is_empty(), "userLabels", || {
                self.user_labels.to_json()
            })
            .build()
    }
}

impl Default for PodManifest {
    fn default() -> PodManifest {
        PodManifest::new()
    }
}

/// Refuses a second element with the same name (Go: `duplicate apps of name "x"`).
fn unique<T>(
    items: &[T],
    name: impl Fn(&T) -> &AcName,
    at: &Path<'_>,
    what: &str,
) -> Result<(), Error> {
    match first_repeat(items, |item| name(item).as_str()) {
        Some(i) => Err(Error::rule(
            &at.index(i),
            format!("duplicate {what} of name {:?}", name(&items[i]).as_str()),
        )),
        None => Ok(()),
    }
}

/// One app of a pod.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuntimeApp {
    /// Unique in the pod; need not match the image name, so one image can back several apps.
    pub(crate) name: AcName,
    pub(crate) image: RuntimeImage,
    /// Replaces the image's `app` wholesale when present.
    pub(crate) app: Option<App>,
    pub(crate) read_only_root_fs: bool,
    pub(crate) mounts: Vec<Mount>,
    /// Merged over the image's annotations for the metadata service; these win.
    pub(crate) annotations: Annotations,
}

impl FromJson for RuntimeApp {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<RuntimeApp, Error> {
        let f = Fields::new(v, at)?;
        Ok(RuntimeApp {
            name: f.req("name")?,
            image: f.req("image")?,
            app: f.opt("app")?,
            read_only_root_fs: f.flag("readOnlyRootFS")?,
            mounts: f.list("mounts")?,
            annotations: f.opt("annotations")?.unwrap_or_default(),
        })
    }
}

impl ToJson for RuntimeApp {
    fn to_json(&self) -> Json {
        ObjectBuilder::new()
            .put("name", self.name.to_json())
            .put("image", self.image.to_json())
            .put_if(self.app.is_some(), "app", || {
                self.app.as_ref().map_or(Json::Null, ToJson::to_json)
            })
            .put_if(self.read_only_root_fs, "readOnlyRootFS", || {
                Json::Bool(true)
            })
            .put_nonempty("mounts", &self.mounts)
            .put_if(!self.annotations.is_empty(), "annotations", || {
                self.annotations.to_json()
            })
            .build()
    }
}

/// The image an app runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuntimeImage {
    pub(crate) name: Option<AcIdentifier>,
    /// Required here (Go does not check it, but cannot write a pod manifest without it). rkt
    /// writes the 64-digit store key.
    pub(crate) id: ImageId,
    pub(crate) labels: Labels,
}

impl FromJson for RuntimeImage {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<RuntimeImage, Error> {
        let f = Fields::new(v, at)?;
        Ok(RuntimeImage {
            name: f.opt("name")?,
            id: f.req("id")?,
            labels: f.opt("labels")?.unwrap_or_default(),
        })
    }
}

impl ToJson for RuntimeImage {
    fn to_json(&self) -> Json {
        ObjectBuilder::new()
            .put_if(self.name.is_some(), "name", || {
                self.name.as_ref().map_or(Json::Null, ToJson::to_json)
            })
            .put("id", self.id.to_json())
            .put_if(!self.labels.is_empty(), "labels", || self.labels.to_json())
            .build()
    }
}
