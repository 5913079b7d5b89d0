//! An app's confinement as plain data: its bounding set, no_new_privs and seccomp filter,
//! from its isolators (the image's, replaced by `--caps-retain`, `--caps-remove` and
//! `--seccomp`) and `--insecure-options`. stage1-init applies it (see its `confine` module,
//! which also documents the order).

use std::collections::HashMap;

use stage1_init::plan::{self, cap_from_name};

use crate::appc::Isolator;
use crate::seccomp::Filter;

/// `--insecure-options` that lift parts of the confinement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Insecure {
    /// `capabilities`: every capability in the bounding set.
    pub(crate) capabilities: bool,
    /// `seccomp`: no filter.
    pub(crate) seccomp: bool,
}

/// What confines one app (besides its ids and mounts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Confinement {
    /// The bounding set, sorted capability numbers.
    pub(crate) caps: Vec<u8>,
    pub(crate) no_new_privs: bool,
    /// `None`: no filter (`--insecure-options=seccomp`, or a retain set of `@appc.io/all`).
    pub(crate) filter: Option<Filter>,
    /// `resource/memory`, `resource/cpu` (their limits) and `os/linux/cpu-shares`: the app's
    /// cgroup limits.
    pub(crate) resources: crate::cgroup::Resources,
    pub(crate) oom_score_adj: Option<i32>,
}

/// The cgroup limits of resource isolators (pod-level ones too): a later isolator of a kind
/// wins over an earlier one, as in rkt 1.30 (`--memory` is appended to the image's), and an
/// isolator with a request but no limit sets nothing (rkt: only limits are enforced).
/// Returns `None` for an isolator that is not a resource one.
pub(crate) fn resource(
    iso: &Isolator,
    r: &mut crate::cgroup::Resources,
) -> Option<Result<(), String>> {
    let positive = |q: &crate::appc::Quantity, what: &str, v: i64| {
        if v <= 0 {
            Err(format!("{what} limit {:?} is not positive", q.as_str()))
        } else {
            Ok(v as u64)
        }
    };
    Some(match iso {
        Isolator::ResourceMemory(m) => match &m.limit {
            Some(q) => positive(q, iso.name(), q.value()).map(|v| r.memory = Some(v)),
            None => Ok(()),
        },
        Isolator::ResourceCpu(c) => match &c.limit {
            Some(q) => positive(q, iso.name(), q.milli_value()).map(|v| r.cpu_millis = Some(v)),
            None => Ok(()),
        },
        Isolator::CpuShares(n) => {
            r.cpu_shares = Some(u64::from(*n));
            Ok(())
        }
        _ => return None,
    })
}

/// The confinement of an app running as `uid` with these isolators. An isolator this rkt
/// cannot apply is an error naming it (rkt 1.30 warned and went on; a pod that claims a
/// limit it does not have is worse than one that does not start).
pub(crate) fn resolve(
    isolators: &[Isolator],
    uid: u32,
    insecure: Insecure,
) -> Result<Confinement, String> {
    let mut retain: Vec<&str> = Vec::new();
    let mut remove: Vec<&str> = Vec::new();
    let mut no_new_privs = false;
    let mut filter = Some(Filter::Default);
    let mut resources = crate::cgroup::Resources::default();
    let mut oom_score_adj = None;
    for iso in isolators {
        if let Some(done) = resource(iso, &mut resources) {
            done.map_err(|e| format!("isolator {e}"))?;
            continue;
        }
        match iso {
            Isolator::OomScoreAdj(n) => oom_score_adj = Some(*n),
            Isolator::CapabilitiesRetainSet(set) => retain.extend(set.iter().map(String::as_str)),
            Isolator::CapabilitiesRemoveSet(set) => remove.extend(set.iter().map(String::as_str)),
            Isolator::NoNewPrivileges(on) => no_new_privs |= *on,
            Isolator::SeccompRetainSet(s) | Isolator::SeccompRemoveSet(s) => {
                let retain = matches!(iso, Isolator::SeccompRetainSet(_));
                filter = Filter::from_set(retain, &s.set, s.errno.as_deref())
                    .map_err(|e| format!("isolator {}: {e}", iso.name()))?;
            }
            other => {
                return Err(format!(
                    "isolator {} cannot be applied by this rkt",
                    other.name()
                ))
            }
        }
    }
    if !retain.is_empty() && !remove.is_empty() {
        // rkt 1.30 stage1 getAppCapabilities, word for word.
        return Err("cannot have both os/linux/capabilities-retain-set and \
                    os/linux/capabilities-remove-set"
            .into());
    }
    let number =
        |name: &str| cap_from_name(name).ok_or_else(|| format!("unknown capability {name:?}"));
    let mut caps: Vec<u8> = if insecure.capabilities {
        (0..plan::CAP_NAMES.len() as u8).collect()
    } else if !retain.is_empty() {
        retain.iter().map(|n| number(n)).collect::<Result<_, _>>()?
    } else {
        let removed: Vec<u8> = remove.iter().map(|n| number(n)).collect::<Result<_, _>>()?;
        plan::default_caps()
            .into_iter()
            .filter(|c| !removed.contains(c))
            .collect()
    };
    caps.sort_unstable();
    caps.dedup();
    if insecure.seccomp {
        filter = None;
    }
    // rkt 1.30 (stage1/init/common/app.go): "Non-priv apps *must* have NoNewPrivileges set
    // if they have seccomp"; it is also what lets them load the filter at all.
    if filter.is_some() && uid != 0 {
        no_new_privs = true;
    }
    Ok(Confinement {
        caps,
        no_new_privs,
        filter,
        resources,
        oom_score_adj,
    })
}

/// Compiles each distinct (filter, bounding set) once per pod: the apps of a pod usually
/// share one.
#[derive(Default)]
pub(crate) struct Programs(HashMap<(String, Vec<u8>), Vec<Vec<u8>>>);

impl Programs {
    pub(crate) fn get(&mut self, c: &Confinement) -> Result<Vec<Vec<u8>>, String> {
        let Some(filter) = &c.filter else {
            return Ok(Vec::new());
        };
        let key = (format!("{filter:?}"), c.caps.clone());
        if let Some(p) = self.0.get(&key) {
            return Ok(p.clone());
        }
        let progs = filter
            .compile(&c.caps)
            .map_err(|e| format!("seccomp: {e}"))?;
        self.0.insert(key, progs.clone());
        Ok(progs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appc::isolator::Seccomp;

    fn names(caps: &[u8]) -> Vec<&'static str> {
        caps.iter().map(|c| plan::CAP_NAMES[*c as usize]).collect()
    }

    fn set(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_are_the_14_caps_and_moby_s_filter() {
        let c = resolve(&[], 0, Insecure::default()).unwrap();
        assert_eq!(c.caps, plan::default_caps());
        assert_eq!(c.filter, Some(Filter::Default));
        assert!(!c.no_new_privs, "root keeps setuid binaries working");
        let c = resolve(&[], 1000, Insecure::default()).unwrap();
        assert!(c.no_new_privs, "a non-root app under seccomp");
    }

    #[test]
    fn retain_and_remove_sets() {
        let iso = [Isolator::CapabilitiesRetainSet(set(&[
            "CAP_SYS_ADMIN",
            "CAP_CHOWN",
        ]))];
        let c = resolve(&iso, 0, Insecure::default()).unwrap();
        assert_eq!(names(&c.caps), ["CAP_CHOWN", "CAP_SYS_ADMIN"]);
        let iso = [Isolator::CapabilitiesRemoveSet(set(&[
            "CAP_MKNOD",
            "CAP_SYS_ADMIN",
        ]))];
        let c = resolve(&iso, 0, Insecure::default()).unwrap();
        assert_eq!(c.caps.len(), 13);
        assert!(!names(&c.caps).contains(&"CAP_MKNOD"));
        let both = [
            Isolator::CapabilitiesRetainSet(set(&["CAP_CHOWN"])),
            Isolator::CapabilitiesRemoveSet(set(&["CAP_MKNOD"])),
        ];
        let e = resolve(&both, 0, Insecure::default()).unwrap_err();
        assert!(e.contains("cannot have both"), "{e}");
        let bad = [Isolator::CapabilitiesRetainSet(set(&["CAP_NOPE"]))];
        let e = resolve(&bad, 0, Insecure::default()).unwrap_err();
        assert!(e.contains("unknown capability \"CAP_NOPE\""), "{e}");
    }

    #[test]
    fn insecure_options_lift_caps_and_filter() {
        let all = Insecure {
            capabilities: true,
            seccomp: true,
        };
        let iso = [Isolator::CapabilitiesRetainSet(set(&["CAP_CHOWN"]))];
        let c = resolve(&iso, 1000, all).unwrap();
        assert_eq!(c.caps.len(), plan::CAP_NAMES.len());
        assert_eq!(c.filter, None);
        assert!(!c.no_new_privs, "no filter, no forced no_new_privs (rkt)");
    }

    #[test]
    fn seccomp_isolators_and_the_opt_out() {
        let retain = |set_: &[&str], errno: Option<&str>| {
            Isolator::SeccompRetainSet(Seccomp {
                set: set(set_),
                errno: errno.map(str::to_string),
            })
        };
        let c = resolve(
            &[retain(&["@appc.io/all"], None)],
            1000,
            Insecure::default(),
        )
        .unwrap();
        assert_eq!(c.filter, None);
        assert!(!c.no_new_privs);
        let c = resolve(&[retain(&["read"], Some("EPERM"))], 0, Insecure::default()).unwrap();
        assert!(matches!(
            c.filter,
            Some(Filter::Retain { errno: Some(1), .. })
        ));
        let e = resolve(&[retain(&["nope_call"], None)], 0, Insecure::default()).unwrap_err();
        assert!(
            e.contains("os/linux/seccomp-retain-set") && e.contains("nope_call"),
            "{e}"
        );
    }

    #[test]
    fn isolators_that_cannot_be_applied_are_refused_by_name() {
        let iso = [Isolator::ApparmorProfile("p".into())];
        let e = resolve(&iso, 0, Insecure::default()).unwrap_err();
        assert!(e.contains("os/linux/apparmor-profile"), "{e}");
    }

    #[test]
    fn resource_isolators_last_one_wins_and_only_limits_count() {
        use crate::appc::isolator::Resource;
        use crate::appc::Quantity;
        let mem = |limit: Option<&str>| {
            Isolator::ResourceMemory(Resource {
                default: false,
                request: Some(Quantity::parse("1Mi").unwrap()),
                limit: limit.map(|l| Quantity::parse(l).unwrap()),
            })
        };
        let cpu = Isolator::ResourceCpu(Resource {
            default: false,
            request: None,
            limit: Some(Quantity::parse("900m").unwrap()),
        });
        let iso = [
            mem(Some("25Mi")),
            mem(Some("42Mi")),
            cpu,
            Isolator::CpuShares(12345),
            Isolator::OomScoreAdj(-50),
        ];
        let c = resolve(&iso, 0, Insecure::default()).unwrap();
        assert_eq!(c.resources.memory, Some(42 << 20));
        assert_eq!(c.resources.cpu_millis, Some(900));
        assert_eq!(c.resources.cpu_shares, Some(12345));
        assert_eq!(c.oom_score_adj, Some(-50));
        let c = resolve(&[mem(None)], 0, Insecure::default()).unwrap();
        assert_eq!(c.resources.memory, None, "a request alone sets nothing");
        let e = resolve(&[mem(Some("0"))], 0, Insecure::default()).unwrap_err();
        assert!(
            e.contains("resource/memory limit \"0\" is not positive"),
            "{e}"
        );
    }

    #[test]
    fn programs_are_compiled_once_per_filter_and_caps() {
        let mut p = Programs::default();
        let c = resolve(&[], 0, Insecure::default()).unwrap();
        let a = p.get(&c).unwrap();
        assert_eq!(
            a.len(),
            1,
            "one program: the profile and the guard compiled together"
        );
        assert_eq!(p.get(&c).unwrap(), a);
        assert_eq!(p.0.len(), 1);
        let none = resolve(
            &[],
            0,
            Insecure {
                seccomp: true,
                ..Insecure::default()
            },
        )
        .unwrap();
        assert!(p.get(&none).unwrap().is_empty());
    }
}
