//! `floor ROOTFS CMD [ARGS...]`: the pinned floor of `scripts/bench.sh run`. It does the least
//! any container start must do and nothing else: new PID, mount, UTS and IPC namespaces,
//! mount propagation to slave, bind the rootfs, pivot_root into it, mount `/proc`, exec CMD,
//! wait, and exit with CMD's status. No plan, no pod directory, no /dev, no confinement.

use std::ffi::CString;

fn check(rc: libc::c_int, what: &str) {
    if rc != 0 {
        eprintln!("floor: {what}: {}", std::io::Error::last_os_error());
        // SAFETY: _exit is always safe to call.
        unsafe { libc::_exit(126) };
    }
}

fn main() {
    let args: Vec<CString> = std::env::args()
        .skip(1)
        .map(|a| CString::new(a).unwrap_or_default())
        .collect();
    if args.len() < 2 {
        eprintln!("usage: floor ROOTFS CMD [ARGS...]");
        std::process::exit(2);
    }
    let root = &args[0];
    let mut argv: Vec<*const libc::c_char> = args[1..].iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: plain syscalls; the child runs only syscalls on prepared C strings until exec.
    unsafe {
        check(libc::unshare(libc::CLONE_NEWPID), "unshare pid");
        let pid = libc::fork();
        if pid == 0 {
            check(
                libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC),
                "unshare",
            );
            let none = c"none".as_ptr();
            check(
                libc::mount(
                    none,
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_SLAVE,
                    std::ptr::null(),
                ),
                "rslave",
            );
            check(
                libc::mount(
                    root.as_ptr(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ),
                "bind",
            );
            check(libc::chdir(root.as_ptr()), "chdir");
            check(
                libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) as libc::c_int,
                "pivot_root",
            );
            check(
                libc::umount2(c".".as_ptr(), libc::MNT_DETACH),
                "umount old root",
            );
            check(libc::chdir(c"/".as_ptr()), "chdir /");
            check(
                libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    0,
                    std::ptr::null(),
                ),
                "mount proc",
            );
            libc::execv(argv[0], argv.as_ptr());
            check(-1, "exec");
        }
        check(if pid < 0 { -1 } else { 0 }, "fork");
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        if libc::WIFEXITED(status) {
            std::process::exit(libc::WEXITSTATUS(status));
        }
        std::process::exit(128 + libc::WTERMSIG(status));
    }
}
