/**
 * A seccomp-BPF filter for the sandbox (defense in depth on top of the namespaces), assembled
 * here so no libseccomp / python3-seccomp is needed. bubblewrap loads it (`--seccomp FD`) just
 * before it starts the fork server, so it binds the server and every program.
 *
 * x86-64 only (elsewhere `seccompFilter()` returns null and the sandbox runs without it):
 *  - other architectures' and x32 system calls: EPERM;
 *  - socket(): only AF_UNIX (EAFNOSUPPORT otherwise: no IP, netlink, packet or vsock sockets);
 *  - clone() with any namespace flag, unshare, setns, clone3 (ENOSYS, so libc falls back to clone);
 *  - mount and the new mount API, pivot_root, ptrace, process_vm_readv/writev, keyctl/add_key/
 *    request_key, bpf, perf_event_open, userfaultfd, io_uring_*, kexec, module loading, reboot,
 *    swapon/off, acct, syslog, open_by_handle_at, iopl/ioperm, quotactl: EPERM.
 * Everything else is allowed.
 */

const LD_W_ABS = 0x20, JEQ_K = 0x15, JGE_K = 0x35, JSET_K = 0x45, RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number) => 0x00050000 | errno;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const EPERM = 1, ENOSYS = 38, EAFNOSUPPORT = 97;
const AF_UNIX = 1;
/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME. */
const CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080;

const NR = { socket: 41, clone: 56, clone3: 435 };
/** x86-64 syscall numbers refused with EPERM. */
const DENIED: readonly number[] = [
  272, 308, // unshare, setns
  165, 166, 155, // mount, umount2, pivot_root
  428, 429, 430, 431, 432, 442, // open_tree, move_mount, fsopen, fsconfig, fsmount, mount_setattr
  101, 310, 311, // ptrace, process_vm_readv, process_vm_writev
  248, 249, 250, // add_key, request_key, keyctl
  321, 298, 323, // bpf, perf_event_open, userfaultfd
  425, 426, 427, // io_uring_setup, io_uring_enter, io_uring_register
  246, 320, 175, 313, 176, // kexec_load, kexec_file_load, init_module, finit_module, delete_module
  169, 167, 168, 163, 103, // reboot, swapon, swapoff, acct, syslog
  304, 303, 172, 173, 179, // open_by_handle_at, name_to_handle_at, iopl, ioperm, quotactl
];

type Insn = { code: number; jt?: string | number; jf?: string | number; k: number; label?: string };

/** The filter as `struct sock_filter[]` bytes, or null when not on x86-64. */
export function seccompFilter(arch: string = process.arch): Buffer | null {
  if (arch !== "x64") return null;
  const p: Insn[] = [];
  const ld = (off: number, label?: string) => p.push({ code: LD_W_ABS, k: off, label });
  const jmp = (code: number, k: number, jt: string | number, jf: string | number) => p.push({ code, k, jt, jf });
  const ret = (k: number, label: string) => p.push({ code: RET_K, k, label });
  ld(4); // arch
  jmp(JEQ_K, AUDIT_ARCH_X86_64, 0, "deny");
  ld(0); // nr
  jmp(JGE_K, 0x40000000, "deny", 0); // x32 ABI
  jmp(JEQ_K, NR.socket, "socket", 0);
  jmp(JEQ_K, NR.clone, "clone", 0);
  jmp(JEQ_K, NR.clone3, "enosys", 0);
  for (const nr of DENIED) jmp(JEQ_K, nr, "deny", 0);
  ret(RET_ALLOW, "allow0");
  ld(16, "socket"); // args[0] low 32 bits: the address family
  jmp(JEQ_K, AF_UNIX, "allow", "eafnosupport");
  ld(16, "clone"); // args[0]: the clone flags
  jmp(JSET_K, CLONE_NS_FLAGS, "deny", "allow");
  ret(RET_ALLOW, "allow");
  ret(retErrno(EPERM), "deny");
  ret(retErrno(ENOSYS), "enosys");
  ret(retErrno(EAFNOSUPPORT), "eafnosupport");
  const at = new Map<string, number>();
  p.forEach((ins, i) => { if (ins.label) at.set(ins.label, i); });
  const rel = (i: number, t: string | number | undefined): number => {
    if (t === undefined || typeof t === "number") return t ?? 0;
    const d = at.get(t)! - (i + 1);
    if (!(d >= 0 && d <= 255)) throw new Error(`seccomp: jump to ${t} out of range`);
    return d;
  };
  const out = Buffer.alloc(p.length * 8);
  p.forEach((ins, i) => {
    out.writeUInt16LE(ins.code, i * 8);
    out.writeUInt8(rel(i, ins.jt), i * 8 + 2);
    out.writeUInt8(rel(i, ins.jf), i * 8 + 3);
    out.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return out;
}
