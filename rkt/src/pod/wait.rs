//! `rkt status --wait` and `--wait-ready`: polling a pod's state (rkt `pkg/pod/wait.go` polled
//! too: the pod lock is held by PID 1, and readiness is a symlink stage1-init creates).

use std::time::{Duration, Instant};

use super::{Error, Pod, Result, State};

/// How often the pod is looked at again.
const POLL: Duration = Duration::from_millis(50);

/// A state from which the pod never runs again (gc may still move it).
fn is_final(state: State) -> bool {
    state.is_after_run()
        || matches!(
            state,
            State::AbortedPrepare | State::Garbage | State::Deleting
        )
}

/// Waits until the pod has finished (exited, or its prepare aborted); `None` waits forever.
pub(crate) fn wait_finished(pod: &mut Pod, timeout: Option<Duration>) -> Result<()> {
    poll(pod, timeout, "finish", |_, state| {
        Ok(is_final(state).then_some(()))
    })
}

/// Waits until every app of the pod has been started; a pod that ends first is an error.
pub(crate) fn wait_ready(pod: &mut Pod, timeout: Option<Duration>) -> Result<()> {
    poll(pod, timeout, "be ready", |pod, state| {
        if pod.is_ready() {
            return Ok(Some(()));
        }
        if is_final(state) {
            return Err(Error::Wait {
                uuid: pod.uuid.clone(),
                what: format!("the pod is {state}: it will never be ready"),
            });
        }
        Ok(None)
    })
}

fn poll(
    pod: &mut Pod,
    timeout: Option<Duration>,
    what: &str,
    mut done: impl FnMut(&Pod, State) -> Result<Option<()>>,
) -> Result<()> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        if !pod.path().exists() && !pod.refresh()? {
            return Err(Error::NotFound(pod.uuid.clone()));
        }
        let state = match pod.state() {
            Ok(s) => s,
            // Renamed between the check and the lock: look again.
            Err(_) if !pod.path().exists() => continue,
            Err(e) => return Err(e),
        };
        if done(pod, state)?.is_some() {
            return Ok(());
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Error::Wait {
                uuid: pod.uuid.clone(),
                what: format!("timed out waiting for the pod to {what}"),
            });
        }
        std::thread::sleep(POLL);
    }
}
