//! Isolators: `{ "name": ACIdentifier, "value": any }` (spec ace.md "Isolators"; Go
//! `schema/types/isolator*.go`).
//!
//! Every known name has a typed value checked as Go's `AssertValid` does. Unknown names keep their
//! value as raw JSON; they are accepted in a pod manifest's `isolators` but rejected in an app's,
//! where Go's `Isolators.assertValid` also limits some kinds to one instance and forbids the
//! seccomp retain-set next to the remove-set.

use std::collections::{BTreeMap, HashSet};

use super::error::{Error, Path};
use super::json::{integer_in, Fields, FromJson, Json, ObjectBuilder, ToJson};
use super::name::AcIdentifier;
use super::quantity::Quantity;

pub(crate) const RESOURCE_CPU: &str = "resource/cpu";
pub(crate) const RESOURCE_MEMORY: &str = "resource/memory";
pub(crate) const RESOURCE_BLOCK_BANDWIDTH: &str = "resource/block-bandwidth";
pub(crate) const RESOURCE_BLOCK_IOPS: &str = "resource/block-iops";
pub(crate) const RESOURCE_NETWORK_BANDWIDTH: &str = "resource/network-bandwidth";
pub(crate) const CAPABILITIES_RETAIN_SET: &str = "os/linux/capabilities-retain-set";
pub(crate) const CAPABILITIES_REMOVE_SET: &str = "os/linux/capabilities-remove-set";
pub(crate) const NO_NEW_PRIVILEGES: &str = "os/linux/no-new-privileges";
pub(crate) const SECCOMP_RETAIN_SET: &str = "os/linux/seccomp-retain-set";
pub(crate) const SECCOMP_REMOVE_SET: &str = "os/linux/seccomp-remove-set";
pub(crate) const OOM_SCORE_ADJ: &str = "os/linux/oom-score-adj";
pub(crate) const CPU_SHARES: &str = "os/linux/cpu-shares";
pub(crate) const SELINUX_CONTEXT: &str = "os/linux/selinux-context";
pub(crate) const APPARMOR_PROFILE: &str = "os/linux/apparmor-profile";
pub(crate) const SYSCTL: &str = "os/unix/sysctl";

/// One isolator. The variant fixes the name, except for [`Isolator::Unknown`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Isolator {
    /// Cores; `default` is false.
    ResourceCpu(Resource),
    /// Bytes; `default` is false.
    ResourceMemory(Resource),
    /// Bytes per second; `default` is true and there is no request.
    ResourceBlockBandwidth(Resource),
    /// Operations per second; `default` is true and there is no request.
    ResourceBlockIops(Resource),
    /// Bytes per second; `default` is true and there is no request.
    ResourceNetworkBandwidth(Resource),
    /// Exactly these capabilities in the bounding set; non-empty.
    CapabilitiesRetainSet(Vec<String>),
    /// Removed from the default bounding set; non-empty.
    CapabilitiesRemoveSet(Vec<String>),
    NoNewPrivileges(bool),
    /// Only these syscalls are allowed (`@appc.io/all` allows every one).
    SeccompRetainSet(Seccomp),
    /// These syscalls are blocked (`@appc.io/empty` blocks none).
    SeccompRemoveSet(Seccomp),
    /// `/proc/<pid>/oom_score_adj`, -1000..=1000.
    OomScoreAdj(i32),
    /// cgroup `cpu.shares`, 2..=262144.
    CpuShares(u32),
    SelinuxContext(SelinuxContext),
    /// A non-empty AppArmor profile name.
    ApparmorProfile(String),
    /// `os/unix/sysctl`: parameter → value, as written (keys sorted on output, as Go maps).
    Sysctl(BTreeMap<String, String>),
    /// A name this module does not know, with its value as written (`null` when absent).
    Unknown {
        name: AcIdentifier,
        value: Json,
    },
}

/// The value of the `resource/*` isolators.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Resource {
    pub(crate) default: bool,
    pub(crate) request: Option<Quantity>,
    pub(crate) limit: Option<Quantity>,
}

impl Resource {
    /// The request, or the limit when no request is given (what rkt uses).
    pub(crate) fn request_or_limit(&self) -> Option<&Quantity> {
        self.request.as_ref().or(self.limit.as_ref())
    }
}

/// The value of the seccomp isolators.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seccomp {
    /// Syscall names or `@`-groups; non-empty.
    pub(crate) set: Vec<String>,
    /// The errno blocked calls fail with (`EPERM`); absent means they are killed with SIGSYS.
    pub(crate) errno: Option<String>,
}

/// The value of `os/linux/selinux-context`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SelinuxContext {
    pub(crate) user: String,
    pub(crate) role: String,
    pub(crate) type_: String,
    pub(crate) level: String,
}

impl Isolator {
    pub(crate) fn name(&self) -> &str {
        match self {
            Isolator::ResourceCpu(_) => RESOURCE_CPU,
            Isolator::ResourceMemory(_) => RESOURCE_MEMORY,
            Isolator::ResourceBlockBandwidth(_) => RESOURCE_BLOCK_BANDWIDTH,
            Isolator::ResourceBlockIops(_) => RESOURCE_BLOCK_IOPS,
            Isolator::ResourceNetworkBandwidth(_) => RESOURCE_NETWORK_BANDWIDTH,
            Isolator::CapabilitiesRetainSet(_) => CAPABILITIES_RETAIN_SET,
            Isolator::CapabilitiesRemoveSet(_) => CAPABILITIES_REMOVE_SET,
            Isolator::NoNewPrivileges(_) => NO_NEW_PRIVILEGES,
            Isolator::SeccompRetainSet(_) => SECCOMP_RETAIN_SET,
            Isolator::SeccompRemoveSet(_) => SECCOMP_REMOVE_SET,
            Isolator::OomScoreAdj(_) => OOM_SCORE_ADJ,
            Isolator::CpuShares(_) => CPU_SHARES,
            Isolator::SelinuxContext(_) => SELINUX_CONTEXT,
            Isolator::ApparmorProfile(_) => APPARMOR_PROFILE,
            Isolator::Sysctl(_) => SYSCTL,
            Isolator::Unknown { name, .. } => name.as_str(),
        }
    }

    pub(crate) fn is_known(&self) -> bool {
        !matches!(self, Isolator::Unknown { .. })
    }

    /// Whether an app may list this kind more than once (Go `multipleAllowed`).
    fn multiple_allowed(&self) -> bool {
        !matches!(
            self,
            Isolator::SeccompRetainSet(_)
                | Isolator::SeccompRemoveSet(_)
                | Isolator::OomScoreAdj(_)
                | Isolator::CpuShares(_)
                | Isolator::SelinuxContext(_)
                | Isolator::ApparmorProfile(_)
                | Isolator::Sysctl(_)
        )
    }

    /// The kind this one cannot be combined with in an app (Go `Conflicts`).
    fn conflicts_with(&self) -> Option<&'static str> {
        match self {
            Isolator::SeccompRetainSet(_) => Some(SECCOMP_REMOVE_SET),
            Isolator::SeccompRemoveSet(_) => Some(SECCOMP_RETAIN_SET),
            _ => None,
        }
    }

    fn value_to_json(&self) -> Json {
        let strings = |set: &[String]| ObjectBuilder::new().put("set", set.to_json()).build();
        match self {
            Isolator::ResourceCpu(r)
            | Isolator::ResourceMemory(r)
            | Isolator::ResourceBlockBandwidth(r)
            | Isolator::ResourceBlockIops(r)
            | Isolator::ResourceNetworkBandwidth(r) => ObjectBuilder::new()
                .put("default", Json::Bool(r.default))
                .put_if(r.request.is_some(), "request", || opt_json(&r.request))
                .put_if(r.limit.is_some(), "limit", || opt_json(&r.limit))
                .build(),
            Isolator::CapabilitiesRetainSet(set) | Isolator::CapabilitiesRemoveSet(set) => {
                strings(set)
            }
            Isolator::NoNewPrivileges(b) => Json::Bool(*b),
            Isolator::SeccompRetainSet(s) | Isolator::SeccompRemoveSet(s) => ObjectBuilder::new()
                .put("set", s.set.to_json())
                .put_if(s.errno.is_some(), "errno", || {
                    Json::String(s.errno.clone().unwrap_or_default())
                })
                .build(),
            Isolator::OomScoreAdj(n) => Json::Number((*n).into()),
            Isolator::CpuShares(n) => Json::Number((*n).into()),
            Isolator::SelinuxContext(c) => ObjectBuilder::new()
                .put("user", c.user.to_json())
                .put("role", c.role.to_json())
                .put("type", c.type_.to_json())
                .put("level", c.level.to_json())
                .build(),
            Isolator::ApparmorProfile(p) => {
                ObjectBuilder::new().put("profile", p.to_json()).build()
            }
            Isolator::Sysctl(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                    .collect(),
            ),
            Isolator::Unknown { value, .. } => value.clone(),
        }
    }
}

fn opt_json<T: ToJson>(v: &Option<T>) -> Json {
    v.as_ref().map_or(Json::Null, ToJson::to_json)
}

impl FromJson for Isolator {
    fn from_json(v: &Json, at: &Path<'_>) -> Result<Isolator, Error> {
        let f = Fields::new(v, at)?;
        let name: AcIdentifier = f.req("name")?;
        let known = [
            RESOURCE_CPU,
            RESOURCE_MEMORY,
            RESOURCE_BLOCK_BANDWIDTH,
            RESOURCE_BLOCK_IOPS,
            RESOURCE_NETWORK_BANDWIDTH,
            CAPABILITIES_RETAIN_SET,
            CAPABILITIES_REMOVE_SET,
            NO_NEW_PRIVILEGES,
            SECCOMP_RETAIN_SET,
            SECCOMP_REMOVE_SET,
            OOM_SCORE_ADJ,
            CPU_SHARES,
            SELINUX_CONTEXT,
            APPARMOR_PROFILE,
            SYSCTL,
        ];
        let Some(&kind) = known.iter().find(|k| **k == name.as_str()) else {
            let value = f.raw("value")?.cloned().unwrap_or(Json::Null);
            return Ok(Isolator::Unknown { name, value });
        };
        // A known isolator needs a value (Go dereferences the missing one and panics).
        f.req_with("value", |v, at| parse_value(kind, v, at))
    }
}

fn parse_value(kind: &str, v: &Json, at: &Path<'_>) -> Result<Isolator, Error> {
    Ok(match kind {
        RESOURCE_CPU => Isolator::ResourceCpu(resource(v, at, false)?),
        RESOURCE_MEMORY => Isolator::ResourceMemory(resource(v, at, false)?),
        RESOURCE_BLOCK_BANDWIDTH => Isolator::ResourceBlockBandwidth(resource(v, at, true)?),
        RESOURCE_BLOCK_IOPS => Isolator::ResourceBlockIops(resource(v, at, true)?),
        RESOURCE_NETWORK_BANDWIDTH => Isolator::ResourceNetworkBandwidth(resource(v, at, true)?),
        CAPABILITIES_RETAIN_SET => Isolator::CapabilitiesRetainSet(set(&Fields::new(v, at)?, at)?),
        CAPABILITIES_REMOVE_SET => Isolator::CapabilitiesRemoveSet(set(&Fields::new(v, at)?, at)?),
        NO_NEW_PRIVILEGES => Isolator::NoNewPrivileges(bool::from_json(v, at)?),
        SECCOMP_RETAIN_SET => Isolator::SeccompRetainSet(seccomp(v, at)?),
        SECCOMP_REMOVE_SET => Isolator::SeccompRemoveSet(seccomp(v, at)?),
        OOM_SCORE_ADJ => {
            let n = integer_in(v, at, -1000, 1000, OOM_SCORE_ADJ)?;
            Isolator::OomScoreAdj(i32::try_from(n).unwrap_or_default())
        }
        CPU_SHARES => {
            let n = integer_in(v, at, 2, 262_144, CPU_SHARES)?;
            Isolator::CpuShares(u32::try_from(n).unwrap_or_default())
        }
        SELINUX_CONTEXT => Isolator::SelinuxContext(selinux(v, at)?),
        APPARMOR_PROFILE => {
            let profile: String = Fields::new(v, at)?.opt("profile")?.unwrap_or_default();
            if profile.is_empty() {
                return Err(Error::rule(
                    &at.field("profile"),
                    "apparmor profile must not be empty",
                ));
            }
            Isolator::ApparmorProfile(profile)
        }
        _ => Isolator::Sysctl(string_map(v, at)?),
    })
}

/// Go `ResourceBase`: `{default, request, limit}`, with the per-kind `default` rule.
fn resource(v: &Json, at: &Path<'_>, default_required: bool) -> Result<Resource, Error> {
    let f = Fields::new(v, at)?;
    let r = Resource {
        default: f.flag("default")?,
        request: f.opt("request")?,
        limit: f.opt("limit")?,
    };
    if default_required {
        if !r.default {
            return Err(Error::rule(&at.field("default"), "default must be true"));
        }
        if r.request.is_some() {
            return Err(Error::rule(
                &at.field("request"),
                "request not supported by this resource, must be empty",
            ));
        }
    } else if r.default {
        return Err(Error::rule(&at.field("default"), "default must be false"));
    }
    Ok(r)
}

fn set(f: &Fields<'_>, at: &Path<'_>) -> Result<Vec<String>, Error> {
    let set: Vec<String> = f.list("set")?;
    if set.is_empty() {
        return Err(Error::rule(&at.field("set"), "set must be non-empty"));
    }
    Ok(set)
}

fn seccomp(v: &Json, at: &Path<'_>) -> Result<Seccomp, Error> {
    let f = Fields::new(v, at)?;
    let set = set(&f, at)?;
    let errno: String = f.opt("errno")?.unwrap_or_default();
    // Errno names: E followed by upper-case letters and digits (EPERM, E2BIG).
    let valid = errno.strip_prefix('E').is_some_and(|rest| {
        rest.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    if !errno.is_empty() && !valid {
        return Err(Error::invalid(
            &at.field("errno"),
            &errno,
            "errno must be an upper case string",
        ));
    }
    Ok(Seccomp {
        set,
        errno: Some(errno).filter(|e| !e.is_empty()),
    })
}

fn selinux(v: &Json, at: &Path<'_>) -> Result<SelinuxContext, Error> {
    let f = Fields::new(v, at)?;
    let part = |name: &'static str, colon_ok: bool| -> Result<String, Error> {
        let s: String = f.opt(name)?.unwrap_or_default();
        if s.is_empty() || (!colon_ok && s.contains(':')) {
            return Err(Error::invalid(
                &at.field(name),
                &s,
                format!("invalid {name} value"),
            ));
        }
        Ok(s)
    };
    Ok(SelinuxContext {
        user: part("user", false)?,
        role: part("role", false)?,
        type_: part("type", false)?,
        level: part("level", true)?,
    })
}

/// A free-form `{string: string}` map; keys stay as written, and a repeated key was already
/// refused by the parser.
pub(crate) fn string_map(v: &Json, at: &Path<'_>) -> Result<BTreeMap<String, String>, Error> {
    match v {
        Json::Object(entries) => entries
            .iter()
            .map(|(k, v)| Ok((k.clone(), String::from_json(v, &at.entry(k))?)))
            .collect(),
        other => Err(Error::wrong_type(at, "an object", other)),
    }
}

impl ToJson for Isolator {
    fn to_json(&self) -> Json {
        ObjectBuilder::new()
            .put("name", Json::String(self.name().to_owned()))
            .put("value", self.value_to_json())
            .build()
    }
}

/// The set rules for an app's isolators (Go `Isolators.assertValid`): every name known, single
/// instances where required, no conflicting kinds.
pub(crate) fn check_app_isolators(isolators: &[Isolator], at: &Path<'_>) -> Result<(), Error> {
    let mut seen = HashSet::new();
    for (i, iso) in isolators.iter().enumerate() {
        let at = at.index(i);
        if !iso.is_known() {
            return Err(Error::invalid(
                &at.field("name"),
                iso.name(),
                "invalid isolator: unknown name",
            ));
        }
        if !iso.multiple_allowed() && seen.contains(iso.name()) {
            return Err(Error::rule(
                &at,
                format!(
                    "isolators set contains too many instances of type {}",
                    iso.name()
                ),
            ));
        }
        if let Some(other) = iso.conflicts_with().filter(|other| seen.contains(other)) {
            return Err(Error::rule(
                &at,
                format!(
                    "isolators set contains incompatible types {other} and {}",
                    iso.name()
                ),
            ));
        }
        seen.insert(iso.name());
    }
    Ok(())
}
