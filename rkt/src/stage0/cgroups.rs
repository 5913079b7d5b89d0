//! The cgroup step of a pod's start: what the pod needs (`cgroup::PodSpec`, from its apps'
//! limits, its own isolators, the pids limit and the device policy), planned against this
//! host's hierarchies, recorded in the pod dir for rm and gc, then made.

use std::path::Path;

use stage1_init::plan::{Mount, Plan};

use super::{confinement, io_err, Error};
use crate::appc::Isolator;
use crate::cgroup::{self, AppSpec, DeviceRule, DeviceType, PodCgroups, PodSpec, Resources};
use crate::paths;
use crate::sys::fs::{write_atomic, Durability};

/// The pod-wide limits: the pod manifest's resource isolators and the pids limit
/// (`--pids-limit`: `None` for the default, 0 for none).
pub(super) fn pod_resources(
    isolators: &[Isolator],
    pids_limit: Option<u64>,
) -> Result<Resources, Error> {
    let mut r = Resources::default();
    for iso in isolators {
        match confinement::resource(iso, &mut r) {
            Some(done) => done.map_err(|e| Error::Apps(format!("pod isolator {e}")))?,
            None => {
                return Err(Error::Apps(format!(
                    "pod isolator {} cannot be applied by this rkt",
                    iso.name()
                )))
            }
        }
    }
    r.pids = match pids_limit {
        None => Some(cgroup::DEFAULT_PIDS_LIMIT),
        Some(0) => None,
        Some(n) => Some(n),
    };
    Ok(r)
}

/// Plans, records and creates the pod's cgroups. `device_policy` is false with
/// `--insecure-options=paths`. Where the host has no pids controller, the default pids limit
/// is dropped; a limit given explicitly that nothing here can enforce is an error.
pub(super) fn create(
    dir: &Path,
    plan: &Plan,
    resources: &[Resources],
    mut pod: Resources,
    explicit_pids: bool,
    device_policy: bool,
) -> Result<PodCgroups, Error> {
    let layout = cgroup::Layout::detect();
    if !explicit_pids && !layout.has("pids") {
        pod.pids = None;
    }
    if pod.pids.is_some() && !layout.has("pids") {
        return Err(Error::Apps(
            "--pids-limit cannot be applied: this host has no pids cgroup controller".into(),
        ));
    }
    let apps = plan
        .apps
        .iter()
        .zip(resources)
        .map(|(a, r)| AppSpec {
            name: a.name.clone(),
            resources: r.clone(),
            devices: device_policy.then(|| {
                let mut rules = cgroup::default_rules();
                rules.extend(a.mounts.iter().filter_map(volume_device));
                rules
            }),
        })
        .collect();
    let spec = PodSpec {
        uuid: plan.uuid.clone(),
        pod,
        apps,
    };
    let cgroups = cgroup::plan(&layout, &spec).map_err(|e| Error::Apps(e.to_string()))?;
    // Recorded before anything exists, so that gc finds whatever a crash leaves.
    let record = paths::pod_cgroups(dir);
    write_atomic(&record, cgroups.record().as_bytes(), Durability::NoFsync)
        .map_err(io_err("write", &record))?;
    if !cgroups.subcgroup.is_empty() {
        let sub = paths::pod_subcgroup(dir);
        write_atomic(&sub, cgroups.subcgroup.as_bytes(), Durability::NoFsync)
            .map_err(io_err("write", &sub))?;
    }
    crate::sys::cgroup::apply(&cgroups.ops).map_err(Error::Cgroup)?;
    Ok(cgroups)
}

/// A volume whose source is a device node: allowed with the volume's access (rkt's
/// `DeviceAllow=`, never `m`).
fn volume_device(m: &Mount) -> Option<DeviceRule> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(&m.source).ok()?;
    let kind = if meta.file_type().is_char_device() {
        DeviceType::Char
    } else if meta.file_type().is_block_device() {
        DeviceType::Block
    } else {
        return None;
    };
    let rdev = meta.rdev();
    Some(DeviceRule {
        kind,
        major: rustix::fs::major(rdev),
        minor: Some(rustix::fs::minor(rdev)),
        read: true,
        write: !m.readonly,
        mknod: false,
    })
}
