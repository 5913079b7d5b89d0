//! Failpoints: `RKT_FAILPOINT=<name>` makes the process abort (SIGABRT, no unwinding, no
//! cleanup, as a crash or `kill -9` would) when it reaches the named durable step. They are
//! always compiled in so that the end-to-end tests exercise the shipped binary; reading one
//! environment variable per step costs nothing next to the fsyncs around it.
//!
//! The names, in the order an import reaches them:
//! `import-streamed` (archive read into `tmp/`, nothing flushed), `import-synced` (tmp entry
//! flushed), `blob-renamed`, `manifest-written`, `tree-renamed`, `tree-rendered`,
//! `index-written` (committed, before the tmp entry is cleaned). `image rm` reaches
//! `rm-unindexed` after removing the record, and `image gc` reaches `gc-collected` after
//! collecting stale temporary entries. Pods: `run` reaches `pod-prepared` (pod dir, manifest
//! and plan inputs written, still in `prepare/`), `pod-ready` (stage1-init set up, before
//! `pid` and the move to `run/`) and `pod-running` (in `run/`, before `Go`); `gc` reaches
//! `pods-marked` after the mark phase and `pod-half-removed` with a pod's directory partly
//! deleted.

/// Every failpoint, for the tests and the docs.
pub(crate) const ALL: &[&str] = &[
    "import-streamed",
    "import-synced",
    "blob-renamed",
    "manifest-written",
    "tree-renamed",
    "tree-rendered",
    "index-written",
    "rm-unindexed",
    "gc-collected",
    "pod-prepared",
    "pod-ready",
    "pod-running",
    "pods-marked",
    "pod-half-removed",
];

/// Aborts the process if `RKT_FAILPOINT` names this point.
pub(crate) fn hit(name: &'static str) {
    debug_assert!(ALL.contains(&name), "unknown failpoint {name}");
    if std::env::var_os(crate::paths::ENV_FAILPOINT).is_some_and(|v| v == name) {
        eprintln!("rkt: failpoint {name}: aborting");
        std::process::abort();
    }
}
