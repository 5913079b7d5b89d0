//! The half of `stage1-init` that `rkt` shares: the sync protocol and the launch plan.
//!
//! Both modules are plain data plus fd reads and writes, with rustix as the only dependency
//! they use, so that rkt can depend on this crate without pulling PID-1 code into stage0.

pub mod plan;
pub mod proto;
