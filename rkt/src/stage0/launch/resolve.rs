//! Resolve: each app argument (a file, URL, name or ID) to an image in the store, with the
//! command-line overrides applied to its app.

use std::path::Path;

use super::super::applist::AppArg;
use super::super::{check_os_arch, Error, RunOptions};
use crate::appc::{AcIdentifier, AcName, App, Exec, RuntimeApp};
use crate::store::{ImageKey, Store};

/// One app, resolved against the store.
pub(super) struct Resolved {
    pub(super) name: String,
    pub(super) key: ImageKey,
    pub(super) manifest: crate::appc::ImageManifest,
    pub(super) app: App,
    pub(super) tree: String,
    pub(super) readonly_rootfs: bool,
    pub(super) annotations: crate::appc::Annotations,
    pub(super) cli_env: Vec<(String, String)>,
    pub(super) cli_mounts: Vec<(String, String)>,
}

/// rkt's rule for an image argument that names a file (fetch does the same).
fn is_file_arg(arg: &str) -> Option<&str> {
    if crate::fetch::is_url(arg) {
        return None;
    }
    if let Some(p) = arg.strip_prefix("file://") {
        return Some(p);
    }
    let path = Path::new(arg);
    (path.is_absolute() || path.is_file() || arg.contains("./") || arg.ends_with(".aci"))
        .then_some(arg)
}

/// An image that is not a file: a URL or a name (fetched per `--pull-policy`), or an ID.
fn fetch_app(
    store: &Store,
    image: &str,
    signature: Option<&Path>,
    opts: &RunOptions,
) -> Result<ImageKey, crate::fetch::Error> {
    let (config, policy) = &opts.fetch;
    let fetcher = crate::fetch::Fetcher::new(store, config, *policy);
    if crate::fetch::is_url(image) {
        fetcher.fetch_url(image, signature)
    } else {
        fetcher.fetch_name(image, signature)
    }
}

pub(super) fn resolve_app(
    store: &Store,
    arg: &AppArg,
    opts: &RunOptions,
) -> Result<Resolved, Error> {
    let image_err = |reason: String| Error::Image {
        image: arg.image.clone(),
        reason,
    };
    let key = match is_file_arg(&arg.image) {
        Some(path) => {
            crate::log::debug!(
                "image: using image from file {}",
                crate::fetch::shown_path(path)
            );
            let checked = crate::trust::check_local_image(
                &opts.trust,
                opts.insecure_image,
                Path::new(path),
                arg.signature.as_deref().map(Path::new),
            )
            .map_err(|e| Error::Trust {
                image: arg.image.clone(),
                source: Box::new(e),
            })?;
            let key = store.import(Path::new(path))?.key;
            checked.report();
            key
        }
        None => fetch_app(
            store,
            &arg.image,
            arg.signature.as_deref().map(Path::new),
            opts,
        )
        .map_err(|e| image_err(crate::error::chain(&e)))?,
    };
    let manifest = store.manifest(&key)?;
    check_os_arch(&manifest.labels).map_err(image_err)?;
    let name = match &arg.name {
        Some(n) => AcName::parse(n).map_err(|e| image_err(format!("--name: {e}")))?,
        None => AcName::from_image_name(&manifest.name).map_err(|e| image_err(e.to_string()))?,
    };
    let mut app = match (&manifest.app, &arg.exec) {
        (Some(app), _) => app.clone(),
        (None, Some(_)) => App::new(Exec::default(), "0", "0"),
        (None, None) => {
            return Err(image_err(
                "the image has no app section: give one with --exec".into(),
            ))
        }
    };
    let mut argv: Vec<String> = app.exec.args().to_vec();
    if let Some(exec) = &arg.exec {
        match argv.first_mut() {
            Some(first) => *first = exec.clone(),
            None => argv.push(exec.clone()),
        }
    }
    if let Some(args) = &arg.args {
        argv.truncate(1);
        argv.extend(args.iter().cloned());
    }
    app.exec = Exec::new(argv).map_err(|e| image_err(e.to_string()))?;
    if let Some(u) = &arg.user {
        app.user.clone_from(u);
    }
    if let Some(g) = &arg.group {
        app.group.clone_from(g);
    }
    if let Some(gids) = &arg.supplementary_gids {
        app.supplementary_gids.clone_from(gids);
    }
    if let Some(dir) = &arg.working_dir {
        if !dir.starts_with('/') {
            return Err(image_err(format!(
                "--working-dir {dir:?} is not an absolute path"
            )));
        }
        app.working_directory = Some(dir.clone());
    }
    // The pod manifest shows the app as it runs: --environment over the image's env.
    for (k, v) in &arg.environment {
        app.environment
            .set(k, v)
            .map_err(|e| image_err(format!("--environment: {e}")))?;
    }
    override_isolators(&mut app, arg).map_err(image_err)?;
    for (k, v) in &arg.user_annotations {
        app.user_annotations.insert(k, v);
    }
    for (k, v) in &arg.user_labels {
        app.user_labels.insert(k, v);
    }
    let mut annotations = crate::appc::Annotations::default();
    for (k, v) in &arg.annotations {
        let key =
            AcIdentifier::parse(k).map_err(|e| image_err(format!("--annotation {k:?}: {e}")))?;
        annotations
            .set(key, v)
            .map_err(|e| image_err(format!("--annotation {k:?}: {e}")))?;
    }
    // Checks the tree is there and records the image as used; start reads it again.
    store.rendered_rootfs(&key)?;
    let tree = store.record(&key)?.tree;
    Ok(Resolved {
        name: name.as_str().to_string(),
        key,
        manifest,
        app,
        tree,
        readonly_rootfs: arg.readonly_rootfs.unwrap_or(false),
        annotations,
        cli_env: arg.environment.clone(),
        cli_mounts: arg.mounts.clone(),
    })
}

/// `--caps-retain`, `--caps-remove` and `--seccomp` replace the image's isolators of their
/// kind (rkt 1.30 `prepareIsolators`), so the pod manifest shows what the app runs with.
fn override_isolators(app: &mut App, arg: &AppArg) -> Result<(), String> {
    use crate::appc::isolator::Seccomp;
    use crate::appc::Isolator;
    let caps = match (&arg.caps_retain, &arg.caps_remove) {
        (Some(_), Some(_)) => {
            // rkt 1.30's words.
            return Err("cannot use both --caps-retain and --caps-remove on the same image".into());
        }
        (Some(set), None) => Some(Isolator::CapabilitiesRetainSet(set.clone())),
        (None, Some(set)) => Some(Isolator::CapabilitiesRemoveSet(set.clone())),
        (None, None) => None,
    };
    if let Some(iso) = caps {
        app.isolators.retain(|i| {
            !matches!(
                i,
                Isolator::CapabilitiesRetainSet(_) | Isolator::CapabilitiesRemoveSet(_)
            )
        });
        app.isolators.push(iso);
    }
    let resource = |q: &crate::appc::Quantity| crate::appc::isolator::Resource {
        default: false,
        request: Some(q.clone()),
        limit: Some(q.clone()),
    };
    if let Some(q) = &arg.memory {
        app.isolators.push(Isolator::ResourceMemory(resource(q)));
    }
    if let Some(q) = &arg.cpu {
        app.isolators.push(Isolator::ResourceCpu(resource(q)));
    }
    if let Some(n) = arg.cpu_shares {
        app.isolators
            .retain(|i| !matches!(i, Isolator::CpuShares(_)));
        app.isolators.push(Isolator::CpuShares(n));
    }
    if let Some(n) = arg.oom_score_adj {
        app.isolators
            .retain(|i| !matches!(i, Isolator::OomScoreAdj(_)));
        app.isolators.push(Isolator::OomScoreAdj(n));
    }
    if let Some(flag) = &arg.seccomp {
        let value = Seccomp {
            set: flag.set.clone(),
            errno: flag.errno.clone(),
        };
        app.isolators.retain(|i| {
            !matches!(
                i,
                Isolator::SeccompRetainSet(_) | Isolator::SeccompRemoveSet(_)
            )
        });
        app.isolators.push(if flag.retain {
            Isolator::SeccompRetainSet(value)
        } else {
            Isolator::SeccompRemoveSet(value)
        });
    }
    Ok(())
}

/// An app of `--pod-manifest`: its image by ID, its `app` (if any) replacing the image's.
pub(super) fn resolve_runtime_app(store: &Store, ra: &RuntimeApp) -> Result<Resolved, Error> {
    let image = ra.image.id.to_string();
    let image_err = |reason: String| Error::Image {
        image: image.clone(),
        reason,
    };
    let key = store.resolve(&image)?;
    let manifest = store.manifest(&key)?;
    check_os_arch(&manifest.labels).map_err(image_err)?;
    let app = match (&ra.app, &manifest.app) {
        (Some(app), _) | (None, Some(app)) => app.clone(),
        (None, None) => {
            return Err(image_err(format!(
                "app {:?}: neither the pod manifest nor the image has an app section",
                ra.name.as_str()
            )))
        }
    };
    // Checks the tree is there and records the image as used; start reads it again.
    store.rendered_rootfs(&key)?;
    let tree = store.record(&key)?.tree;
    Ok(Resolved {
        name: ra.name.as_str().to_string(),
        key,
        manifest,
        app,
        tree,
        readonly_rootfs: ra.read_only_root_fs,
        annotations: ra.annotations.clone(),
        cli_env: Vec::new(),
        cli_mounts: ra
            .mounts
            .iter()
            .map(|m| (m.volume.as_str().to_string(), m.path.clone()))
            .collect(),
    })
}
