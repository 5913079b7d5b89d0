//! Every on-disk location rkt uses, as functions of the data or config directory.
//! No other module joins path components of the store, pods or config (rkt common/common.go).

use std::path::{Path, PathBuf};

/// The data directory when `--dir` is not given.
pub(crate) const DEFAULT_DATA_DIR: &str = "/var/lib/rkt";
/// The administrator's configuration (`--local-config`).
pub(crate) const DEFAULT_LOCAL_CONFIG: &str = "/etc/rkt";
/// The vendor's configuration (`--system-config`).
pub(crate) const DEFAULT_SYSTEM_CONFIG: &str = "/usr/lib/rkt";

/// `<dir>/cas`: the image store.
pub(crate) fn cas(data_dir: &Path) -> PathBuf {
    data_dir.join("cas")
}

/// `<dir>/pods`: pod directories, one subdirectory per state.
pub(crate) fn pods(data_dir: &Path) -> PathBuf {
    data_dir.join("pods")
}

/// The environment variable that names a store failpoint (see `store::failpoint`).
pub(crate) const ENV_FAILPOINT: &str = "RKT_FAILPOINT";

/// The `<2hex>` fan-out directory of a store key `sha512-<64hex>`.
fn fanout(key: &str) -> &str {
    key.get(7..9).unwrap_or("00")
}

/// `<dir>/cas/lock`: the store lock, held shared while a temporary directory is created and
/// exclusive while stale temporary directories are collected.
pub(crate) fn cas_lock(data_dir: &Path) -> PathBuf {
    cas(data_dir).join("lock")
}

/// `<dir>/cas/blob/sha512`: the blobs, fanned out by the first two hex digits.
pub(crate) fn cas_blobs(data_dir: &Path) -> PathBuf {
    cas(data_dir).join("blob").join("sha512")
}

/// `<dir>/cas/blob/sha512/<2hex>/sha512-<64hex>`: one image as imported.
pub(crate) fn cas_blob(data_dir: &Path, key: &str) -> PathBuf {
    cas_blobs(data_dir).join(fanout(key)).join(key)
}

/// `<dir>/cas/imageManifest/sha512`: cached image manifests.
pub(crate) fn cas_manifests(data_dir: &Path) -> PathBuf {
    cas(data_dir).join("imageManifest").join("sha512")
}

/// `<dir>/cas/imageManifest/sha512/<2hex>/sha512-<64hex>`: the image's manifest as found in it.
pub(crate) fn cas_manifest(data_dir: &Path, key: &str) -> PathBuf {
    cas_manifests(data_dir).join(fanout(key)).join(key)
}

/// `<dir>/cas/index`: one record per image; a record's presence makes the image exist.
pub(crate) fn cas_index(data_dir: &Path) -> PathBuf {
    cas(data_dir).join("index")
}

/// `<dir>/cas/index/sha512-<64hex>`: the record of one image.
pub(crate) fn cas_index_record(data_dir: &Path, key: &str) -> PathBuf {
    cas_index(data_dir).join(key)
}

/// `<dir>/cas/remote`: the remote (URL, ETag) cache, one file per URL.
pub(crate) fn cas_remotes(data_dir: &Path) -> PathBuf {
    cas(data_dir).join("remote")
}

/// `<dir>/cas/remote/<name>`: the cache record of one URL, `name` derived from the URL.
pub(crate) fn cas_remote(data_dir: &Path, name: &str) -> PathBuf {
    cas_remotes(data_dir).join(name)
}

/// `<dir>/cas/tmp`: work in progress, on the store's filesystem so a rename publishes it.
pub(crate) fn cas_tmp(data_dir: &Path) -> PathBuf {
    cas(data_dir).join("tmp")
}

/// `<dir>/cas/tree`: rendered trees.
pub(crate) fn cas_trees(data_dir: &Path) -> PathBuf {
    cas(data_dir).join("tree")
}

/// `<dir>/cas/tree/deps-sha512-<64hex>`: one rendered tree (image plus dependencies).
pub(crate) fn cas_tree(data_dir: &Path, tree_id: &str) -> PathBuf {
    cas_trees(data_dir).join(tree_id)
}

/// `<tree>/rootfs`: the rendered root filesystem, inside a tree or a temporary directory.
pub(crate) fn tree_rootfs(tree: &Path) -> PathBuf {
    tree.join("rootfs")
}

/// `<tree>/rendered`: present once the tree is complete and durable.
pub(crate) fn tree_rendered(tree: &Path) -> PathBuf {
    tree.join("rendered")
}

/// `<tree>/image`: the key of the image the tree was rendered for.
pub(crate) fn tree_image(tree: &Path) -> PathBuf {
    tree.join("image")
}

/// `<tree>/manifest`: the manifest of the image the tree was rendered for (rkt's layout).
pub(crate) fn tree_manifest(tree: &Path) -> PathBuf {
    tree.join("manifest")
}

/// `<tree>/hash`: the digest of `rootfs` when the tree was made, `sha512-<128hex>`.
pub(crate) fn tree_hash(tree: &Path) -> PathBuf {
    tree.join("hash")
}

/// `<dir>/cas/tmp/<name>`: one temporary entry.
pub(crate) fn cas_tmp_entry(data_dir: &Path, name: &str) -> PathBuf {
    cas_tmp(data_dir).join(name)
}

/// `<tmp entry>/tree`: where a tree being replaced or removed is moved to die.
pub(crate) fn tmp_trash(tmp_entry: &Path) -> PathBuf {
    tmp_entry.join("tree")
}

/// `<dir>/manifest`: the manifest of an ACI laid out as a directory (`image extract`).
pub(crate) fn aci_manifest(dir: &Path) -> PathBuf {
    dir.join("manifest")
}

/// `.<name>.rkt-<pid>` next to an export's output, so the final rename stays on one
/// filesystem.
pub(crate) fn export_temp(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!(".{name}.rkt-{}", std::process::id()))
}

/// `<tmp entry>/blob`: the blob being imported, before it is renamed into `cas/blob`.
pub(crate) fn tmp_blob(tmp_entry: &Path) -> PathBuf {
    tmp_entry.join("blob")
}

/// `<tmp entry>/image-manifest`: the manifest being imported, before it is renamed into
/// `cas/imageManifest` (the entry becomes the tree, whose own copy is `manifest`).
pub(crate) fn tmp_manifest(tmp_entry: &Path) -> PathBuf {
    tmp_entry.join("image-manifest")
}

/// `<dir>/cas/imagelocks/<key>`: the per-image lock.
pub(crate) fn image_lock(data_dir: &Path, key: &str) -> PathBuf {
    cas(data_dir).join("imagelocks").join(key)
}

/// `<dir>/cas/treestorelocks/<tree id>`: the per-tree lock.
pub(crate) fn tree_lock(data_dir: &Path, tree_id: &str) -> PathBuf {
    cas(data_dir).join("treestorelocks").join(tree_id)
}

/// The directories of the store, created (mode 0700) when the store is opened.
pub(crate) fn cas_dirs(data_dir: &Path) -> Vec<PathBuf> {
    let cas = cas(data_dir);
    vec![
        cas_blobs(data_dir),
        cas_manifests(data_dir),
        cas_index(data_dir),
        cas_remotes(data_dir),
        cas_tmp(data_dir),
        cas_trees(data_dir),
        cas.join("imagelocks"),
        cas.join("treestorelocks"),
    ]
}

/// `<dir>/networks/<name>`: the host-local leases of a built-in network, one file per address.
pub(crate) fn network_leases(data_dir: &Path, network: &str) -> PathBuf {
    data_dir.join("networks").join(network)
}

/// `<pod>/net-info.json`: the networks the pod joined (rkt 1.30's record).
pub(crate) fn pod_net_info(pod: &Path) -> PathBuf {
    pod.join("net-info.json")
}

/// `<pod>/net/<name>.conf`: the conf of a network the pod joined, as it was at the start.
pub(crate) fn pod_net_conf(pod: &Path, network: &str) -> PathBuf {
    pod.join("net").join(format!("{network}.conf"))
}

/// `<pod>/net-leases`: the lease files the pod holds, freed by `rm` and `gc`.
pub(crate) fn pod_net_leases(pod: &Path) -> PathBuf {
    pod.join("net-leases")
}

/// `<config dir>/paths.d`: rkt's `paths` config files (the data dir).
pub(crate) fn config_paths_d(config_dir: &Path) -> PathBuf {
    config_dir.join("paths.d")
}

/// `<config dir>/stage1.d`: rkt's `stage1` config files (the default stage1 image).
pub(crate) fn config_stage1_d(config_dir: &Path) -> PathBuf {
    config_dir.join("stage1.d")
}

/// `<local-config>/net.d`: the named networks' CNI confs (and maybe their plugins).
pub(crate) fn net_dir(local_config: &Path) -> PathBuf {
    local_config.join("net.d")
}

/// The host's resolver configuration, and systemd-resolved's list of its upstream servers
/// (what a loopback stub in the first forwards to).
pub(crate) const HOST_RESOLV_CONF: &str = "/etc/resolv.conf";
pub(crate) const RESOLVED_UPSTREAM: &str = "/run/systemd/resolve/resolv.conf";

/// `<pod>/netns`: the path of the pod's pinned network namespace (rkt 1.30's file: the path
/// without a newline), for a pod on a named network.
pub(crate) fn pod_netns(pod: &Path) -> PathBuf {
    pod.join("netns")
}

/// Where pods' network namespaces are pinned (rkt 1.30's, `ip netns`'s).
pub(crate) const PINNED_NETNS_DIR: &str = "/var/run/netns";

/// Where a pod's network namespace is pinned: rkt 1.30's `/var/run/netns/cni-*`.
pub(crate) fn pinned_netns(uuid: &str) -> PathBuf {
    Path::new(PINNED_NETNS_DIR).join(format!("cni-{uuid}"))
}

/// `<pod>/net-cni`: the CNI attachments the pod made (one JSON record per line), each written
/// before its ADD, deleted (DEL) by `rm` and `gc`.
pub(crate) fn pod_net_cni(pod: &Path) -> PathBuf {
    pod.join("net-cni")
}

/// The directories searched for CNI plugins after `<local-config>/net.d`, in order.
pub(crate) const CNI_PLUGIN_DIRS: [&str; 3] =
    ["/usr/lib/rkt/plugins/net", "/usr/lib/cni", "/opt/cni/bin"];

/// `<pod>/net-rules`: the nf_tables elements the pod added, deleted by `rm` and `gc`.
pub(crate) fn pod_net_rules(pod: &Path) -> PathBuf {
    pod.join("net-rules")
}

/// The host-wide lock around rkt's nf_tables table: the kernel has one for every data dir.
pub(crate) const NFT_LOCK: &str = "/run/rkt/nft.lock";

/// The metadata service's registration socket (rkt 1.30's `common.MetadataServiceRegSock`).
pub(crate) const MDS_SOCKET: &str = "/run/rkt/metadata-svc.sock";

/// Where the metadata service keeps its registrations, so that a restart keeps serving the
/// pods that run: `<dir>/<uuid>/{token,pod,apps/<app>}`.
pub(crate) const MDS_STATE_DIR: &str = "/run/rkt/mds";

/// `<pod>/mds-registered`: the pod is registered with the metadata service (rkt 1.30's
/// marker; gc unregisters it).
pub(crate) fn pod_mds_registered(pod: &Path) -> PathBuf {
    pod.join("mds-registered")
}

/// `<mds state>/<uuid>`: one registered pod.
pub(crate) fn mds_pod(state: &Path, uuid: &str) -> PathBuf {
    state.join(uuid)
}

/// `<dir>/pods/<state>`: the pods in one state (`embryo`, `prepare`, `run`, ...).
pub(crate) fn pods_in(data_dir: &Path, state: &str) -> PathBuf {
    pods(data_dir).join(state)
}

/// `<dir>/pods/<state>/<uuid>`: one pod directory.
pub(crate) fn pod_dir(data_dir: &Path, state: &str, uuid: &str) -> PathBuf {
    pods_in(data_dir, state).join(uuid)
}

/// `<pod>/pod`: the reified pod manifest.
pub(crate) fn pod_manifest(pod: &Path) -> PathBuf {
    pod.join("pod")
}

/// `<pod>/pod-created`: empty; its mtime is the pod's creation time.
pub(crate) fn pod_created(pod: &Path) -> PathBuf {
    pod.join("pod-created")
}

/// `<pod>/pid`: the host PID of the pod's PID 1; its mtime is the pod's start time.
pub(crate) fn pod_pid(pod: &Path) -> PathBuf {
    pod.join("pid")
}

/// `<pod>/pid-starttime`: PID 1's start time (field 22 of `/proc/<pid>/stat`), written with
/// `pid`; `rkt stop` signals the PID only while its start time still matches (PIDs are reused).
pub(crate) fn pod_pid_starttime(pod: &Path) -> PathBuf {
    pod.join("pid-starttime")
}

/// `<pod>/stage0-prepared`: the prepare-time options `run-prepared` needs to compute the plan
/// (JSON, stage0's own; the pod manifest says the rest).
pub(crate) fn pod_stage0_prepared(pod: &Path) -> PathBuf {
    pod.join("stage0-prepared")
}

/// `<pod>/stage1/rootfs/rkt/supervisor-status`: a symlink to `ready` once stage1-init has
/// started every app (rkt's `IsSupervisorReady`).
pub(crate) fn pod_supervisor_status(pod: &Path) -> PathBuf {
    stage1_init::plan::stage1_rootfs(pod).join("rkt/supervisor-status")
}

/// `<pod>/stage1/rootfs/rkt/status/<app>`: the app's decimal exit status.
pub(crate) fn pod_app_status(pod: &Path, app: &str) -> PathBuf {
    stage1_init::plan::status_file(pod, app)
}

/// `<pod>/gc-marked`: written when gc moves an exited pod to `exited-garbage`; its mtime is
/// the mark time the grace period counts from.
pub(crate) fn pod_gc_marked(pod: &Path) -> PathBuf {
    pod.join("gc-marked")
}

/// `<pod>/subcgroup`: the pod's cgroup relative to the hierarchy root, no newline (rkt 1.30).
pub(crate) fn pod_subcgroup(pod: &Path) -> PathBuf {
    pod.join("subcgroup")
}

/// `<pod>/cgroups`: every cgroup directory of the pod, for rm and gc (`cgroup::parse_record`).
pub(crate) fn pod_cgroups(pod: &Path) -> PathBuf {
    pod.join("cgroups")
}

/// `<pod>/appsinfo/<app>`: what stage0 recorded about one app.
pub(crate) fn pod_appinfo(pod: &Path, app: &str) -> PathBuf {
    pod.join("appsinfo").join(app)
}

/// `<pod>/appsinfo/<app>/manifest`: the app's image manifest.
pub(crate) fn pod_app_manifest(pod: &Path, app: &str) -> PathBuf {
    pod_appinfo(pod, app).join("manifest")
}

/// `<pod>/appsinfo/<app>/treeStoreID`: the rendered tree the app runs.
pub(crate) fn pod_app_tree(pod: &Path, app: &str) -> PathBuf {
    pod_appinfo(pod, app).join("treeStoreID")
}

/// `<pod>/overlay/<tree>/upper/<app>`: the app's overlay upper dir.
pub(crate) fn pod_overlay_upper(pod: &Path, tree: &str, app: &str) -> PathBuf {
    pod.join("overlay").join(tree).join("upper").join(app)
}

/// `<pod>/overlay/<tree>/work/<app>`: the app's overlay work dir (same fs as the upper).
pub(crate) fn pod_overlay_work(pod: &Path, tree: &str, app: &str) -> PathBuf {
    pod.join("overlay").join(tree).join("work").join(app)
}

/// `path`, recorded under a pod dir as it was then (the plan is computed while the pod is in
/// `prepare/`), under the pod dir `dir` where it is now; a path outside any pod dir as it is.
pub(crate) fn relocate_to_pod(path: &Path, dir: &Path) -> PathBuf {
    let uuid = dir.file_name().unwrap_or_default();
    let mut comps = path.components();
    let mut prefix = PathBuf::new();
    for c in comps.by_ref() {
        prefix.push(c);
        if c.as_os_str() == uuid {
            return dir.join(comps.as_path());
        }
    }
    prefix
}

/// `<dir>/locks/prepareLock`: shared while a pod is being prepared (from resolving its images
/// until its manifest names them), exclusive while image gc decides what pods use (rkt's
/// `prepareLock` key-lock), so gc cannot remove an image a new pod is about to reference.
pub(crate) fn prepare_lock(data_dir: &Path) -> PathBuf {
    data_dir.join("locks").join("prepareLock")
}

/// `<config>/trustedkeys/root.d`: keys trusted for every image name.
pub(crate) fn trusted_root_keys(config_dir: &Path) -> PathBuf {
    config_dir.join("trustedkeys").join("root.d")
}

/// `<config>/trustedkeys/prefix.d/<prefix>`: keys trusted for names under `prefix`, an AC
/// Identifier the caller has validated (no `.`, `..` or empty components, not absolute).
pub(crate) fn trusted_prefix_keys(config_dir: &Path, prefix: &str) -> PathBuf {
    let mut dir = trusted_prefixes(config_dir);
    dir.extend(prefix.split('/'));
    dir
}

/// `<config>/trustedkeys/prefix.d`: one directory tree per trusted prefix.
pub(crate) fn trusted_prefixes(config_dir: &Path) -> PathBuf {
    config_dir.join("trustedkeys").join("prefix.d")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_paths_follow_the_pod_to_run() {
        let dir = Path::new("/d/pods/run/u-1");
        assert_eq!(
            relocate_to_pod(Path::new("/d/pods/prepare/u-1/overlay/t/upper/a"), dir),
            Path::new("/d/pods/run/u-1/overlay/t/upper/a")
        );
        assert_eq!(
            relocate_to_pod(Path::new("/elsewhere/x"), dir),
            Path::new("/elsewhere/x")
        );
    }
}
