//! The `stage1-init` program, embedded in rkt's own bytes by `build.rs`.
//!
//! Pods exec it from these bytes, never from a file on the host, so no pod can overwrite the
//! stage1-init that the next pod runs (CVE-2019-5736 class).

/// The static musl ELF of `stage1-init`.
pub(crate) static STAGE1_INIT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/stage1-init"));

/// `sha512-` and the first 32 hex digits of the embedded program, naming the stage1 build.
pub(crate) fn digest() -> String {
    use sha2::{Digest, Sha512};
    let sum = Sha512::digest(STAGE1_INIT);
    let hex: String = sum.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("sha512-{hex}")
}

#[cfg(test)]
mod tests {
    use super::STAGE1_INIT;

    const PT_INTERP: u32 = 3;
    const PT_DYNAMIC: u32 = 2;

    fn program_header_types(elf: &[u8]) -> Vec<u32> {
        let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
        let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
        let phoff = u64_at(0x20);
        let phentsize = u16_at(0x36);
        let phnum = u16_at(0x38);
        (0..phnum)
            .map(|i| {
                let o = phoff + i * phentsize;
                u32::from_le_bytes(elf[o..o + 4].try_into().unwrap())
            })
            .collect()
    }

    #[test]
    fn embedded_stage1_init_is_a_static_x86_64_elf() {
        assert_eq!(&STAGE1_INIT[..4], b"\x7fELF");
        assert_eq!(STAGE1_INIT[4], 2, "ELFCLASS64");
        assert_eq!(
            u16::from_le_bytes([STAGE1_INIT[18], STAGE1_INIT[19]]),
            62,
            "EM_X86_64"
        );
        let types = program_header_types(STAGE1_INIT);
        assert!(!types.is_empty());
        assert!(
            !types.contains(&PT_INTERP),
            "stage1-init has a program interpreter"
        );
        assert!(
            !types.contains(&PT_DYNAMIC),
            "stage1-init has a dynamic section"
        );
    }
}
