//! The seccomp filter: a short deny-list BPF program, generated here and installed on every
//! thread of the process by `seccompiler` (TSYNC).
//!
//! ```text
//! arch != native                      -> kill the process (no 32-bit/foreign syscall ABI)
//! nr >= 0x40000000 (x86_64 x32 ABI)   -> EPERM
//! nr in the refused list              -> EPERM
//! clone3 (namespaces not permitted)   -> ENOSYS (glibc and std fall back to clone)
//! clone with CLONE_NEW* flags         -> EPERM
//! anything else                       -> allow
//! ```
//!
//! `EPERM` rather than a kill, so a refused call surfaces as a clear error in the script's
//! output instead of a dead runner.

use serde::Serialize;

use seccompiler::sock_filter;

/// One refused system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RefusedSyscall {
    /// Its name, e.g. `ptrace`.
    pub name: &'static str,
    /// Its number on this architecture.
    #[serde(skip)]
    pub nr: i64,
    /// Why it is refused (which family), for the report.
    pub family: Family,
}

/// Families of refused system calls; some are allowed when the policy permits the action
/// that needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Reading or writing another process (`ptrace`, `process_vm_*`, `pidfd_getfd`):
    /// allowed when `process_system::Action::"trace"` is permitted.
    Trace,
    /// `umount2`: allowed when `file_system::Action::"unmount"` is permitted.
    Unmount,
    /// `setns`, `unshare`, namespace flags of `clone`/`clone3`: allowed when a namespace
    /// action (or an `execute` permit that mentions `context.namespace`) is permitted.
    Namespace,
    /// Everything no SDK operation needs: mounts, kexec, bpf, modules, keyrings,
    /// userfaultfd, perf, reboot, swap, chroot, handles by inode, io_uring, clock setting,
    /// host naming, accounting, quotas, raw port I/O.
    Never,
}

macro_rules! refused {
    ($family:ident: $($name:ident),* $(,)?) => {
        [$(RefusedSyscall { name: stringify!($name), nr: paste_sys!($name), family: Family::$family }),*]
    };
}

macro_rules! paste_sys {
    (ptrace) => {
        libc::SYS_ptrace
    };
    (process_vm_readv) => {
        libc::SYS_process_vm_readv
    };
    (process_vm_writev) => {
        libc::SYS_process_vm_writev
    };
    (pidfd_getfd) => {
        libc::SYS_pidfd_getfd
    };
    (process_madvise) => {
        libc::SYS_process_madvise
    };
    (umount2) => {
        libc::SYS_umount2
    };
    (setns) => {
        libc::SYS_setns
    };
    (unshare) => {
        libc::SYS_unshare
    };
    (mount) => {
        libc::SYS_mount
    };
    (pivot_root) => {
        libc::SYS_pivot_root
    };
    (chroot) => {
        libc::SYS_chroot
    };
    (fsopen) => {
        libc::SYS_fsopen
    };
    (fsconfig) => {
        libc::SYS_fsconfig
    };
    (fsmount) => {
        libc::SYS_fsmount
    };
    (fspick) => {
        libc::SYS_fspick
    };
    (move_mount) => {
        libc::SYS_move_mount
    };
    (open_tree) => {
        libc::SYS_open_tree
    };
    (mount_setattr) => {
        libc::SYS_mount_setattr
    };
    (kexec_load) => {
        libc::SYS_kexec_load
    };
    (kexec_file_load) => {
        libc::SYS_kexec_file_load
    };
    (bpf) => {
        libc::SYS_bpf
    };
    (init_module) => {
        libc::SYS_init_module
    };
    (finit_module) => {
        libc::SYS_finit_module
    };
    (delete_module) => {
        libc::SYS_delete_module
    };
    (keyctl) => {
        libc::SYS_keyctl
    };
    (add_key) => {
        libc::SYS_add_key
    };
    (request_key) => {
        libc::SYS_request_key
    };
    (userfaultfd) => {
        libc::SYS_userfaultfd
    };
    (perf_event_open) => {
        libc::SYS_perf_event_open
    };
    (reboot) => {
        libc::SYS_reboot
    };
    (swapon) => {
        libc::SYS_swapon
    };
    (swapoff) => {
        libc::SYS_swapoff
    };
    (open_by_handle_at) => {
        libc::SYS_open_by_handle_at
    };
    (io_uring_setup) => {
        libc::SYS_io_uring_setup
    };
    (io_uring_enter) => {
        libc::SYS_io_uring_enter
    };
    (io_uring_register) => {
        libc::SYS_io_uring_register
    };
    (settimeofday) => {
        libc::SYS_settimeofday
    };
    (clock_settime) => {
        libc::SYS_clock_settime
    };
    (sethostname) => {
        libc::SYS_sethostname
    };
    (setdomainname) => {
        libc::SYS_setdomainname
    };
    (acct) => {
        libc::SYS_acct
    };
    (quotactl) => {
        libc::SYS_quotactl
    };
    (vhangup) => {
        libc::SYS_vhangup
    };
    (fanotify_init) => {
        libc::SYS_fanotify_init
    };
    (lookup_dcookie) => {
        libc::SYS_lookup_dcookie
    };
    (iopl) => {
        libc::SYS_iopl
    };
    (ioperm) => {
        libc::SYS_ioperm
    };
    (uselib) => {
        libc::SYS_uselib
    };
    (clone3) => {
        libc::SYS_clone3
    };
}

/// Every system call the filter may refuse on this architecture, by family.
pub fn catalogue() -> Vec<RefusedSyscall> {
    let mut v = Vec::new();
    v.extend(
        refused!(Trace: ptrace, process_vm_readv, process_vm_writev, pidfd_getfd, process_madvise),
    );
    v.extend(refused!(Unmount: umount2));
    v.extend(refused!(Namespace: setns, unshare));
    v.extend(refused!(Never:
        mount, pivot_root, chroot, fsopen, fsconfig, fsmount, fspick, move_mount, open_tree,
        mount_setattr, kexec_load, kexec_file_load, bpf, init_module, finit_module,
        delete_module, keyctl, add_key, request_key, userfaultfd, perf_event_open, reboot,
        swapon, swapoff, open_by_handle_at, io_uring_setup, io_uring_enter, io_uring_register,
        settimeofday, clock_settime, sethostname, setdomainname, acct, quotactl, vhangup,
        fanotify_init, lookup_dcookie,
    ));
    #[cfg(target_arch = "x86_64")]
    v.extend(refused!(Never: iopl, ioperm, uselib));
    v
}

/// `AUDIT_ARCH_*` of the architecture this crate was built for, if the filter supports it.
pub(crate) const fn native_arch() -> Option<u32> {
    if cfg!(target_arch = "x86_64") {
        Some(0xC000_003E)
    } else if cfg!(target_arch = "aarch64") {
        Some(0xC000_00B7)
    } else {
        None
    }
}

const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARG0_LO: u32 = 16;

pub(crate) const RET_ALLOW: u32 = 0x7fff_0000;
pub(crate) const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub(crate) const RET_ERRNO: u32 = 0x0005_0000;

/// The x32 ABI marks its syscall numbers with this bit (x86_64 only).
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The namespace flags of `clone` (`CLONE_NEWTIME` shares its bit with the exit signal
/// there, so it is not tested).
const CLONE_NS_FLAGS: u32 = 0x0002_0000 // CLONE_NEWNS
    | 0x0200_0000 // CLONE_NEWCGROUP
    | 0x0400_0000 // CLONE_NEWUTS
    | 0x0800_0000 // CLONE_NEWIPC
    | 0x1000_0000 // CLONE_NEWUSER
    | 0x2000_0000 // CLONE_NEWPID
    | 0x4000_0000; // CLONE_NEWNET

#[derive(Clone, Copy)]
enum To {
    Next,
    Skip(u8),
    Eperm,
    Enosys,
}

enum Insn {
    Stmt(u16, u32),
    Jump(u16, u32, To, To),
}

/// Builds the program: `refused` answer `EPERM`; without `namespaces`, `clone3` answers
/// `ENOSYS` and `clone` with a `CLONE_NEW*` flag answers `EPERM`.
pub(crate) fn program(
    arch: u32,
    refused: &[RefusedSyscall],
    namespaces: bool,
) -> Result<Vec<sock_filter>, String> {
    let mut code = vec![
        Insn::Stmt(LD_W_ABS, OFF_ARCH),
        Insn::Jump(JEQ_K, arch, To::Skip(1), To::Next),
        Insn::Stmt(RET_K, RET_KILL_PROCESS),
        Insn::Stmt(LD_W_ABS, OFF_NR),
    ];
    if arch == 0xC000_003E {
        code.push(Insn::Jump(JGE_K, X32_SYSCALL_BIT, To::Eperm, To::Next));
    }
    for s in refused {
        let nr = u32::try_from(s.nr)
            .map_err(|_| format!("syscall number of `{}` out of range", s.name))?;
        code.push(Insn::Jump(JEQ_K, nr, To::Eperm, To::Next));
    }
    if !namespaces {
        let clone3 = u32::try_from(libc::SYS_clone3).map_err(|_| "clone3 number".to_owned())?;
        let clone = u32::try_from(libc::SYS_clone).map_err(|_| "clone number".to_owned())?;
        code.push(Insn::Jump(JEQ_K, clone3, To::Enosys, To::Next));
        code.push(Insn::Jump(JEQ_K, clone, To::Next, To::Skip(2)));
        code.push(Insn::Stmt(LD_W_ABS, OFF_ARG0_LO));
        code.push(Insn::Jump(JSET_K, CLONE_NS_FLAGS, To::Eperm, To::Next));
    }
    let allow = code.len();
    let eperm = allow + 1;
    let enosys = allow + 2;
    let mut out = Vec::with_capacity(code.len() + 3);
    for (i, insn) in code.iter().enumerate() {
        let rel = |to: To| -> Result<u8, String> {
            let target = match to {
                To::Next => i + 1,
                To::Skip(n) => i + 1 + usize::from(n),
                To::Eperm => eperm,
                To::Enosys => enosys,
            };
            u8::try_from(target - i - 1)
                .map_err(|_| "seccomp program too long for a jump".to_owned())
        };
        out.push(match *insn {
            Insn::Stmt(code, k) => sock_filter {
                code,
                jt: 0,
                jf: 0,
                k,
            },
            Insn::Jump(code, k, jt, jf) => sock_filter {
                code,
                jt: rel(jt)?,
                jf: rel(jf)?,
                k,
            },
        });
    }
    out.push(sock_filter {
        code: RET_K,
        jt: 0,
        jf: 0,
        k: RET_ALLOW,
    });
    out.push(sock_filter {
        code: RET_K,
        jt: 0,
        jf: 0,
        k: RET_ERRNO | errno(libc::EPERM),
    });
    out.push(sock_filter {
        code: RET_K,
        jt: 0,
        jf: 0,
        k: RET_ERRNO | errno(libc::ENOSYS),
    });
    Ok(out)
}

fn errno(e: i32) -> u32 {
    u32::try_from(e).unwrap_or(1) & 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program on one `seccomp_data` (only the opcodes `program` emits).
    fn run(prog: &[sock_filter], arch: u32, nr: u32, arg0: u32) -> u32 {
        let mut a = 0u32;
        let mut pc = 0usize;
        loop {
            let i = &prog[pc];
            match i.code {
                LD_W_ABS => {
                    a = match i.k {
                        OFF_NR => nr,
                        OFF_ARCH => arch,
                        OFF_ARG0_LO => arg0,
                        k => panic!("load of {k}"),
                    };
                    pc += 1;
                }
                RET_K => return i.k,
                JEQ_K | JGE_K | JSET_K => {
                    let taken = match i.code {
                        JEQ_K => a == i.k,
                        JGE_K => a >= i.k,
                        _ => a & i.k != 0,
                    };
                    pc += 1 + usize::from(if taken { i.jt } else { i.jf });
                }
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    fn nr(n: i64) -> u32 {
        u32::try_from(n).unwrap()
    }

    #[test]
    fn refuses_the_list_allows_the_rest_and_kills_foreign_arches() {
        let arch = native_arch().unwrap();
        let list = catalogue();
        let prog = program(arch, &list, false).unwrap();
        let eperm = RET_ERRNO | 1;
        for s in &list {
            assert_eq!(run(&prog, arch, nr(s.nr), 0), eperm, "{}", s.name);
        }
        for ok in [
            libc::SYS_read,
            libc::SYS_openat,
            libc::SYS_write,
            libc::SYS_landlock_restrict_self,
        ] {
            assert_eq!(run(&prog, arch, nr(ok), 0), RET_ALLOW);
        }
        assert_eq!(
            run(&prog, 0x4000_0003, nr(libc::SYS_read), 0),
            RET_KILL_PROCESS
        );
        assert_eq!(
            run(&prog, arch, nr(libc::SYS_clone3), 0),
            RET_ERRNO | nr(i64::from(libc::ENOSYS))
        );
        // A thread (CLONE_VM|CLONE_THREAD|...) is fine, a new user namespace is not.
        assert_eq!(
            run(&prog, arch, nr(libc::SYS_clone), 0x003d_0f00),
            RET_ALLOW
        );
        assert_eq!(run(&prog, arch, nr(libc::SYS_clone), 0x1000_0011), eperm);
        if arch == 0xC000_003E {
            assert_eq!(
                run(&prog, arch, X32_SYSCALL_BIT | nr(libc::SYS_read), 0),
                eperm
            );
        }
    }

    #[test]
    fn namespaces_permitted_leaves_clone_alone() {
        let arch = native_arch().unwrap();
        let prog = program(arch, &[], true).unwrap();
        assert_eq!(run(&prog, arch, nr(libc::SYS_clone3), 0), RET_ALLOW);
        assert_eq!(
            run(&prog, arch, nr(libc::SYS_clone), 0x1000_0011),
            RET_ALLOW
        );
    }
}
