//! Messages on stderr: `rkt: warning: ...` and, with `--debug`, `rkt: ...` debug lines.
//! Errors are not printed here; `main` prints them once.

use std::sync::atomic::{AtomicBool, Ordering};

static DEBUG: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_debug(on: bool) {
    DEBUG.store(on, Ordering::Relaxed);
}

pub(crate) fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// A warning the user should see; the operation goes on.
#[allow(unused_macros)]
macro_rules! warning {
    ($($arg:tt)*) => {
        eprintln!("rkt: warning: {}", format_args!($($arg)*))
    };
}

/// A step and its inputs, printed only with `--debug`.
#[allow(unused_macros)]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::debug_enabled() {
            eprintln!("rkt: {}", format_args!($($arg)*));
        }
    };
}

#[allow(unused_imports)]
pub(crate) use {debug, warning};
