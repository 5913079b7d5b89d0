//! What `list`, `status` and `cat-manifest` report about a pod, read from its directory (rkt
//! `pkg/pod` getters), and rkt's `v1.Pod` JSON shape (`api/v1/json.go`,
//! `lib.NewPodFromInternalPod`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::{io_err, Dir, Pod, Result, State};
use crate::appc::{PodManifest, VolumeKind};
use crate::paths;

/// One app of a pod, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppInfo {
    pub(crate) name: String,
    /// The image's name from `appsinfo/<app>/manifest`, `None` when unreadable.
    pub(crate) image_name: Option<String>,
    pub(crate) image_id: String,
    /// `rkt/status/<app>`, once the app has exited.
    pub(crate) exit_code: Option<i32>,
}

/// A pod as `list` and `status` see it at one moment.
#[derive(Debug, Clone)]
pub(crate) struct PodInfo {
    pub(crate) uuid: String,
    pub(crate) state: State,
    /// `pod-created`'s mtime (`pod`'s for pods without it).
    pub(crate) created: Option<SystemTime>,
    /// `pid`'s mtime, once the pod has started.
    pub(crate) started: Option<SystemTime>,
    pub(crate) pid: Option<i32>,
    /// When gc marked the pod (the best guess of its apps' finish time, as rkt's).
    pub(crate) gc_marked: Option<SystemTime>,
    /// `None` until the manifest is written (embryo, early prepare) or when unreadable.
    pub(crate) manifest: Option<PodManifest>,
    pub(crate) apps: Vec<AppInfo>,
    /// `net-info.json`, read for running pods only (as rkt's `getPodNetworks`).
    pub(crate) networks: Vec<crate::net::NetInfo>,
}

impl State {
    /// Whether the pod ran and has exited (rkt `IsAfterRun`).
    pub(crate) fn is_after_run(self) -> bool {
        matches!(
            self,
            State::Exited | State::ExitedGarbage | State::ExitedDeleting
        )
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl Pod {
    /// Reads what is known about the pod now. A pod that vanished meanwhile (gc) is `Ok(None)`.
    pub(crate) fn info(&self) -> Result<Option<PodInfo>> {
        let mut pod = self.clone();
        let state = match pod.state() {
            Ok(s) => s,
            Err(_) if !pod.path().exists() => {
                if !pod.refresh()? {
                    return Ok(None);
                }
                pod.state()?
            }
            Err(e) => return Err(e),
        };
        let dir = pod.path();
        let manifest_path = paths::pod_manifest(&dir);
        let manifest = std::fs::read(&manifest_path)
            .ok()
            .and_then(|b| PodManifest::from_json(&b).ok());
        let created = mtime(&paths::pod_created(&dir)).or_else(|| mtime(&manifest_path));
        let started_pod = matches!(pod.dir, Dir::Run | Dir::ExitedGarbage);
        let pid_path = paths::pod_pid(&dir);
        let started = started_pod.then(|| mtime(&pid_path)).flatten();
        let pid = started_pod
            .then(|| std::fs::read_to_string(&pid_path).ok())
            .flatten()
            .and_then(|s| s.trim().parse().ok());
        let gc_marked = mtime(&paths::pod_gc_marked(&dir));
        let apps = manifest
            .as_ref()
            .map(|m| {
                m.apps
                    .iter()
                    .map(|ra| {
                        let name = ra.name.as_str().to_string();
                        let image_name = std::fs::read(paths::pod_app_manifest(&dir, &name))
                            .ok()
                            .and_then(|b| crate::appc::ImageManifest::from_json(&b).ok())
                            .map(|m| m.name.to_string())
                            .or_else(|| ra.image.name.as_ref().map(|n| n.to_string()));
                        let exit_code = std::fs::read_to_string(paths::pod_app_status(&dir, &name))
                            .ok()
                            .and_then(|s| s.trim().parse().ok());
                        AppInfo {
                            name,
                            image_name,
                            image_id: ra.image.id.to_string(),
                            exit_code,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let networks = if state == State::Running {
            crate::net::read_info(&dir)
        } else {
            Vec::new()
        };
        Ok(Some(PodInfo {
            uuid: pod.uuid.clone(),
            state,
            created,
            started,
            pid,
            gc_marked,
            manifest,
            apps,
            networks,
        }))
    }

    /// Whether stage1-init has started every app (its `supervisor-status -> ready` link).
    pub(crate) fn is_ready(&self) -> bool {
        std::fs::read_link(paths::pod_supervisor_status(&self.path()))
            .is_ok_and(|t| t == Path::new("ready"))
    }

    /// The pod manifest as written on disk.
    pub(crate) fn manifest_bytes(&self) -> Result<Vec<u8>> {
        let path = paths::pod_manifest(&self.path());
        std::fs::read(&path).map_err(io_err("read", &path))
    }
}

/// `api/v1.Pod`, field for field in rkt's order.
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct V1Pod {
    pub(crate) name: String,
    pub(crate) state: String,
    /// `net-info.json`'s records (running pods only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) networks: Vec<crate::net::NetInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) app_names: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) apps: Vec<V1App>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) started_at: Option<i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) user_annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) user_labels: BTreeMap<String, String>,
}

/// `api/v1.App`; times in nanoseconds (the pod's are in seconds, as rkt's).
#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct V1App {
    pub(crate) name: String,
    pub(crate) state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) started_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) finished_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exit_code: Option<i32>,
    pub(crate) image_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) mounts: Vec<V1Mount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) user_annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) user_labels: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct V1Mount {
    pub(crate) name: String,
    pub(crate) container_path: String,
    pub(crate) host_path: String,
    pub(crate) read_only: bool,
}

/// Nanoseconds since the epoch.
pub(crate) fn unix_nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// rkt `appStateFromPod`: an immutable pod's apps share its state.
fn app_state(state: State) -> &'static str {
    match state {
        State::Prepared => "created",
        State::Running => "running",
        State::Deleting
        | State::ExitedDeleting
        | State::Exited
        | State::ExitedGarbage
        | State::Garbage => "exited",
        State::Embryo | State::Preparing | State::AbortedPrepare => "unknown",
    }
}

impl PodInfo {
    /// The pod as rkt's `v1.Pod` (`lib.NewPodFromInternalPod` with `appStateInImmutablePod`).
    pub(crate) fn to_v1(&self) -> V1Pod {
        let secs = |t: SystemTime| unix_nanos(t).div_euclid(1_000_000_000);
        let mut pod = V1Pod {
            name: self.uuid.clone(),
            state: self.state.to_string(),
            networks: self.networks.clone(),
            app_names: Vec::new(),
            apps: Vec::new(),
            created_at: self.created.map(secs),
            started_at: self.started.map(secs),
            user_annotations: BTreeMap::new(),
            user_labels: BTreeMap::new(),
        };
        let Some(m) = &self.manifest else {
            return pod;
        };
        for (ra, info) in m.apps.iter().zip(&self.apps) {
            pod.app_names.push(info.name.clone());
            let mounts = ra
                .mounts
                .iter()
                .map(|mnt| {
                    let vol = mnt.app_volume.as_ref().or_else(|| m.volume(&mnt.volume));
                    V1Mount {
                        name: mnt.volume.as_str().to_string(),
                        container_path: mnt.path.clone(),
                        host_path: match vol.map(|v| &v.kind) {
                            Some(VolumeKind::Host { source }) => source.clone(),
                            _ => String::new(),
                        },
                        read_only: vol.is_some_and(|v| v.is_read_only()),
                    }
                })
                .collect();
            let (ua, ul) = match &ra.app {
                Some(app) => (
                    app.user_annotations
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    app.user_labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                None => (BTreeMap::new(), BTreeMap::new()),
            };
            pod.apps.push(V1App {
                name: info.name.clone(),
                state: if info.exit_code.is_some() {
                    "exited"
                } else {
                    app_state(self.state)
                },
                created_at: self.created.map(unix_nanos),
                started_at: self.started.map(unix_nanos),
                finished_at: self.gc_marked.map(unix_nanos),
                exit_code: info.exit_code,
                image_id: info.image_id.clone(),
                mounts,
                user_annotations: ua,
                user_labels: ul,
            });
        }
        pod.user_annotations = m
            .user_annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pod.user_labels = m
            .user_labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pod
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn manifest() -> PodManifest {
        let json = r#"{"acKind":"PodManifest","acVersion":"0.8.11","apps":[{"name":"web",
            "image":{"name":"example.com/web","id":"sha512-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
            "app":{"exec":["/web"],"user":"0","group":"0","userLabels":{"tier":"front"}},
            "mounts":[{"volume":"data","path":"/data"}]}],
            "volumes":[{"name":"data","kind":"host","source":"/srv","readOnly":true}],
            "userAnnotations":{"owner":"me"}}"#;
        PodManifest::from_json(json.as_bytes()).unwrap()
    }

    fn info(state: State, exit: Option<i32>) -> PodInfo {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        PodInfo {
            uuid: "0a1b2c3d-0000-4000-8000-000000000000".into(),
            state,
            created: Some(t),
            started: (state != State::Prepared).then_some(t + Duration::from_secs(1)),
            pid: Some(42),
            gc_marked: None,
            manifest: Some(manifest()),
            apps: vec![AppInfo {
                name: "web".into(),
                image_name: Some("example.com/web".into()),
                image_id: format!("sha512-{}", "a".repeat(64)),
                exit_code: exit,
            }],
            networks: Vec::new(),
        }
    }

    #[test]
    fn v1_json_has_rkts_shape() {
        let v = serde_json::to_value(info(State::Exited, Some(3)).to_v1()).unwrap();
        let want = serde_json::json!({
            "name": "0a1b2c3d-0000-4000-8000-000000000000",
            "state": "exited",
            "app_names": ["web"],
            "apps": [{
                "name": "web",
                "state": "exited",
                "created_at": 1_700_000_000_000_000_005i64,
                "started_at": 1_700_000_001_000_000_005i64,
                "exit_code": 3,
                "image_id": format!("sha512-{}", "a".repeat(64)),
                "mounts": [{"name": "data", "container_path": "/data", "host_path": "/srv",
                            "read_only": true}],
                "user_labels": {"tier": "front"}
            }],
            "created_at": 1_700_000_000,
            "started_at": 1_700_000_001,
            "user_annotations": {"owner": "me"}
        });
        assert_eq!(v, want);
        let text = serde_json::to_string(&info(State::Exited, Some(3)).to_v1()).unwrap();
        assert!(text.starts_with(r#"{"name":"0a1b2c3d"#), "{text}");
    }

    #[test]
    fn app_state_follows_the_pod() {
        let v = info(State::Prepared, None).to_v1();
        assert_eq!(v.apps[0].state, "created");
        assert_eq!(v.started_at, None);
        assert_eq!(info(State::Running, None).to_v1().apps[0].state, "running");
        assert_eq!(info(State::Exited, None).to_v1().apps[0].state, "exited");
        assert_eq!(
            info(State::AbortedPrepare, None).to_v1().apps[0].state,
            "unknown"
        );
        assert!(State::ExitedGarbage.is_after_run());
        assert!(!State::Running.is_after_run());
        assert!(!State::Prepared.is_after_run());
    }
}
