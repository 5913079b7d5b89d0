//! The steps of `rkt run`, one module each, in order: [`resolve`] the images, [`prepare`] the
//! pod dir, [`start`] the pod. Each step's failure leaves the pod in a truthful state: before
//! `Ready` the pod stays in `prepare/` and, once rkt exits, reads as "aborted prepare"
//! (removable by `rm` and gc); after `Go` it is in `run/` with its lock held by PID 1.

mod prepare;
mod resolve;
mod start;

use std::path::Path;

use super::{io_err, Error, RunOptions, StartOptions};
use crate::pod::{Dir, Pod};

pub(crate) use prepare::prepare;
pub(crate) use start::start;

/// Runs the pod and returns its exit status (the app's; 128+N for signal N): [`prepare`] and
/// [`start`] back to back, the pod lock held throughout.
pub(crate) fn run(data_dir: &Path, opts: &RunOptions) -> Result<u8, Error> {
    let (pod, lock) = prepare(data_dir, opts)?;
    start(data_dir, pod, lock, &opts.start_options())
}

/// `rkt prepare`: [`prepare`], then the pod moves to `prepared/` and its lock is released.
pub(crate) fn prepare_only(data_dir: &Path, opts: &RunOptions) -> Result<String, Error> {
    let (mut pod, lock) = prepare(data_dir, opts)?;
    pod.move_to(Dir::Prepared)?;
    drop(lock);
    Ok(pod.uuid)
}

/// `rkt run-prepared`: takes a `prepared` pod's lock (refusing one another rkt is starting)
/// and [`start`]s it.
pub(crate) fn run_prepared(data_dir: &Path, uuid: &str, opts: &StartOptions) -> Result<u8, Error> {
    // The pod's paths go into the plan, which stage1-init reads after chdir: absolute ones.
    let data_dir = &std::path::absolute(data_dir).map_err(io_err("resolve", data_dir))?;
    let pod = Pod::resolve(data_dir, uuid)?;
    let state = pod.state()?;
    if state != crate::pod::State::Prepared {
        return Err(Error::Pod(crate::pod::Error::Busy {
            uuid: pod.uuid,
            state,
        }));
    }
    let Some(lock) = pod.try_lock()? else {
        return Err(Error::Apps(format!(
            "pod {} is being started by another rkt",
            pod.uuid
        )));
    };
    // Moved between the check and the lock (another run-prepared, or gc)?
    if !pod.path().exists() {
        return Err(Error::Pod(crate::pod::Error::NotFound(pod.uuid)));
    }
    start(data_dir, pod, lock, opts)
}
