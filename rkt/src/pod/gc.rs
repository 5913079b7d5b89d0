//! Pod garbage collection, rkt's mark and sweep (rkt-behaviour §2.3): exited pods move from
//! `run/` to `exited-garbage/` (mark, with the mark time recorded), aborted prepares go to
//! `garbage/`, and pods marked longer ago than the grace period are removed (sweep). `rm` is
//! the same removal for one pod with no grace period.

use std::time::{Duration, SystemTime};

use super::remove::remove_pod_dir;
use super::{io_err, Dir, Error, Pod, Result, State};
use crate::paths;

/// What a gc did, pod by pod; per-pod failures do not stop it.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// Exited pods moved to `exited-garbage/`.
    pub(crate) marked: Vec<String>,
    /// Pods removed.
    pub(crate) removed: Vec<String>,
    /// Pods that could not be handled, with why.
    pub(crate) errors: Vec<(String, Error)>,
}

/// What a gc run is asked for (`rkt gc` flags).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// `--grace-period`: how long a pod stays marked before it is removed.
    pub(crate) grace: Duration,
    /// `--expire-prepared`: how long a prepared pod may wait for `run-prepared`.
    pub(crate) expire_prepared: Duration,
    /// `--mark-only`: mark, remove nothing.
    pub(crate) mark_only: bool,
}

/// The pod's lock, or `None` when another rkt holds it or the pod is no longer where it was
/// listed: a concurrent `rkt run` moves its pod from `prepare/` to `run/` (and `rm` removes
/// pods) between gc's listing and its lock, which is not an error; the next gc finds the pod
/// where it is now.
fn lock_if_still_there(pod: &Pod) -> Result<Option<crate::sys::lock::FileLock>> {
    match pod.try_lock() {
        Err(_) if !pod.path().exists() => Ok(None),
        other => other,
    }
}

/// Marks, then sweeps what has been marked for at least `grace` (`0s`: both in one call).
/// A pod that cannot be removed (a mount still busy) stays marked; the next gc retries it.
pub(crate) fn gc(data_dir: &std::path::Path, opts: Options) -> Result<Report> {
    let mut report = Report::default();
    let now = SystemTime::now();
    // Prepared pods never run within `expire_prepared` go to garbage (rkt `renameExpired`);
    // one being started by run-prepared holds its lock and is left alone.
    for mut pod in Pod::list_in(data_dir, Dir::Prepared)? {
        let created = paths::pod_created(&pod.path());
        let Ok(at) = std::fs::metadata(&created).and_then(|m| m.modified()) else {
            continue;
        };
        if now.duration_since(at).unwrap_or_default() < opts.expire_prepared {
            continue;
        }
        let Some(lock) = lock_if_still_there(&pod)? else {
            continue;
        };
        let res = pod.move_to(Dir::Garbage);
        drop(lock);
        match res {
            Ok(()) => report.marked.push(pod.uuid.clone()),
            Err(e) => report.errors.push((pod.uuid.clone(), e)),
        }
    }
    for mut pod in Pod::list_in(data_dir, Dir::Run)?
        .into_iter()
        .chain(Pod::list_in(data_dir, Dir::Prepare)?)
    {
        let Some(lock) = lock_if_still_there(&pod)? else {
            continue;
        };
        let to = if pod.dir == Dir::Run {
            Dir::ExitedGarbage
        } else {
            Dir::Garbage
        };
        let res = pod.move_to(to).and_then(|()| {
            let mark = paths::pod_gc_marked(&pod.path());
            std::fs::write(&mark, b"").map_err(io_err("write", &mark))
        });
        drop(lock);
        match res {
            Ok(()) => report.marked.push(pod.uuid.clone()),
            Err(e) => report.errors.push((pod.uuid.clone(), e)),
        }
    }
    if opts.mark_only {
        return Ok(report);
    }
    crate::store::failpoint::hit("pods-marked");
    for pod in Pod::list_in(data_dir, Dir::ExitedGarbage)?
        .into_iter()
        .chain(Pod::list_in(data_dir, Dir::Garbage)?)
    {
        if pod.dir == Dir::ExitedGarbage {
            let mark = paths::pod_gc_marked(&pod.path());
            // A pod without a mark time (crash during mark) counts as marked now: the next gc
            // sees the file's mtime.
            let marked = match std::fs::metadata(&mark).and_then(|m| m.modified()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = std::fs::write(&mark, b"");
                    now
                }
            };
            if now.duration_since(marked).unwrap_or_default() < opts.grace {
                continue;
            }
        }
        match remove(pod) {
            Ok(uuid) => report.removed.push(uuid),
            Err((uuid, e)) => report.errors.push((uuid, e)),
        }
    }
    Ok(report)
}

/// `rkt rm`: removes one pod now, unless it is running, preparing or being deleted.
pub(crate) fn rm(mut pod: Pod) -> std::result::Result<String, (String, Error)> {
    let uuid = pod.uuid.clone();
    let Some(lock) = pod.try_lock().map_err(|e| (uuid.clone(), e))? else {
        let state = pod.state().unwrap_or(State::Running);
        return Err((uuid.clone(), Error::Busy { uuid, state }));
    };
    // Renamed between the listing and the lock? The lock is on the directory, wherever it is.
    if !pod.path().exists() && !pod.refresh().map_err(|e| (uuid.clone(), e))? {
        return Ok(uuid);
    }
    if pod.dir == Dir::Run {
        pod.move_to(Dir::ExitedGarbage)
            .map_err(|e| (uuid.clone(), e))?;
    } else if pod.dir != Dir::ExitedGarbage && pod.dir != Dir::Garbage {
        pod.move_to(Dir::Garbage).map_err(|e| (uuid.clone(), e))?;
    }
    let res = remove_pod_dir(&pod.path());
    drop(lock);
    res.map(|()| uuid.clone()).map_err(|e| (uuid, e))
}

/// Removes a pod already in a garbage directory, under its lock.
fn remove(pod: Pod) -> std::result::Result<String, (String, Error)> {
    let uuid = pod.uuid.clone();
    let lock = match pod.try_lock() {
        Ok(Some(l)) => l,
        Ok(None) => {
            let state = pod.state().unwrap_or(State::Deleting);
            return Err((uuid.clone(), Error::Busy { uuid, state }));
        }
        Err(e) => return Err((uuid, e)),
    };
    let res = remove_pod_dir(&pod.path());
    drop(lock);
    res.map(|()| uuid.clone()).map_err(|e| (uuid, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_that_moved_on_after_listing_is_skipped_not_an_error() {
        let tmp = std::env::temp_dir().join(format!("rkt-gc-race-{}", std::process::id()));
        let (mut pod, lock) = Pod::create(&tmp).unwrap();
        let listed = Pod::list_in(&tmp, Dir::Prepare).unwrap().remove(0);
        // What `rkt run` does between gc's listing and its lock.
        pod.move_to(Dir::Run).unwrap();
        drop(lock);
        assert!(
            listed.try_lock().is_err(),
            "the stale path cannot be locked"
        );
        assert!(lock_if_still_there(&listed).unwrap().is_none());
        // The pod where it is now is gc's as usual.
        let report = gc(
            &tmp,
            Options {
                grace: Duration::ZERO,
                expire_prepared: Duration::from_secs(86400),
                mark_only: true,
            },
        )
        .unwrap();
        assert_eq!(report.marked, vec![pod.uuid.clone()]);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
