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
//!
//! The singled-out numbers are found by a binary search, not a chain of comparisons: the
//! kernel runs a new filter once per system call number to cache which ones it always
//! allows, so a short path per number makes the install cheaper (see [`program`]).

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
const JA: u16 = 0x05;
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

/// What the filter answers for one system call number it singles out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    Eperm,
    Enosys,
    /// `clone`: refused with `EPERM` when its flags ask for a new namespace.
    CloneFlags,
}

/// Where a jump goes.
#[derive(Clone, Copy)]
enum To {
    Next,
    Skip(u8),
    Allow,
    Verdict(Verdict),
    /// The first instruction of the subtree that starts at this index of the sorted list.
    Subtree(usize),
}

enum Insn {
    Stmt(u16, u32),
    Jump(u16, u32, To, To),
    /// An unconditional jump (`BPF_JA`).
    Goto(To),
    /// Marks where the right subtree of the sorted list starting at this index begins
    /// (each index starts at most one: the split at it).
    Label(usize),
}

/// Most numbers a leaf of the search tree compares one by one.
const LEAF: usize = 3;

/// Builds the program: `refused` answer `EPERM`; without `namespaces`, `clone3` answers
/// `ENOSYS` and `clone` with a `CLONE_NEW*` flag answers `EPERM`.
///
/// The numbers are found by a binary search tree (`JGE` splits, then at most three `JEQ`s
/// per leaf) rather than one comparison after another: when the filter is installed, the
/// kernel runs it once for every system call number of the architecture to learn which
/// ones it always allows (and then never runs it for them), so its cost grows with the
/// path a number takes. Measured on this project's 2-processor KVM guests with a C
/// program installing a 50-number filter: 140 us as a chain, 44 us when the numbers are
/// out of the way; the runner's trivial start-up went from 5.29 to 5.19 ms
/// (`bench/ab.py`, `docs/PERFORMANCE.md`, thirteenth session).
pub(crate) fn program(
    arch: u32,
    refused: &[RefusedSyscall],
    namespaces: bool,
) -> Result<Vec<sock_filter>, String> {
    let mut singled: Vec<(u32, Verdict)> = Vec::with_capacity(refused.len() + 2);
    for s in refused {
        let nr = u32::try_from(s.nr)
            .map_err(|_| format!("syscall number of `{}` out of range", s.name))?;
        singled.push((nr, Verdict::Eperm));
    }
    if !namespaces {
        let clone3 = u32::try_from(libc::SYS_clone3).map_err(|_| "clone3 number".to_owned())?;
        let clone = u32::try_from(libc::SYS_clone).map_err(|_| "clone number".to_owned())?;
        singled.push((clone3, Verdict::Enosys));
        singled.push((clone, Verdict::CloneFlags));
    }
    // Stable, so a number listed twice keeps its first verdict: the refused list's `EPERM`.
    singled.sort_by_key(|&(nr, _)| nr);
    singled.dedup_by_key(|&mut (nr, _)| nr);

    let mut code = vec![
        Insn::Stmt(LD_W_ABS, OFF_ARCH),
        Insn::Jump(JEQ_K, arch, To::Skip(1), To::Next),
        Insn::Stmt(RET_K, RET_KILL_PROCESS),
        Insn::Stmt(LD_W_ABS, OFF_NR),
    ];
    if arch == 0xC000_003E {
        code.push(Insn::Jump(
            JGE_K,
            X32_SYSCALL_BIT,
            To::Verdict(Verdict::Eperm),
            To::Next,
        ));
    }
    tree(&singled, 0, singled.len(), &mut code);
    assemble(&code, singled.len())
}

/// Emits the search over `singled[lo..hi]` (sorted by number): a leaf compares each
/// number in turn and falls through to allow; a larger range splits at its middle number.
fn tree(singled: &[(u32, Verdict)], lo: usize, hi: usize, code: &mut Vec<Insn>) {
    if hi - lo <= LEAF {
        for &(nr, verdict) in &singled[lo..hi] {
            code.push(Insn::Jump(JEQ_K, nr, To::Verdict(verdict), To::Next));
        }
        if hi < singled.len() {
            code.push(Insn::Goto(To::Allow));
        }
        return;
    }
    let mid = lo + (hi - lo) / 2;
    code.push(Insn::Jump(
        JGE_K,
        singled[mid].0,
        To::Subtree(mid),
        To::Next,
    ));
    tree(singled, lo, mid, code);
    code.push(Insn::Label(mid));
    tree(singled, mid, hi, code);
}

/// Lays the instructions out, with the shared answers at the end, and resolves every jump
/// to its relative offset (at most 255 instructions forward, which BPF requires).
fn assemble(code: &[Insn], subtrees: usize) -> Result<Vec<sock_filter>, String> {
    let mut at = Vec::with_capacity(code.len());
    let mut labels = vec![None; subtrees + 1];
    let mut len = 0usize;
    for insn in code {
        at.push(len);
        match *insn {
            Insn::Label(l) => {
                if let Some(slot) = labels.get_mut(l) {
                    *slot = Some(len);
                }
            }
            _ => len += 1,
        }
    }
    let allow = len;
    let verdict_at = |v: Verdict| match v {
        Verdict::Eperm => allow + 1,
        Verdict::Enosys => allow + 2,
        Verdict::CloneFlags => allow + 3,
    };
    let mut out = Vec::with_capacity(len + 6);
    for (insn, &i) in code.iter().zip(&at) {
        let rel = |to: To| -> Result<usize, String> {
            let target = match to {
                To::Next => i + 1,
                To::Skip(n) => i + 1 + usize::from(n),
                To::Allow => allow,
                To::Verdict(v) => verdict_at(v),
                To::Subtree(l) => labels
                    .get(l)
                    .copied()
                    .flatten()
                    .ok_or_else(|| format!("seccomp program: no subtree `{l}`"))?,
            };
            Ok(target - i - 1)
        };
        let short = |to: To| -> Result<u8, String> {
            u8::try_from(rel(to)?).map_err(|_| "seccomp program too long for a jump".to_owned())
        };
        match *insn {
            Insn::Label(_) => {}
            Insn::Stmt(code, k) => out.push(stmt(code, k)),
            Insn::Jump(code, k, jt, jf) => out.push(sock_filter {
                code,
                jt: short(jt)?,
                jf: short(jf)?,
                k,
            }),
            Insn::Goto(to) => {
                let k = u32::try_from(rel(to)?)
                    .map_err(|_| "seccomp program too long for a jump".to_owned())?;
                out.push(stmt(JA, k));
            }
        }
    }
    out.push(stmt(RET_K, RET_ALLOW));
    out.push(stmt(RET_K, RET_ERRNO | errno(libc::EPERM)));
    out.push(stmt(RET_K, RET_ERRNO | errno(libc::ENOSYS)));
    // `clone`: look at its flags.
    out.push(stmt(LD_W_ABS, OFF_ARG0_LO));
    out.push(sock_filter {
        code: JSET_K,
        jt: 0,
        jf: 1,
        k: CLONE_NS_FLAGS,
    });
    out.push(stmt(RET_K, RET_ERRNO | errno(libc::EPERM)));
    out.push(stmt(RET_K, RET_ALLOW));
    Ok(out)
}

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
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
                JA => pc += 1 + usize::try_from(i.k).unwrap(),
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

    /// Every number, for every size of refused list (so every shape of the search tree),
    /// with and without namespaces: the program answers what a plain lookup would.
    #[test]
    fn the_search_tree_answers_like_a_lookup_for_every_number() {
        let arch = native_arch().unwrap();
        let mut list = catalogue();
        // Not sorted by number, and one number twice.
        list.reverse();
        list.push(list[3]);
        let eperm = RET_ERRNO | 1;
        let enosys = RET_ERRNO | nr(i64::from(libc::ENOSYS));
        for k in 0..=list.len() {
            let refused = &list[..k];
            for namespaces in [false, true] {
                let prog = program(arch, refused, namespaces).unwrap();
                for n in 0..1024u32 {
                    for arg0 in [0, 0x1000_0011] {
                        let expected = if refused.iter().any(|s| nr(s.nr) == n) {
                            eperm
                        } else if !namespaces && n == nr(libc::SYS_clone3) {
                            enosys
                        } else if !namespaces && n == nr(libc::SYS_clone) && arg0 != 0 {
                            eperm
                        } else {
                            RET_ALLOW
                        };
                        assert_eq!(run(&prog, arch, n, arg0), expected, "k={k} nr={n}");
                    }
                }
                if arch == 0xC000_003E {
                    assert_eq!(run(&prog, arch, X32_SYSCALL_BIT, 0), eperm);
                }
            }
        }
    }

    /// The kernel runs the filter for each allowed number when it installs it; the tree
    /// keeps that path short (the chain it replaced took up to 55 instructions).
    #[test]
    fn an_allowed_number_takes_a_short_path() {
        let arch = native_arch().unwrap();
        let prog = program(arch, &catalogue(), false).unwrap();
        let longest = (0..1024u32).map(|n| steps(&prog, arch, n)).max().unwrap();
        assert!(longest <= 14, "longest path {longest} instructions");
    }

    fn steps(prog: &[sock_filter], arch: u32, nr: u32) -> usize {
        let mut pc = 0usize;
        let mut a = 0u32;
        let mut n = 0;
        loop {
            n += 1;
            let i = &prog[pc];
            match i.code {
                LD_W_ABS => {
                    a = if i.k == OFF_ARCH { arch } else { nr };
                    pc += 1;
                }
                RET_K => return n,
                JA => pc += 1 + usize::try_from(i.k).unwrap(),
                _ => {
                    let taken = match i.code {
                        JEQ_K => a == i.k,
                        JGE_K => a >= i.k,
                        _ => a & i.k != 0,
                    };
                    pc += 1 + usize::from(if taken { i.jt } else { i.jf });
                }
            }
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
