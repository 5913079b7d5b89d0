//! Thin syscall helpers: the only module with `unsafe` (each block says why it is sound).
//!
//! Owns: path resolution confined to a tree ([`resolve`]), durable and atomic writes and other
//! file-system calls rustix does not offer in the shape we need ([`fs`]), and flock locks
//! ([`lock`]). Depends on nothing else in the crate and knows nothing of images or pods.
//! Functions are documented like rustix: the C call and its purpose, then `# References`.

pub(crate) mod cgroup;
pub(crate) mod enter;
pub(crate) mod exec;
pub(crate) mod fly;
pub(crate) mod fs;
pub(crate) mod lock;
pub(crate) mod netlink;
pub(crate) mod netns;
pub(crate) mod nftables;
pub(crate) mod overlay;
pub(crate) mod proc;
pub(crate) mod random;
pub(crate) mod relay;
pub(crate) mod resolve;
pub(crate) mod service;
pub(crate) mod spawn;
pub(crate) mod tty;
