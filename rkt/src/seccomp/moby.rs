//! moby's default seccomp profile (`github.com/moby/profiles` `seccomp/default.json` at
//! 02e898b1, the newest state of what Docker ships), as data: what `rkt run` applies when an
//! app names no seccomp isolator, and what `@docker/default-whitelist` and
//! `@rkt/default-whitelist` mean in a retain set.
//!
//! Its default action is EPERM. `io_uring_setup`, `io_uring_enter` and `io_uring_register` are
//! not allowed (moby PR #46762, Docker 25: io_uring bypasses seccomp for the operations it
//! queues). `socket` takes only the address families listed (AF_ALG and AF_VSOCK refused,
//! CVE-2026-31431). Names that do not exist on an architecture are skipped for it.

use super::{Action, Arg, Cmp, Entry};

/// Allowed whatever the capabilities and arguments.
pub(super) const ALWAYS: &[&str] = &[
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "getxattrat",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listmount",
    "listxattr",
    "listxattrat",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "mseal",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "removexattrat",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "riscv_hwprobe",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "setxattrat",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statmount",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "uretprobe",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
];

/// Allowed (or answered) only under a condition: an argument, an architecture, or the
/// capabilities the app keeps in its bounding set.
pub(super) const CONDITIONAL: &[Entry] = &[
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Lt(0xc),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0xd),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0xe),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0xf),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x10),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x11),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x12),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x15),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x16),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x18),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x1a),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x1b),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x1c),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x1d),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x1e),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x1f),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x20),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x21),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x23),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x24),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x27),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x29),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x2a),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x2b),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x2c),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "socket",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x2d),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "personality",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x0),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "personality",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x8),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "personality",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x20000),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "personality",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0x20008),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "personality",
        action: Action::Allow,
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::Eq(0xffffffff),
        }),
        ..Entry::NONE
    },
    Entry {
        name: "sync_file_range2",
        action: Action::Allow,
        arches: &["powerpc64"],
        ..Entry::NONE
    },
    Entry {
        name: "swapcontext",
        action: Action::Allow,
        arches: &["powerpc64"],
        ..Entry::NONE
    },
    Entry {
        name: "arm_fadvise64_64",
        action: Action::Allow,
        arches: &["aarch64", "arm"],
        ..Entry::NONE
    },
    Entry {
        name: "arm_sync_file_range",
        action: Action::Allow,
        arches: &["aarch64", "arm"],
        ..Entry::NONE
    },
    Entry {
        name: "sync_file_range2",
        action: Action::Allow,
        arches: &["aarch64", "arm"],
        ..Entry::NONE
    },
    Entry {
        name: "breakpoint",
        action: Action::Allow,
        arches: &["aarch64", "arm"],
        ..Entry::NONE
    },
    Entry {
        name: "cacheflush",
        action: Action::Allow,
        arches: &["aarch64", "arm"],
        ..Entry::NONE
    },
    Entry {
        name: "set_tls",
        action: Action::Allow,
        arches: &["aarch64", "arm"],
        ..Entry::NONE
    },
    Entry {
        name: "arch_prctl",
        action: Action::Allow,
        arches: &["x86_64"],
        ..Entry::NONE
    },
    Entry {
        name: "modify_ldt",
        action: Action::Allow,
        arches: &["x86", "x86_64"],
        ..Entry::NONE
    },
    Entry {
        name: "s390_pci_mmio_read",
        action: Action::Allow,
        arches: &["s390x"],
        ..Entry::NONE
    },
    Entry {
        name: "s390_pci_mmio_write",
        action: Action::Allow,
        arches: &["s390x"],
        ..Entry::NONE
    },
    Entry {
        name: "s390_runtime_instr",
        action: Action::Allow,
        arches: &["s390x"],
        ..Entry::NONE
    },
    Entry {
        name: "riscv_flush_icache",
        action: Action::Allow,
        arches: &["riscv64"],
        ..Entry::NONE
    },
    Entry {
        name: "open_by_handle_at",
        action: Action::Allow,
        caps: &["CAP_DAC_READ_SEARCH"],
        ..Entry::NONE
    },
    Entry {
        name: "bpf",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "clone",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "clone3",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "fanotify_init",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "fsconfig",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "fsmount",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "fsopen",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "fspick",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "lookup_dcookie",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "lsm_get_self_attr",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "lsm_list_modules",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "lsm_set_self_attr",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "mount",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "mount_setattr",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "move_mount",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "open_tree",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "perf_event_open",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "quotactl",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "quotactl_fd",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "setdomainname",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "sethostname",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "setns",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "syslog",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "umount",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "umount2",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "unshare",
        action: Action::Allow,
        caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "clone",
        action: Action::Allow,
        not_arches: &["s390x"],
        not_caps: &["CAP_SYS_ADMIN"],
        arg: Some(Arg {
            index: 0,
            cmp: Cmp::MaskedEq {
                mask: 0x7e020000,
                value: 0x0,
            },
        }),
        ..Entry::NONE
    },
    Entry {
        name: "clone",
        action: Action::Allow,
        arches: &["s390x"],
        not_caps: &["CAP_SYS_ADMIN"],
        arg: Some(Arg {
            index: 1,
            cmp: Cmp::MaskedEq {
                mask: 0x7e020000,
                value: 0x0,
            },
        }),
        ..Entry::NONE
    },
    Entry {
        name: "clone3",
        action: Action::Errno(38),
        not_caps: &["CAP_SYS_ADMIN"],
        ..Entry::NONE
    },
    Entry {
        name: "reboot",
        action: Action::Allow,
        caps: &["CAP_SYS_BOOT"],
        ..Entry::NONE
    },
    Entry {
        name: "chroot",
        action: Action::Allow,
        caps: &["CAP_SYS_CHROOT"],
        ..Entry::NONE
    },
    Entry {
        name: "delete_module",
        action: Action::Allow,
        caps: &["CAP_SYS_MODULE"],
        ..Entry::NONE
    },
    Entry {
        name: "init_module",
        action: Action::Allow,
        caps: &["CAP_SYS_MODULE"],
        ..Entry::NONE
    },
    Entry {
        name: "finit_module",
        action: Action::Allow,
        caps: &["CAP_SYS_MODULE"],
        ..Entry::NONE
    },
    Entry {
        name: "acct",
        action: Action::Allow,
        caps: &["CAP_SYS_PACCT"],
        ..Entry::NONE
    },
    Entry {
        name: "kcmp",
        action: Action::Allow,
        caps: &["CAP_SYS_PTRACE"],
        ..Entry::NONE
    },
    Entry {
        name: "pidfd_getfd",
        action: Action::Allow,
        caps: &["CAP_SYS_PTRACE"],
        ..Entry::NONE
    },
    Entry {
        name: "process_madvise",
        action: Action::Allow,
        caps: &["CAP_SYS_PTRACE"],
        ..Entry::NONE
    },
    Entry {
        name: "process_vm_readv",
        action: Action::Allow,
        caps: &["CAP_SYS_PTRACE"],
        ..Entry::NONE
    },
    Entry {
        name: "process_vm_writev",
        action: Action::Allow,
        caps: &["CAP_SYS_PTRACE"],
        ..Entry::NONE
    },
    Entry {
        name: "ptrace",
        action: Action::Allow,
        caps: &["CAP_SYS_PTRACE"],
        ..Entry::NONE
    },
    Entry {
        name: "iopl",
        action: Action::Allow,
        caps: &["CAP_SYS_RAWIO"],
        ..Entry::NONE
    },
    Entry {
        name: "ioperm",
        action: Action::Allow,
        caps: &["CAP_SYS_RAWIO"],
        ..Entry::NONE
    },
    Entry {
        name: "settimeofday",
        action: Action::Allow,
        caps: &["CAP_SYS_TIME"],
        ..Entry::NONE
    },
    Entry {
        name: "stime",
        action: Action::Allow,
        caps: &["CAP_SYS_TIME"],
        ..Entry::NONE
    },
    Entry {
        name: "clock_settime",
        action: Action::Allow,
        caps: &["CAP_SYS_TIME"],
        ..Entry::NONE
    },
    Entry {
        name: "clock_settime64",
        action: Action::Allow,
        caps: &["CAP_SYS_TIME"],
        ..Entry::NONE
    },
    Entry {
        name: "vhangup",
        action: Action::Allow,
        caps: &["CAP_SYS_TTY_CONFIG"],
        ..Entry::NONE
    },
    Entry {
        name: "get_mempolicy",
        action: Action::Allow,
        caps: &["CAP_SYS_NICE"],
        ..Entry::NONE
    },
    Entry {
        name: "mbind",
        action: Action::Allow,
        caps: &["CAP_SYS_NICE"],
        ..Entry::NONE
    },
    Entry {
        name: "set_mempolicy",
        action: Action::Allow,
        caps: &["CAP_SYS_NICE"],
        ..Entry::NONE
    },
    Entry {
        name: "set_mempolicy_home_node",
        action: Action::Allow,
        caps: &["CAP_SYS_NICE"],
        ..Entry::NONE
    },
    Entry {
        name: "syslog",
        action: Action::Allow,
        caps: &["CAP_SYSLOG"],
        ..Entry::NONE
    },
    Entry {
        name: "bpf",
        action: Action::Allow,
        caps: &["CAP_BPF"],
        ..Entry::NONE
    },
    Entry {
        name: "perf_event_open",
        action: Action::Allow,
        caps: &["CAP_PERFMON"],
        ..Entry::NONE
    },
];
