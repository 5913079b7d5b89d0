//! Volumes and where they are mounted: the pod's `Volume`, the image's `MountPoint` and the
//! pod app's `Mount` (spec pods.md, aci.md; Go `schema/types/volume.go`, `mountpoint.go`,
//! `schema/pod.go`).

use super::error::{Error, Path};
use super::json::{integer_in, string, Fields, FromJson, Json, ObjectBuilder, ToJson};
use super::name::AcName;

/// Go's defaults for an `empty` volume, filled in on parse (`maybeSetDefaults`).
const EMPTY_DEFAULT_MODE: &str = "0755";

/// A pod volume.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Volume {
    pub(crate) name: AcName,
    pub(crate) kind: VolumeKind,
    pub(crate) read_only: Option<bool>,
    /// rbind (true) or bind; the executor should default to recursive. Go accepts it on either
    /// kind, so it lives here.
    pub(crate) recursive: Option<bool>,
}

/// What backs a volume.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VolumeKind {
    /// A host directory, bind-mounted. `source` is absolute.
    Host { source: String },
    /// A fresh directory per pod. `mode` is the string as written (`"0755"` by default; Go does
    /// not parse it); owner `uid:gid`, 0:0 by default.
    Empty { mode: String, uid: u32, gid: u32 },
}

impl Volume {
    pub(crate) fn is_read_only(&self) -> bool {
        self.read_only.unwrap_or(false)
    }
}

impl FromJson for Volume {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Volume, Error> {
        let f = Fields::new(v, at)?;
        let name = f.req("name")?;
        let kind: String = f.opt("kind")?.unwrap_or_default();
        let source: String = f.opt("source")?.unwrap_or_default();
        let mode: Option<String> = f.opt("mode")?;
        let uid = f.opt_with("uid", owner_id)?;
        let gid = f.opt_with("gid", owner_id)?;
        let kind = match kind.as_str() {
            "empty" => {
                if !source.is_empty() {
                    return Err(Error::rule(
                        &at.field("source"),
                        "source for empty volume must be empty",
                    ));
                }
                VolumeKind::Empty {
                    mode: mode.unwrap_or_else(|| EMPTY_DEFAULT_MODE.to_owned()),
                    uid: uid.unwrap_or(0),
                    gid: gid.unwrap_or(0),
                }
            }
            "host" => {
                let refuse = |field: &'static str, reason: &'static str| {
                    Err(Error::rule(&at.field(field), reason))
                };
                if source.is_empty() {
                    return refuse("source", "source for host volume cannot be empty");
                }
                if mode.is_some() {
                    return refuse("mode", "mode for host volume cannot be set");
                }
                if uid.is_some() {
                    return refuse("uid", "uid for host volume cannot be set");
                }
                if gid.is_some() {
                    return refuse("gid", "gid for host volume cannot be set");
                }
                if !source.starts_with('/') {
                    return Err(Error::invalid(
                        &at.field("source"),
                        &source,
                        "source for host volume must be absolute path",
                    ));
                }
                VolumeKind::Host { source }
            }
            other => {
                return Err(Error::invalid(
                    &at.field("kind"),
                    other,
                    r#"unrecognized volume kind: should be one of "empty", "host""#,
                ))
            }
        };
        Ok(Volume {
            name,
            kind,
            read_only: f.opt("readOnly")?,
            recursive: f.opt("recursive")?,
        })
    }
}

/// A volume owner: Go takes any int; we take what a Linux uid/gid can be, without the
/// `(uid_t)-1` that chown reads as "leave unchanged".
pub(crate) fn owner_id(v: &Json, at: &Path<'_>) -> Result<u32, Error> {
    let n = integer_in(v, at, 0, i128::from(u32::MAX) - 1, "an id")?;
    Ok(u32::try_from(n).unwrap_or_default())
}

impl ToJson for Volume {
    fn to_json(&self) -> Json {
        let (kind, source) = match &self.kind {
            VolumeKind::Host { source } => ("host", source.as_str()),
            VolumeKind::Empty { .. } => ("empty", ""),
        };
        let out = ObjectBuilder::new()
            .put("name", self.name.to_json())
            .put("kind", Json::String(kind.to_owned()))
            .put_if(!source.is_empty(), "source", || {
                Json::String(source.to_owned())
            })
            .put_if(self.read_only.is_some(), "readOnly", || {
                Json::Bool(self.is_read_only())
            })
            .put_if(self.recursive.is_some(), "recursive", || {
                Json::Bool(self.recursive.unwrap_or(false))
            });
        match &self.kind {
            VolumeKind::Empty { mode, uid, gid } => out
                .put("mode", Json::String(mode.clone()))
                .put("uid", Json::Number((*uid).into()))
                .put("gid", Json::Number((*gid).into()))
                .build(),
            VolumeKind::Host { .. } => out.build(),
        }
    }
}

/// Where an app expects a volume (`app.mountPoints`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MountPoint {
    pub(crate) name: AcName,
    /// Non-empty path inside the app.
    pub(crate) path: String,
    pub(crate) read_only: bool,
}

impl FromJson for MountPoint {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<MountPoint, Error> {
        let f = Fields::new(v, at)?;
        Ok(MountPoint {
            name: f.req("name")?,
            path: f.req_with("path", non_empty)?,
            read_only: f.flag("readOnly")?,
        })
    }
}

impl ToJson for MountPoint {
    fn to_json(&self) -> Json {
        ObjectBuilder::new()
            .put("name", self.name.to_json())
            .put("path", self.path.to_json())
            .put_if(self.read_only, "readOnly", || Json::Bool(true))
            .build()
    }
}

/// A volume mounted into a pod app (`apps[].mounts`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mount {
    /// The pod volume, or the name of `app_volume`.
    pub(crate) volume: AcName,
    /// Non-empty path inside the app.
    pub(crate) path: String,
    /// An inline volume used instead of looking `volume` up among the pod's volumes.
    pub(crate) app_volume: Option<Volume>,
}

impl FromJson for Mount {
    /// Go never calls `Mount.assertValid`; we do, so a mount names a volume and a path.
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Mount, Error> {
        let f = Fields::new(v, at)?;
        Ok(Mount {
            volume: f.req("volume")?,
            path: f.req_with("path", non_empty)?,
            app_volume: f.opt("appVolume")?,
        })
    }
}

impl ToJson for Mount {
    fn to_json(&self) -> Json {
        ObjectBuilder::new()
            .put("volume", self.volume.to_json())
            .put("path", self.path.to_json())
            .put_if(self.app_volume.is_some(), "appVolume", || {
                self.app_volume.as_ref().map_or(Json::Null, ToJson::to_json)
            })
            .build()
    }
}

/// A string that must not be empty (`"path must be set"`).
fn non_empty(v: &Json, at: &Path<'_>) -> Result<String, Error> {
    let s = string(v, at)?;
    if s.is_empty() {
        return Err(Error::missing(at));
    }
    Ok(s.to_owned())
}
