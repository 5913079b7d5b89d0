//! The registered pods: their tokens, pod manifests and apps' image manifests, in memory and
//! under a state directory (root only), so that a restarted service keeps serving the pods
//! that run (rkt 1.30 kept them in memory only: a restart answered 401 to every pod).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::paths;
use crate::sys::fs::{write_atomic, Durability};

/// One registered pod.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PodEntry {
    /// `8-4-4-4-12` lowercase.
    pub(crate) uuid: String,
    pub(crate) token: String,
    /// The pod manifest as registered (annotations `null` and `[]` stay apart).
    pub(crate) manifest: Value,
    /// App name -> its image manifest.
    pub(crate) apps: BTreeMap<String, Value>,
}

/// Every registered pod, by UUID; persisted under `state` when it is given.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pods: BTreeMap<String, PodEntry>,
    state: Option<PathBuf>,
}

impl Registry {
    /// An empty registry that persists nothing (tests).
    #[cfg(test)]
    pub(crate) fn in_memory() -> Registry {
        Registry::default()
    }

    /// The registry persisted under `state` (created 0700), with what it already holds. An
    /// entry that does not read back whole (a crash mid-write) is dropped with its files.
    pub(crate) fn open(state: &Path) -> std::io::Result<Registry> {
        std::fs::create_dir_all(state)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(state, std::fs::Permissions::from_mode(0o700))?;
        let mut reg = Registry {
            pods: BTreeMap::new(),
            state: Some(state.to_path_buf()),
        };
        for entry in std::fs::read_dir(state)? {
            let dir = entry?.path();
            match load(&dir) {
                Some(pod) => {
                    reg.pods.insert(pod.uuid.clone(), pod);
                }
                None => {
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
        }
        Ok(reg)
    }

    pub(crate) fn by_token(&self, token: &str) -> Option<&PodEntry> {
        // Constant-time per comparison; the number of pods is not a secret.
        self.pods
            .values()
            .find(|p| constant_time_eq(p.token.as_bytes(), token.as_bytes()))
    }

    /// Registers (or re-registers, dropping the earlier token and apps) a pod.
    pub(crate) fn add_pod(
        &mut self,
        uuid: &str,
        token: &str,
        manifest: Value,
    ) -> std::io::Result<()> {
        let pod = PodEntry {
            uuid: uuid.to_string(),
            token: token.to_string(),
            manifest,
            apps: BTreeMap::new(),
        };
        if let Some(state) = &self.state {
            let dir = paths::mds_pod(state, uuid);
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("apps"))?;
            write_atomic(
                &dir.join("pod"),
                pod.manifest.to_string().as_bytes(),
                Durability::NoFsync,
            )?;
            // The token last: a pod dir without one is an unfinished registration.
            write_atomic(&dir.join("token"), token.as_bytes(), Durability::NoFsync)?;
        }
        self.pods.insert(uuid.to_string(), pod);
        Ok(())
    }

    /// Adds an app's image manifest to a registered pod; false if the pod is not registered.
    pub(crate) fn add_app(
        &mut self,
        uuid: &str,
        app: &str,
        manifest: Value,
    ) -> std::io::Result<bool> {
        let Some(pod) = self.pods.get_mut(uuid) else {
            return Ok(false);
        };
        if let Some(state) = &self.state {
            let file = paths::mds_pod(state, uuid).join("apps").join(app);
            write_atomic(&file, manifest.to_string().as_bytes(), Durability::NoFsync)?;
        }
        pod.apps.insert(app.to_string(), manifest);
        Ok(true)
    }

    /// Unregisters a pod; false if it was not registered.
    pub(crate) fn remove(&mut self, uuid: &str) -> std::io::Result<bool> {
        if self.pods.remove(uuid).is_none() {
            return Ok(false);
        }
        if let Some(state) = &self.state {
            let dir = paths::mds_pod(state, uuid);
            match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(true)
    }
}

fn load(dir: &Path) -> Option<PodEntry> {
    let uuid = dir.file_name()?.to_str()?.to_string();
    let token = std::fs::read_to_string(dir.join("token")).ok()?;
    let manifest = serde_json::from_slice(&std::fs::read(dir.join("pod")).ok()?).ok()?;
    let mut apps = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("apps")).ok()? {
        let path = entry.ok()?.path();
        let name = path.file_name()?.to_str()?.to_string();
        if name.starts_with('.') {
            continue; // a temp file of an interrupted write
        }
        apps.insert(
            name,
            serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?,
        );
    }
    Some(PodEntry {
        uuid,
        token,
        manifest,
        apps,
    })
}

/// Equal, in a time that does not depend on where they differ (tokens, signatures).
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_survive_a_reopen_and_a_reregistration_drops_the_old_token() {
        let dir = std::env::temp_dir().join(format!("rkt-mds-reg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let uuid = "6f1f0d3c-1a2b-4c5d-8e9f-0123456789ab";
        let mut reg = Registry::open(&dir).unwrap();
        reg.add_pod(uuid, "t1", serde_json::json!({"annotations": null}))
            .unwrap();
        assert!(reg
            .add_app(uuid, "web", serde_json::json!({"name": "x"}))
            .unwrap());
        assert!(!reg.add_app("other", "web", Value::Null).unwrap());
        let reg2 = Registry::open(&dir).unwrap();
        let pod = reg2.by_token("t1").unwrap();
        assert_eq!(pod.manifest["annotations"], Value::Null);
        assert_eq!(pod.apps["web"]["name"], "x");
        let mut reg = reg2;
        reg.add_pod(uuid, "t2", serde_json::json!({})).unwrap();
        assert!(reg.by_token("t1").is_none() && reg.by_token("t2").is_some());
        assert!(reg.remove(uuid).unwrap());
        assert!(!reg.remove(uuid).unwrap());
        assert!(Registry::open(&dir).unwrap().by_token("t2").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
