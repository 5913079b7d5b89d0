//! STAND-IN (deleted at the merge).
#[path = "aci.rs"]
pub(crate) mod aci;
