#!/usr/bin/env bash
# file-bench.sh: a Braid replica-3 file volume next to a GlusterFS 10 replica-3 volume, both
# through FUSE on this machine, with the same workloads, and how fast a returning brick heals.
#
#   stress-tests/file-bench.sh [--runtime SECONDS] [--only WORKLOAD[,WORKLOAD...]] [--keep]
#                              [--braid-only | --gluster-only] [--rounds N] [--no-warmup] [--root-fs]
#
# GlusterFS: a private glusterd (its own glusterd.vol, working and run directories in the temp
# directory: /var/lib/glusterd is not used), volume "gvbench", replica 3, three bricks on
# 127.0.0.2, `mount -t glusterfs`. Braid: three braidd on 127.0.0.51-53 (one brick each), file
# volume "bench", replica 3, `braid mount 127.0.0.51:/bench DIR`. GlusterFS runs its workloads
# first, then Braid, so each runs alone on the machine. Then one table: the figures and
# Braid/GlusterFS ratios, >1 always meaning Braid is better (for times and bytes the ratio is
# GlusterFS/Braid). Before its first workload each side gets the same unmeasured warm-up
# (--no-warmup skips it). A side that cannot be set up (e.g. "Braid: mount failed: ...") is
# reported and the other side still runs. Everything it starts is stopped by PID (or found by
# its command line, which names the temp directory), its mounts unmounted, and the temp directory
# removed, when it exits (also on failure or Ctrl-C).
#
# The two disk-bound workloads, seqwrite and randwrite-fsync, go by what the disk allows, and the
# disk of this kind of machine drifts by half within minutes. So when both sides run, they are
# measured after both halves, with both volumes mounted (the other one idle), in N alternating
# rounds (--rounds, default 3): each round first measures the disk's ceiling (three fresh brick
# file systems written directly, nothing in between), then runs each workload on one side and
# at once on the other, in the order GlusterFS-Braid in odd rounds and Braid-GlusterFS in even
# ones. The table gives the median of the rounds and a line per round. The heal workload, which
# restarts a server, comes after the rounds. --rounds 0, or one side alone, measures the ceiling
# before each side's half and runs every workload in it, as before. See stress-tests/README.md.
#
# Each brick (of either system) is a fresh ext4 file system of its own (4 GiB, with its journal,
# as on a storage server; GlusterFS asks for a dedicated file system per brick), on a loop device
# over a file in the temp directory. --root-fs puts the bricks in plain directories of the temp
# directory instead: then the file system under /var/tmp, and what was deleted on it in the last
# minutes, is part of every figure (ext4 without a journal skips inodes freed less than 1 to 5
# minutes ago on every create).
#
# Workloads (names for --only): smallfile tar seqwrite randwrite-fsync randread heal
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
top="$(cd "$here/.." && pwd)"

runtime=15
ramp=2
rounds=3
keep=0
warmup=1
brick_fs=1
only=""
sides=(gluster braid)
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "${1:-0}"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --runtime) runtime="${2:?--runtime needs SECONDS}"; shift 2 ;;
    --runtime=*) runtime="${1#*=}"; shift ;;
    --only) only="${2:?--only needs a workload}"; shift 2 ;;
    --only=*) only="${1#*=}"; shift ;;
    --rounds) rounds="${2:?--rounds needs N}"; shift 2 ;;
    --rounds=*) rounds="${1#*=}"; shift ;;
    --keep) keep=1; shift ;;
    --no-warmup) warmup=0; shift ;;
    --root-fs) brick_fs=0; shift ;;
    --braid-only) sides=(braid); shift ;;
    --gluster-only) sides=(gluster); shift ;;
    -h|--help) usage 0 ;;
    *) echo "file-bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$runtime" =~ ^[0-9]+$ ]] && [ "$runtime" -ge 3 ] || { echo "file-bench: --runtime must be an integer >= 3" >&2; exit 2; }
[[ "$rounds" =~ ^[0-9]+$ ]] && [ "$rounds" -le 9 ] || { echo "file-bench: --rounds must be an integer from 0 to 9" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "file-bench: run it as root (mounts, drop_caches)" >&2; exit 2; }

# ---- which workloads ----
all_workloads=(smallfile tar seqwrite randwrite-fsync randread heal)
declare -A want=()
if [ -z "$only" ]; then
  for w in "${all_workloads[@]}"; do want[$w]=1; done
else
  IFS=',' read -r -a picked <<<"$only"
  for w in "${picked[@]}"; do
    case " ${all_workloads[*]} " in
      *" $w "*) want[$w]=1 ;;
      *) echo "file-bench: unknown workload '$w' (one of: ${all_workloads[*]})" >&2; exit 2 ;;
    esac
  done
fi

# The disk-bound workloads, measured in alternating rounds once both halves are done (see the top).
alt=()
if [ "${#sides[@]}" = 2 ] && [ "$rounds" -gt 0 ]; then
  for w in seqwrite randwrite-fsync; do [ -n "${want[$w]:-}" ] && alt+=("$w"); done
fi
in_alt() { case " ${alt[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
sfx=""  # while a round runs: the suffix of its figures' keys ("@2") ...
fsfx="" # ... and of its files ("-r2")

# Sizes and bounds. Every step has a bound: a slow or stuck file system gives a partial figure or
# "timeout", never a hang.
small_files=2000
small_size=4096
phase_limit=45           # seconds per smallfile phase (create, stat, read, unlink)
tar_files=5000
tar_dirs=50
tar_limit=90             # seconds for tar -x, and again for rm -rf
seq_size=512M
seq_limit=$((4 * runtime)) # seqwrite is size-based; fio stops it after this many seconds
randwrite_size=64M
randread_size=256M
heal_small=1000
heal_big_mib=200
heal_write_limit=90
heal_limit=180           # seconds from the restart until heal info shows nothing pending

ghost=127.0.0.2
gvol=gvbench
hosts=(127.0.0.51 127.0.0.52 127.0.0.53)
bvol=bench

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "file-bench: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$(now) - $1:.3f}')"; }

# ---- dependencies and build ----
want_side() { case " ${sides[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
if want_side gluster; then
  for tool in glusterd gluster glusterfs mount.glusterfs fio; do
    command -v "$tool" >/dev/null || { "$top/scripts/install-bench-deps"; break; }
  done
fi
if want_side braid; then
  for tool in fio java mvn fusermount; do
    command -v "$tool" >/dev/null || { "$top/scripts/install-deps"; break; }
  done
fi
for tool in fio python3 tar timeout ss findmnt; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
jars=("$top/volume-manager/target/volume-manager-0.1.0-SNAPSHOT.jar" "$top/tools/target/tools-0.1.0-SNAPSHOT.jar")
if want_side braid; then
  command -v java >/dev/null || die "java is not installed"
  if [ ! -f "${jars[0]}" ] || [ ! -f "${jars[1]}" ] || [ ! -d "$top/volume-manager/target/lib" ] || [ ! -d "$top/tools/target/lib" ]; then
    log "building Braid (mvn package)"
    (cd "$top" && mvn -B -q -ntp -DskipTests package) || die "the build failed"
  fi
fi

# ---- addresses must be free: never disturb another run ----
listening="$(ss -ltnH | awk '{print $4}')"
if want_side gluster && grep -qE ':24007$' <<<"$listening"; then
  die "port 24007 is in use (a glusterd is running?): GlusterFS needs it; use --braid-only"
fi
if want_side braid; then
  for h in "${hosts[@]}"; do
    if grep -qxF "$h:24100" <<<"$listening"; then die "$h:24100 is in use (another file-bench or block-bench running?)"; fi
  done
fi

# ---- state and cleanup ----
work="$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/braid-file-bench.XXXXXX")"
gdir="$work/gluster"
bdir="$work/braid"
mkdir -p "$work/results" "$work/mnt"
declare -A braidd_pid=()
glusterd_pid=""
gluster_sockets=() # unix sockets our gluster processes were told to create under /var/run/gluster
bg_pids=()
cur_job="" # the command `bounded` is waiting for
# A pid is ours only while its command line names our temp directory (a pid of a process that
# died may have been reused by another one by now). Every process this script starts does: the
# daemons by their data directory, glusterd by its volfile, bricks and self-heal daemon by their
# pid files (run directory), FUSE clients by their mount point.
ours() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -qF "$work/"; } # gone meanwhile: not ours
our_pids() { # every live process whose command line names the temp directory
  local p
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    [ "$p" = "$$" ] && continue
    if ours "$p" && ! grep -q '^[^)]*) Z' "/proc/$p/stat" 2>/dev/null; then echo "$p"; fi
  done
}
gone() { # pid: true once the process no longer exists (or is a zombie waiting for its parent)
  [ ! -e "/proc/$1" ] || grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null
}
stop_pid() { # pid [seconds]: TERM, wait, KILL — only if it is ours
  local p="$1" n=$((${2:-10} * 10))
  ours "$p" || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 "$n"); do gone "$p" && return 0; sleep 0.1; done
  ours "$p" && kill -KILL "$p" 2>/dev/null || true
  for _ in $(seq 1 30); do gone "$p" && return 0; sleep 0.1; done
}
unmount() { # mount point
  findmnt -n -M "$1" >/dev/null 2>&1 || return 0
  timeout 30 umount "$1" 2>/dev/null && return 0
  sleep 1
  timeout 30 umount "$1" 2>/dev/null || timeout 10 umount -l "$1" 2>/dev/null || true
}

# A brick's own file system: a fresh ext4 on a loop device over DIR.img, mounted on DIR (its empty
# lost+found removed, so the brick starts empty). With --root-fs, DIR is a plain directory.
loop_devs=()
make_brick_fs() { # dir
  local dir="$1" dev
  mkdir -p "$dir"
  [ "$brick_fs" = 1 ] || return 0
  truncate -s 4G "$dir.img"
  dev="$(losetup --find --show --direct-io=on "$dir.img")" || return 1
  loop_devs+=("$dev")
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$dev" >/dev/null || return 1
  mount "$dev" "$dir" || return 1
  rmdir "$dir/lost+found"
}
drop_brick_fs() { # dir...
  local d
  for d in "$@"; do
    findmnt -n -M "$d" >/dev/null 2>&1 || continue
    timeout 30 umount "$d" 2>/dev/null || timeout 10 umount -l "$d" 2>/dev/null
  done
}

gl() { timeout 60 gluster --mode=script --glusterd-sock="$gdir/run/glusterd.socket" --log-file="$gdir/log/cli.log" "$@"; }
teardown_gluster() {
  local errexit=$-
  set +e
  unmount "$work/mnt/gluster"
  if [ -n "$glusterd_pid" ] && ours "$glusterd_pid"; then
    # remember the sockets our bricks and self-heal daemon were given, to remove any left behind
    local p a prev
    for p in $(our_pids); do
      prev=""
      for a in $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null); do
        [ "$prev" = "-S" ] && gluster_sockets+=("$a")
        prev="$a"
      done
    done
    gl volume stop "$gvol" >/dev/null 2>&1
    gl volume delete "$gvol" >/dev/null 2>&1
    stop_pid "$glusterd_pid" 10
  fi
  glusterd_pid=""
  for p in $(our_pids); do # bricks, self-heal daemon or a FUSE client that outlived volume stop
    case "$(cat "/proc/$p/comm" 2>/dev/null)" in glusterd|glusterfs|glusterfsd) stop_pid "$p" 5 ;; esac
  done
  for s in "${gluster_sockets[@]}"; do
    case "$s" in /var/run/gluster/*.socket|/run/gluster/*.socket) rm -f "$s" ;; esac
  done
  gluster_sockets=()
  drop_brick_fs "$gdir/bricks/b1" "$gdir/bricks/b2" "$gdir/bricks/b3"
  # the brick logs are named after the brick paths (ours): move them into the temp directory
  local stem
  stem="$(printf '%s' "${gdir#/}" | tr '/' '-')"
  if [ -d "$gdir/log" ]; then
    for f in /var/log/glusterfs/bricks/"$stem"-bricks-b*.log; do
      [ -e "$f" ] && mv "$f" "$gdir/log/" 2>/dev/null
    done
  fi
  [[ "$errexit" == *e* ]] && set -e
  return 0
}
teardown_braid() {
  local errexit=$-
  set +e
  unmount "$work/mnt/braid"
  local i p
  for p in $(our_pids); do # the FUSE client, if umount did not end it (its command line names the mount point)
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$work/mnt/braid" && stop_pid "$p" 10
  done
  for i in "${!braidd_pid[@]}"; do
    p="${braidd_pid[$i]}"
    ours "$p" && kill -TERM "$p"
  done
  for i in "${!braidd_pid[@]}"; do
    p="${braidd_pid[$i]}"
    for _ in $(seq 1 100); do ours "$p" || break; sleep 0.1; done
    ours "$p" && kill -KILL "$p"
    wait "$p" 2>/dev/null
  done
  braidd_pid=()
  drop_brick_fs "$bdir/bricks/b1" "$bdir/bricks/b2" "$bdir/bricks/b3"
  [[ "$errexit" == *e* ]] && set -e
  return 0
}
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  local running p
  running="$(jobs -p)" # background jobs of this shell that have not been reaped yet
  for p in "${bg_pids[@]}" $cur_job; do
    grep -qxF "$p" <<<"$running" && kill -TERM "$p" 2>/dev/null # (timeout passes it on to its command)
  done
  [ -n "$cur_job" ] && wait "$cur_job" 2>/dev/null
  teardown_gluster
  teardown_braid
  drop_brick_fs "$work/ceiling/b1" "$work/ceiling/b2" "$work/ceiling/b3" # stopped while measuring the disk
  for p in $(our_pids); do stop_pid "$p" 5; done # anything else started from the temp directory
  for p in "${loop_devs[@]}"; do losetup -d "$p" 2>/dev/null; done
  if [ "$keep" = 1 ]; then
    echo "file-bench: kept $work (results/, gluster/log/, braid/s*/log/)"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Everything must end in bounded time: a watchdog ends the run (and so runs the cleanup).
limit=$((120 + ${#sides[@]} * (900 + 6 * runtime) + rounds * (4 * runtime + 240)))
(
  trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "$limit" &
  sp=$!
  wait "$sp"
  echo "file-bench: still running after ${limit}s, giving up" >&2
  kill -TERM $$
) &
bg_pids+=($!)

pyq() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# bounded SECONDS COMMAND...: `timeout` in the background and `wait` for it, so that Ctrl-C or
# the watchdog end the run at once (bash runs a trap only after a foreground command returns, and
# timeout puts its command in a process group of its own, out of the terminal's reach).
bounded() {
  local secs="$1" rc=0; shift
  timeout "$secs" "$@" &
  cur_job=$!
  wait "$cur_job" || rc=$?
  cur_job=""
  return "$rc"
}

wait_for() { # seconds, description, command...: polls every 0.5 s; false on timeout
  local secs="$1" what="$2"; shift 2
  local deadline=$((SECONDS + secs))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "file-bench: timed out after ${secs}s waiting for $what" >&2
  return 1
}

# Results: one "key<TAB>value<TAB>note" line per figure in results/SIDE.tsv; a value "fail"
# (note: why) or ">N" (a time that hit its bound).
res() { printf '%s\t%s\t%s\n' "$2" "$3" "${4:-}" >>"$work/results/$1.tsv"; }
declare -A side_error=()

# ---- helper programs ----
cat >"$work/smallfile.py" <<'PY'
# smallfile.py DIR COUNT SIZE LIMIT: create COUNT files of SIZE bytes (one write each), sync and
# drop the caches, stat them all, read them all, unlink them all. Each phase stops after LIMIT
# seconds (the later phases then work on the files that exist). Prints "key value note" lines.
import os, sys, time
d, n, size, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
os.makedirs(d)
buf = os.urandom(size)
names = [os.path.join(d, f"f{i:05d}") for i in range(n)]
def create(p):
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        view = memoryview(buf)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
bad = 0
def read(p):
    global bad
    fd = os.open(p, os.O_RDONLY)
    got = 0
    try:
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            got += len(b)
    finally:
        os.close(fd)
    if got != size:
        bad += 1
def phase(key, fn, items):
    t0, done = time.monotonic(), []
    for p in items:
        fn(p)
        done.append(p)
        if time.monotonic() - t0 > limit:
            break
    dt = time.monotonic() - t0
    note = f"{len(done)} in {dt:.2f} s" + ("" if len(done) == len(items) else f" (stopped at the {limit:.0f} s bound)")
    print(f"{key}\t{len(done) / dt:.1f}\t{note}", flush=True)
    return done
made = phase("create_ops", create, names)
os.sync()
with open("/proc/sys/vm/drop_caches", "w") as f:
    f.write("3\n")
phase("stat_ops", os.stat, made)
phase("read_ops", read, made)
if bad:
    print(f"read_errors\t{bad}\tfiles whose size read back was not {size}", flush=True)
phase("unlink_ops", os.unlink, made)
PY

cat >"$work/ceiling.py" <<'PY'
# ceiling.py DIR1 DIR2 DIR3 SECONDS: what this machine's disk allows a replica-3 4 KiB write+fsync
# with no file system software in between: each operation writes 4 KiB at a random offset of one
# 64 MiB file in each of the three directories and fsyncs the three in parallel (one thread per
# directory), and the next starts when all three are done, as a replicated write must wait for
# its slowest copy. Prints "IOPS<TAB>mean ... ms".
import os, random, sys, threading, time
dirs, secs = sys.argv[1:4], float(sys.argv[4])
fds = []
for d in dirs:
    fd = os.open(os.path.join(d, "ceiling.dat"), os.O_RDWR | os.O_CREAT, 0o644)
    os.posix_fallocate(fd, 0, 64 << 20)
    os.fsync(fd)
    fds.append(fd)
data = os.urandom(4096)
offset = [0]
start = [threading.Semaphore(0) for _ in fds]
done = threading.Semaphore(0)
stop = [False]
def copy(i):
    while True:
        start[i].acquire()
        if stop[0]:
            return
        os.pwrite(fds[i], data, offset[0])
        os.fsync(fds[i])
        done.release()
for i in range(len(fds)):
    threading.Thread(target=copy, args=(i,), daemon=True).start()
n, total, end = 0, 0.0, time.monotonic() + secs
while time.monotonic() < end:
    offset[0] = random.randrange(16384) * 4096
    t = time.perf_counter()
    for s in start:
        s.release()
    for _ in fds:
        done.acquire()
    total += time.perf_counter() - t
    n += 1
stop[0] = True
for s in start:
    s.release()
for d in dirs:
    os.unlink(os.path.join(d, "ceiling.dat"))
print(f"{n / secs:.0f}\tmean write+fsync of three copies {total / n * 1e3:.3f} ms")
PY

cat >"$work/healwrite.py" <<'PY'
# healwrite.py DIR SMALL SIZE BIG_MIB: SMALL files of SIZE random bytes, then one file of BIG_MIB
# MiB of random data, fsync'ed.
import os, sys
d, n, size, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(d)
for i in range(n):
    with open(os.path.join(d, f"s{i:04d}"), "wb") as f:
        f.write(os.urandom(size))
with open(os.path.join(d, "big"), "wb") as f:
    for _ in range(big):
        f.write(os.urandom(1 << 20))
    f.flush()
    os.fsync(f.fileno())
PY

# The tarball, once for both: TAR_FILES files of 1-8 KiB (random sizes, random data) in TAR_DIRS
# directories.
log "work directory $work; load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
if [ "$brick_fs" = 1 ]; then
  log "bricks: each on a fresh 4 GiB ext4 of its own (loop device over a file in the work directory)"
else
  log "bricks: plain directories of the work directory ($(findmnt -n -o FSTYPE -T "$work"), --root-fs)"
fi
if [ -n "${want[tar]:-}" ]; then
  python3 - "$work/small.tar" "$tar_files" "$tar_dirs" <<'PY'
import io, os, random, sys, tarfile, time
out, n, ndirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
now = int(time.time())
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
    for d in range(ndirs):
        ti = tarfile.TarInfo(f"tree/d{d:02d}")
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, now
        t.addfile(ti)
        for i in range(n // ndirs):
            size = rnd.randint(1024, 8192)
            ti = tarfile.TarInfo(f"tree/d{d:02d}/f{i:03d}")
            ti.size, ti.mode, ti.mtime = size, 0o644, now
            t.addfile(ti, io.BytesIO(os.urandom(size)))
PY
  log "tarball: $tar_files files of 1-8 KiB in $tar_dirs directories, $(du -h "$work/small.tar" | cut -f1)"
fi

# fio against a mount: side, name, mount, extra args...; JSON in results/SIDE-NAME.json
run_fio() {
  local side="$1" name="$2" mnt="$3"; shift 3
  local out="$work/results/$side-$name" rc=0
  mkdir -p "$mnt/fio"
  bounded $((seq_limit + runtime + ramp + 180)) fio --name="$name" --directory="$mnt/fio" --filename="$name.dat" \
    --ioengine=psync --fallocate=none --output-format=json --output="$out.json" "$@" >"$out.log" 2>&1 || rc=$?
  rm -f "$mnt/fio/$name.dat"
  if [ "$rc" -ne 0 ]; then
    echo "file-bench: fio $name on $side failed (exit $rc):" >&2
    tail -n 5 "$out.log" >&2
    return 1
  fi
}
fio_error() { # side, name: fio's error code in its JSON, or the exit message
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['jobs'][0]['error'])" "$work/results/$1-$2.json" 2>/dev/null || echo "?"
}

# ---- the workloads: side, mount point ----

# The disk's ceiling: three fresh brick file systems like the bricks', written directly, with no
# file system software in between. For randwrite-fsync: 4 KiB written and fsynced on all three at
# once, the next once all three are done (ceiling.py). For seqwrite: the same fio sequential write
# as the workload's, on all three at once; the slowest copy gives the rate. A replica-3 volume
# cannot beat either. Measured right before each side's half, or at the start of each
# alternating round (the disk of this kind of machine drifts a lot within minutes).
ceiling_make() {
  local b ok=0
  for b in 1 2 3; do make_brick_fs "$work/ceiling/b$b" || ok=1; done
  [ "$ok" = 0 ] || log "  no file systems for the disk's ceiling"
  return "$ok"
}
ceiling_measure() { # side...: the figures go to each side's results
  local d="$work/ceiling" v side
  if [ -n "${want[randwrite-fsync]:-}" ] \
      && v="$(bounded $((runtime + 60)) python3 "$work/ceiling.py" "$d/b1" "$d/b2" "$d/b3" "$runtime")"; then
    for side in "$@"; do res "$side" "ceil_randwrite_iops$sfx" "${v%%$'\t'*}" "${v#*$'\t'}"; done
  fi
  if [ -n "${want[seqwrite]:-}" ] && bounded $((seq_limit + 120)) fio --rw=write --bs=1M --size="$seq_size" --end_fsync=1 \
      --ioengine=psync --output-format=json --output="$work/results/$1-ceiling-seq$fsfx.json" \
      --name=c1 --directory="$d/b1" --name=c2 --directory="$d/b2" --name=c3 --directory="$d/b3" >/dev/null 2>&1; then
    v="$(pyq "'%.1f\tslowest of three copies: %d MiB in %.2f s' % ((lambda j: (j['write']['io_bytes'] / j['job_runtime'] * 1000 / 1e6, j['write']['io_bytes'] >> 20, j['job_runtime'] / 1000))(max(d['jobs'], key=lambda j: j['job_runtime'])))" \
      <"$work/results/$1-ceiling-seq$fsfx.json")"
    for side in "$@"; do res "$side" "ceil_seq_mbs$sfx" "${v%%$'\t'*}" "${v#*$'\t'}"; done
  fi
  rm -f "$d"/b*/c*.0.0 "$d"/b*/ceiling.dat 2>/dev/null
  log "  disk ceiling: $(grep -E "^ceil_[a-z_]*${sfx}"$'\t' "$work/results/$1.tsv" | cut -f1,2 | tr '\t\n' '= ' || true)"
}
ceiling_drop() {
  local d="$work/ceiling" b v
  drop_brick_fs "$d/b1" "$d/b2" "$d/b3"
  for b in 1 2 3; do
    [ -f "$d/b$b.img" ] && losetup -j "$d/b$b.img" | cut -d: -f1 | while read -r v; do losetup -d "$v" 2>/dev/null; done
  done
  rm -f "$d"/b*.img
}
wl_ceiling() { # side: before its half
  [ -n "${want[randwrite-fsync]:-}${want[seqwrite]:-}" ] || return 0
  ceiling_make && ceiling_measure "$1"
  ceiling_drop
}

# The same unmeasured warm-up on both sides before the first workload: servers are long-running
# daemons, and Braid's are JVMs whose JIT compiles the hot paths only after some thousands of
# operations (a cold JVM ran the small-file phases at a quarter to half their warm speed, and
# its first 512 MiB sequential write at half the speed of the next: 1 GiB warms that path).
# Braid's creates kept getting faster over the first 10,000 files (265/s after 4,000, 450/s
# after 10,000, 650-700/s after 20,000): hence 5 rounds. Its write+fsync path went from 111 to
# about 400-550 IOPS over its first 80 s (10 s windows from a fresh start: 111, 197, 304, 402,
# 382, 392, 422, 548), so the warm-up starts with 30 s of 4k random I/O with an fsync after every
# write, which the measured run (15 s) alone would spend mostly compiling. The I/O paths are warmed first and
# the small files last, with one tar extract when that workload runs: a first 1 GiB write right
# before the small files left the JIT busy recompiling, and the measured creates then ran at
# 400/s instead of 540/s (the last warm-up round's).
warmup_rounds=5
# GlusterFS gets exactly the same steps. --no-warmup skips it.
wl_warmup() {
  local side="$1" mnt="$2" i
  mkdir -p "$mnt/fio"
  bounded 90 fio --name=warm --directory="$mnt/fio" --filename=warm.dat --ioengine=psync --fallocate=none \
    --rw=randrw --bs=4k --size=16M --fsync=1 --time_based --runtime=30 >/dev/null 2>&1 || true
  bounded 60 fio --name=warm --directory="$mnt/fio" --filename=warm.dat --ioengine=psync --fallocate=none \
    --rw=write --bs=1M --size=1G --end_fsync=1 >/dev/null 2>&1 || true
  rm -f "$mnt/fio/warm.dat"
  for i in $(seq 1 "$warmup_rounds"); do
    bounded $((4 * phase_limit + 120)) python3 "$work/smallfile.py" "$mnt/warmup" "$small_files" "$small_size" "$phase_limit" \
      >"$work/results/$side-warmup.out" 2>&1 || true
    bounded 120 rm -rf "$mnt/warmup" || true
  done
  if [ -f "$work/small.tar" ]; then
    mkdir -p "$mnt/warmup"
    bounded "$tar_limit" tar -xf "$work/small.tar" -C "$mnt/warmup" >/dev/null 2>&1 || true
    bounded 120 rm -rf "$mnt/warmup" || true
  fi
  log "  warm-up done (30 s of 4k random I/O with fsync, 1 GiB sequential, $warmup_rounds x $small_files small files$([ -f "$work/small.tar" ] && echo ", one tar extract"); not measured)"
}
wl_smallfile() {
  local side="$1" mnt="$2" rc=0
  bounded $((4 * phase_limit + 120)) python3 "$work/smallfile.py" "$mnt/smallfile" "$small_files" "$small_size" "$phase_limit" \
    >"$work/results/$side-smallfile.out" 2>"$work/results/$side-smallfile.err" || rc=$?
  cat "$work/results/$side-smallfile.out" >>"$work/results/$side.tsv"
  awk -F'\t' '{printf "  %-11s %10s/s  (%s)\n", $1, $2, $3}' "$work/results/$side-smallfile.out"
  bounded 120 rm -rf "$mnt/smallfile" || true
  if [ "$rc" -ne 0 ]; then
    res "$side" create_ops fail "$(tail -n 1 "$work/results/$side-smallfile.err")"
    return 1
  fi
}

wl_tar() {
  local side="$1" mnt="$2" rc=0 t0 dt n
  mkdir -p "$mnt/tar"
  t0=$(now)
  bounded "$tar_limit" tar -xf "$work/small.tar" -C "$mnt/tar" 2>"$work/results/$side-tar.err" || rc=$?
  dt=$(elapsed "$t0")
  if [ "$rc" = 124 ]; then
    res "$side" tar_x_s ">$tar_limit" "stopped at the bound"
  elif [ "$rc" -ne 0 ]; then
    res "$side" tar_x_s fail "tar exit $rc: $(tail -n 1 "$work/results/$side-tar.err")"
  else
    n="$(timeout 60 find "$mnt/tar" -type f | wc -l)" || n="?"
    res "$side" tar_x_s "$dt" "$n files extracted"
  fi
  log "  tar -x: ${dt} s (exit $rc)"
  rc=0
  t0=$(now)
  bounded "$tar_limit" rm -rf "$mnt/tar" 2>"$work/results/$side-rm.err" || rc=$?
  dt=$(elapsed "$t0")
  if [ "$rc" = 124 ]; then
    res "$side" tar_rm_s ">$tar_limit" "stopped at the bound"
  elif [ "$rc" -ne 0 ]; then
    res "$side" tar_rm_s fail "rm exit $rc: $(tail -n 1 "$work/results/$side-rm.err")"
  else
    res "$side" tar_rm_s "$dt"
  fi
  log "  rm -rf: ${dt} s (exit $rc)"
}

wl_seqwrite() {
  local side="$1" mnt="$2" t0 dt v
  t0=$(now)
  if ! run_fio "$side" "seqwrite$fsfx" "$mnt" --rw=write --bs=1M --size="$seq_size" --end_fsync=1 --runtime="$seq_limit"; then
    res "$side" "seq_mbs$sfx" fail "fio error $(fio_error "$side" "seqwrite$fsfx")"
    return 1
  fi
  dt=$(elapsed "$t0")
  # bytes written / the job's run time (fio counts the final fsync in it)
  v="$(pyq "'%.1f\t%d MiB in %.2f s' % (d['jobs'][0]['write']['io_bytes'] / d['jobs'][0]['job_runtime'] * 1000 / 1e6, d['jobs'][0]['write']['io_bytes'] >> 20, d['jobs'][0]['job_runtime'] / 1000)" \
    <"$work/results/$side-seqwrite$fsfx.json")"
  printf 'seq_mbs%s\t%s (fio ran %s s in all)\n' "$sfx" "$v" "$dt" >>"$work/results/$side.tsv"
  log "  ${v%%$'\t'*} MB/s (${v#*$'\t'})"
}

wl_randwrite-fsync() {
  local side="$1" mnt="$2" v
  if ! run_fio "$side" "randwrite-fsync$fsfx" "$mnt" --rw=randwrite --bs=4k --size="$randwrite_size" --fsync=1 --overwrite=1 \
      --time_based --runtime="$runtime" --ramp_time="$ramp"; then
    res "$side" "randwrite_iops$sfx" fail "fio error $(fio_error "$side" "randwrite-fsync$fsfx")"
    return 1
  fi
  v="$(pyq "'%.0f\tmean write+fsync %.3f ms' % (d['jobs'][0]['write']['iops'], (d['jobs'][0]['write']['lat_ns']['mean'] + d['jobs'][0]['sync']['lat_ns']['mean']) / 1e6)" \
    <"$work/results/$side-randwrite-fsync$fsfx.json")"
  res "$side" "randwrite_iops$sfx" "${v%%$'\t'*}" "${v#*$'\t'}"
  log "  ${v%%$'\t'*} IOPS (${v#*$'\t'})"
}

wl_randread() {
  local side="$1" mnt="$2" v
  if ! run_fio "$side" randread "$mnt" --rw=randread --bs=4k --size="$randread_size" --direct=1 --iodepth=1 \
      --time_based --runtime="$runtime" --ramp_time="$ramp"; then
    res "$side" randread_iops fail "fio error $(fio_error "$side" randread)"
    return 1
  fi
  v="$(pyq "'%.0f\tmean %.3f ms' % (d['jobs'][0]['read']['iops'], d['jobs'][0]['read']['lat_ns']['mean'] / 1e6)" \
    <"$work/results/$side-randread.json")"
  res "$side" randread_iops "${v%%$'\t'*}" "${v#*$'\t'}"
  log "  ${v%%$'\t'*} IOPS (${v#*$'\t'})"
}

heal_writes() { # side, mount: the writes made while a brick is down
  local side="$1" mnt="$2" t0 dt rc=0
  t0=$(now)
  bounded "$heal_write_limit" python3 "$work/healwrite.py" "$mnt/heal" "$heal_small" "$small_size" "$heal_big_mib" \
    2>"$work/results/$side-healwrite.err" || rc=$?
  dt=$(elapsed "$t0")
  if [ "$rc" -ne 0 ]; then
    res "$side" heal_s fail "writes with a brick down failed (exit $rc): $(tail -n 1 "$work/results/$side-healwrite.err")"
    return 1
  fi
  res "$side" heal_write_s "$dt" "$heal_small x 4 KiB + $heal_big_mib MiB with one brick down"
  log "  written in $dt s"
}

# ---------------------------------------------------------------- GlusterFS
gheal() { # heal info as XML (what `gluster volume heal VOL info --xml` runs, pointed at our glusterd)
  timeout 60 "$glfsheal" "$gvol" --xml glusterd-sock "$gdir/run/glusterd.socket" 2>/dev/null
}
gheal_state() { # prints "CONNECTED_BRICKS TOTAL_ENTRIES" ("-" entries of a brick that is not connected count as 1)
  gheal | python3 -c '
import sys, xml.etree.ElementTree as ET
try:
    root = ET.fromstring(sys.stdin.read())
except ET.ParseError:
    print("0 -1"); sys.exit()
conn, total = 0, 0
for b in root.iter("brick"):
    st = (b.findtext("status") or "").strip()
    n = (b.findtext("numberOfEntries") or "").strip()
    conn += st == "Connected"
    total += int(n) if n.isdigit() else 1
print(conn, total)'
}
gheal_done() { [ "$(gheal_state)" = "3 0" ]; }
gindex_pending() { # entries in the bricks' heal indices (what heal info lists), read from the brick directories
  local b n=0
  for b in 1 2 3; do
    n=$((n + $(find "$gdir/bricks/b$b/.glusterfs/indices/xattrop" "$gdir/bricks/b$b/.glusterfs/indices/dirty" \
      "$gdir/bricks/b$b/.glusterfs/indices/entry-changes" -mindepth 1 \
      ! -name 'xattrop-*' ! -name 'dirty-*' ! -name 'entry-changes-*' 2>/dev/null | wc -l)))
  done
  echo "$n"
}
gheal_wait() { # seconds: until heal info shows 0 entries on three connected bricks. Polls the index
  # directories every 0.25 s (cheap) and runs heal info (a whole client graph: costly, and it
  # would compete with the self-heal daemon if run in a loop) only when they are empty.
  local deadline=$((SECONDS + $1))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ "$(gindex_pending)" = 0 ] && gheal_done; then return 0; fi
    sleep 0.25
  done
  return 1
}
gtcp_received() { # port: TCP payload bytes received so far on the connections to that local port
  ss -tinH state established "( sport = :$1 )" 2>/dev/null \
    | grep -oE 'bytes_received:[0-9]+' | awk -F: '{s += $2} END {print s + 0}'
}
gbrick_field() { # brick path, field (pid, port): from volume status --xml, for an online brick
  gl volume status "$gvol" --xml | python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
for n in root.iter("node"):
    if n.findtext("path") == sys.argv[1] and n.findtext("status") == "1":
        print(n.findtext(sys.argv[2])); break' "$1" "$2"
}
gbrick_pid() { gbrick_field "$1" pid; }

setup_gluster() {
  local mnt="$work/mnt/gluster" b
  glfsheal="$(glusterfs --print-libexecdir)/glfsheal"
  mkdir -p "$gdir/wd" "$gdir/run" "$gdir/log" "$gdir/bricks" "$mnt"
  for b in 1 2 3; do
    make_brick_fs "$gdir/bricks/b$b" || { side_error[gluster]="no file system for brick b$b"; return 1; }
  done
  cat >"$gdir/glusterd.vol" <<EOF
volume management
    type mgmt/glusterd
    option working-directory $gdir/wd
    option run-directory $gdir/run
    option glusterd-sockfile $gdir/run/glusterd.socket
    option transport-type socket
    option transport.socket.keepalive-time 10
    option transport.socket.keepalive-interval 2
    option transport.socket.read-fail-log off
    option transport.socket.listen-port 24007
    option ping-timeout 0
    option event-threads 1
    option max-port  60999
end-volume
EOF
  glusterd -f "$gdir/glusterd.vol" -p "$gdir/glusterd.pid" -l "$gdir/log/glusterd.log" \
    || { side_error[gluster]="glusterd did not start (see $gdir/log/glusterd.log)"; return 1; }
  for _ in $(seq 1 50); do [ -s "$gdir/glusterd.pid" ] && break; sleep 0.1; done
  glusterd_pid="$(cat "$gdir/glusterd.pid" 2>/dev/null)"
  [ -n "$glusterd_pid" ] || { side_error[gluster]="glusterd wrote no pid file"; return 1; }
  wait_for 30 "glusterd" gl volume list || { side_error[gluster]="glusterd does not answer"; return 1; }
  gl volume create "$gvol" replica 3 "$ghost:$gdir/bricks/b1" "$ghost:$gdir/bricks/b2" "$ghost:$gdir/bricks/b3" force \
    >"$gdir/create.out" 2>&1 || { side_error[gluster]="volume create failed: $(tail -n 1 "$gdir/create.out")"; return 1; }
  gl volume start "$gvol" >"$gdir/start.out" 2>&1 \
    || { side_error[gluster]="volume start failed: $(tail -n 1 "$gdir/start.out")"; return 1; }
  for b in 1 2 3; do
    wait_for 30 "brick b$b online" gbrick_pid "$gdir/bricks/b$b" || { side_error[gluster]="brick b$b not online"; return 1; }
  done
  timeout 60 mount -t glusterfs -o "log-file=$gdir/log/mount.log" "$ghost:/$gvol" "$mnt" >"$gdir/mount.out" 2>&1 \
    || { side_error[gluster]="mount failed: $(tail -n 1 "$gdir/mount.out")"; return 1; }
  findmnt -n -M "$mnt" >/dev/null || { side_error[gluster]="mount failed: $mnt is not a mount point"; return 1; }
  wait_for 30 "heal info: three bricks connected" gheal_done || { side_error[gluster]="bricks not connected"; return 1; }
  log "GlusterFS $(glusterfs --version | head -1 | awk '{print $2}'): volume $gvol (replica 3, bricks on $ghost, glusterd pid $glusterd_pid) mounted on $mnt"
}

wl_heal_gluster() {
  local mnt="$work/mnt/gluster" victim="$gdir/bricks/b3" bpid pending tr dt st du0 du1 port tcp
  bpid="$(gbrick_pid "$victim")"
  [ -n "$bpid" ] && ours "$bpid" || { res gluster heal_s fail "no pid for brick $victim"; return 1; }
  du0="$(du -sb "$victim" | cut -f1)"
  log "  kill -9 of brick $ghost:$victim (glusterfsd pid $bpid)"
  kill -KILL "$bpid"
  for _ in $(seq 1 50); do gone "$bpid" && break; sleep 0.1; done
  heal_writes gluster "$mnt" || return 1
  st="$(gheal_state)"
  pending="${st#* }"
  log "  heal info before the restart: $pending entries pending"
  tr=$(now)
  gl volume start "$gvol" force >"$gdir/start-force.out" 2>&1 \
    || { res gluster heal_s fail "volume start force failed: $(tail -n 1 "$gdir/start-force.out")"; return 1; }
  if ! gheal_wait "$heal_limit"; then
    res gluster heal_s ">$heal_limit" "heal info still shows $(gheal_state | cut -d' ' -f2) entries"
    return 1
  fi
  dt=$(elapsed "$tr")
  port="$(gbrick_field "$victim" port)"
  tcp="$(gtcp_received "$port")"
  du1="$(du -sb "$victim" | cut -f1)"
  res gluster heal_pending "$pending" "heal info entries before the restart (all bricks)"
  res gluster heal_s "$dt" "volume start force -> heal info 0 entries on every brick"
  res gluster heal_bytes "$tcp" "TCP payload received by the restarted brick (ss bytes_received, port $port)"
  res gluster heal_du "$((du1 - du0))" "growth of the healed brick (du -sb)"
  log "  healed in $dt s; the restarted brick received $tcp bytes over TCP; it grew by $((du1 - du0)) bytes"
  bounded 120 rm -rf "$mnt/heal" || true
}

# ---------------------------------------------------------------- Braid
braid() { timeout 60 "$dist/bin/braid" --remote-host "${hosts[0]}" --mode=script "$@"; }
braid_json() { timeout 60 "$dist/bin/braid" --remote-host "${hosts[0]}" --mode=script --json "$@"; }

start_braidd() { # index (0-based), log suffix; false if it does not become ready
  local i="$1" out="$bdir/s$1.$2.out"
  "$dist/bin/braidd" --address "${hosts[$i]}" --data-dir "$bdir/s$i" >"$out" 2>&1 </dev/null &
  braidd_pid[$i]=$!
  for _ in $(seq 1 300); do
    grep -q "braidd ready" "$out" 2>/dev/null && return 0
    kill -0 "${braidd_pid[$i]}" 2>/dev/null || { tail -n 5 "$out" >&2; echo "file-bench: braidd ${hosts[$i]} exited during start" >&2; return 1; }
    sleep 0.2
  done
  echo "file-bench: braidd ${hosts[$i]} not ready after 60 s (see $out)" >&2
  return 1
}
all_connected() {
  braid_json pool list | pyq "'ok' if len(d['peers'])==3 and all(p['connected'] for p in d['peers']) else ''" | grep -q ok
}
all_online() {
  braid_json volume status "$bvol" | pyq "'ok' if len(d['volumes'][0]['bricks'])==3 and all(b['online'] for b in d['volumes'][0]['bricks']) else ''" | grep -q ok
}
bheal_done() { # every brick connected, no entries and nothing out of sync
  braid_json volume heal "$bvol" info | pyq "'ok' if len(d['bricks'])==3 and all(b['connected'] and b['entries']==0 and b['outOfSyncBytes']==0 for b in d['bricks']) else ''" | grep -q ok
}
last_resync() { # brick name: its lastResync as JSON (null before any)
  braid_json volume status "$bvol" detail | pyq "json.dumps([b for b in d['volumes'][0]['bricks'] if b['name']=='$1'][0].get('lastResync'))"
}

# a private copy of the launchers and jars, so that a concurrent rebuild cannot pull the classes
# from under running daemons (bin/braidd finds its jars relative to itself)
copy_dist() {
  dist="$bdir/dist"
  local attempt before newest
  fingerprint() {
    find "$top/bin/braidd" "$top/bin/braid" "$top/volume-manager/target/lib" "$top/tools/target/lib" "${jars[@]}" \
      -type f -printf '%p %s %T@\n' | sort | md5sum
  }
  for attempt in 1 2 3 4 5 6; do
    before="$(fingerprint)"
    rm -rf "$dist"
    mkdir -p "$dist/bin" "$dist/volume-manager/target" "$dist/tools/target"
    cp "$top/bin/braidd" "$top/bin/braid" "$dist/bin/"
    cp -r "${jars[0]}" "$top/volume-manager/target/lib" "$dist/volume-manager/target/"
    cp -r "${jars[1]}" "$top/tools/target/lib" "$dist/tools/target/"
    newest="$(find "$top/volume-manager/target/lib" "$top/tools/target/lib" "${jars[@]}" -type f -printf '%T@\n' | sort -n | tail -1)"
    if [ "$before" = "$(fingerprint)" ] && [ "$(date +%s)" -gt "$(( ${newest%.*} + 3 ))" ]; then return 0; fi
    log "the jars are being rebuilt; copying again in 5 s (attempt $attempt)"
    sleep 5
  done
  return 1
}

setup_braid() {
  local mnt="$work/mnt/braid" i
  mkdir -p "$bdir" "$mnt"
  for i in 1 2 3; do
    make_brick_fs "$bdir/bricks/b$i" || { side_error[braid]="no file system for brick b$i"; return 1; }
  done
  copy_dist || { side_error[braid]="the jars kept changing (a build is running in $top)"; return 1; }
  log "starting braidd on ${hosts[*]}"
  for i in 0 1 2; do
    mkdir -p "$bdir/s$i"
    start_braidd "$i" start || { side_error[braid]="braidd ${hosts[$i]} did not start"; return 1; }
  done
  for i in 1 2; do
    timeout 60 "$dist/bin/braid" --remote-host "${hosts[0]}" --mode=script peer probe "${hosts[$i]}" >/dev/null \
      || { side_error[braid]="peer probe ${hosts[$i]} failed"; return 1; }
  done
  wait_for 60 "three connected pool members" all_connected || { side_error[braid]="pool not connected"; return 1; }
  braid volume create "$bvol" replica 3 "${hosts[0]}:$bdir/bricks/b1" "${hosts[1]}:$bdir/bricks/b2" "${hosts[2]}:$bdir/bricks/b3" \
    >"$bdir/create.out" 2>&1 || { side_error[braid]="volume create failed: $(tail -n 1 "$bdir/create.out")"; return 1; }
  braid volume start "$bvol" >"$bdir/start.out" 2>&1 \
    || { side_error[braid]="volume start failed: $(tail -n 1 "$bdir/start.out")"; return 1; }
  wait_for 60 "three bricks online" all_online || { side_error[braid]="bricks not online"; return 1; }
  # `braid mount` backgrounds itself once mounted; umount ends it
  if ! timeout 60 "$dist/bin/braid" mount "${hosts[0]}:/$bvol" "$mnt" >"$bdir/mount.out" 2>&1; then
    side_error[braid]="mount failed: $(grep -v '^\s*$' "$bdir/mount.out" | tail -n 1)"
    return 1
  fi
  if ! wait_for 30 "the Braid mount" findmnt -n -M "$mnt"; then
    side_error[braid]="mount failed: $mnt is not a mount point 30 s after 'braid mount' returned"
    return 1
  fi
  log "Braid: volume $bvol (replica 3, one brick on each of ${hosts[*]}) mounted on $mnt"
}

wl_heal_braid() {
  # the victim: .53, or .52 if .53 holds the primary brick (.51 serves the mount and the CLI)
  local mnt="$work/mnt/braid" v=2 victim primary before pending tr dt after
  primary="$(braid_json volume status "$bvol" | pyq "([b['hostname'] for b in d['volumes'][0]['bricks'] if b['role']=='primary'] + [''])[0]")" \
    || { res braid heal_s fail "volume status failed"; return 1; }
  [ "$primary" = "${hosts[2]}" ] && v=1
  victim="${hosts[$v]}:$bdir/bricks/b$((v + 1))"
  before="$(last_resync "$victim")" || { res braid heal_s fail "volume status detail failed"; return 1; }
  log "  kill -9 of braidd ${hosts[$v]} (pid ${braidd_pid[$v]}; primary brick on ${primary:-?})"
  ours "${braidd_pid[$v]}" || { res braid heal_s fail "braidd ${hosts[$v]} is no longer running"; return 1; }
  kill -KILL "${braidd_pid[$v]}"
  wait "${braidd_pid[$v]}" 2>/dev/null || true
  unset "braidd_pid[$v]"
  heal_writes braid "$mnt" || return 1
  pending="$(braid_json volume heal "$bvol" info | pyq "'%d entries, %d bytes out of sync' % (sum(b['entries'] for b in d['bricks']), sum(b['outOfSyncBytes'] for b in d['bricks']))")" \
    || pending="heal info failed"
  log "  heal info before the restart: $pending"
  tr=$(now)
  start_braidd "$v" restart || { res braid heal_s fail "braidd ${hosts[$v]} did not restart"; return 1; }
  healed() { bheal_done && after="$(last_resync "$victim")" && [ "$after" != "$before" ] && [ "$after" != null ]; }
  if ! wait_for "$heal_limit" "heal info: nothing pending on any brick" healed; then
    res braid heal_s ">$heal_limit" "heal info still shows entries"
    return 1
  fi
  dt=$(elapsed "$tr")
  after="$(last_resync "$victim")"
  res braid heal_pending "${pending%% *}" "$pending"
  res braid heal_s "$dt" "braidd restart (JVM start) -> heal info 0 entries, 0 bytes on every brick"
  res braid heal_bytes "$(pyq "d['bytes']" <<<"$after")" "lastResync.bytes of the healed brick (bytes sent)"
  res braid heal_resync_s "$(pyq "d['seconds']" <<<"$after")" "lastResync.seconds ($(pyq "d['kind']" <<<"$after"))"
  log "  healed in $dt s after the restart; lastResync $after"
  bounded 120 rm -rf "$mnt/heal" || true
}

# ---------------------------------------------------------------- the runs
clk_tck="$(getconf CLK_TCK)"
machine_busy_ticks() { # all CPUs' non-idle ticks since boot (user nice system irq softirq steal)
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat
}
our_ticks() { # "PID PPID TICKS" per line, for what this run started: its live daemons and FUSE
  # clients, and this shell with its waited-for children (fio, python, tar, the CLIs...), all with
  # their children
  local p f
  for p in $(our_pids) $$; do
    f="$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null)" || continue
    [ -n "$f" ] && echo "$p $(awk '{print $2, $12 + $13 + $14 + $15}' <<<"$f")"
  done
}
ticks_between() { # two our_ticks snapshots: the ticks spent in between. A process started
  # meanwhile counts in full; one killed meanwhile (a heal's victim) drops out, and if it was this
  # shell's child, its ticks from before the first snapshot come off again, as waiting for it
  # added its whole lifetime to this shell's children's ticks.
  python3 -c '
import sys
shell = sys.argv[3]
a = {p: (pp, int(t)) for p, pp, t in (l.split() for l in sys.argv[1].splitlines() if l.strip())}
b = {p: (pp, int(t)) for p, pp, t in (l.split() for l in sys.argv[2].splitlines() if l.strip())}
n = sum(t - a.get(p, (0, 0))[1] for p, (_, t) in b.items())
n -= sum(t for p, (pp, t) in a.items() if p not in b and pp == shell)
print(n)' "$1" "$2" "$$"
}

measure() { # side workload: runs it, with the CPU the machine and this run used meanwhile
  local side="$1" w="$2" label m0 o0 c0 m1 o1
  label=$([ "$side" = braid ] && echo Braid || echo GlusterFS)
  log "$label: $w${sfx:+ (round ${sfx#@})}"
  m0="$(machine_busy_ticks)"; o0="$(our_ticks)"; c0=$(now)
  if [ "$w" = heal ]; then
    "wl_heal_$side" || log "  $label heal failed (see above)"
  else
    "wl_$w" "$side" "$work/mnt/$side" || log "  $label $w failed (see above)"
  fi
  m1="$(machine_busy_ticks)"; o1="$(our_ticks)"
  # whole machine and ours, as fractions of one core, over the workload's wall time
  python3 -c "t = $(now) - $c0; print(($m1 - $m0) / $clk_tck / t, $(ticks_between "$o0" "$o1") / $clk_tck / t, t)" \
    >"$work/results/$side-$w$fsfx.cpu"
}

declare -A up=() spent=() # sides set up and mounted; seconds each side's steps took
start_side() { # side: (the disk's ceiling,) setup and warm-up; false if it could not be set up
  local side="$1" label t0=$SECONDS rc=0
  label=$([ "$side" = braid ] && echo Braid || echo GlusterFS)
  : >"$work/results/$side.tsv"
  if [ "${#alt[@]}" = 0 ]; then
    log "$label: the disk's ceiling"
    wl_ceiling "$side"
  fi
  if "setup_$side"; then
    up[$side]=1
    if [ "$warmup" = 1 ]; then
      log "$label: warm-up"
      wl_warmup "$side" "$work/mnt/$side"
    fi
  else
    echo "$label: ${side_error[$side]:-setup failed}" >&2
    rc=1
  fi
  spent[$side]=$(( ${spent[$side]:-0} + SECONDS - t0 ))
  return "$rc"
}
run_side() { # side workload...: those of them that were asked for
  local side="$1" w t0=$SECONDS; shift
  for w in "$@"; do
    [ -n "${want[$w]:-}" ] && measure "$side" "$w"
  done
  spent[$side]=$(( ${spent[$side]:-0} + SECONDS - t0 ))
}
stop_side() { # side
  local t0=$SECONDS
  log "$([ "$1" = braid ] && echo Braid || echo GlusterFS): done; tearing down"
  "teardown_$1"
  unset "up[$1]"
  spent[$1]=$(( ${spent[$1]:-0} + SECONDS - t0 ))
  echo "${spent[$1]}" >"$work/results/$1.seconds"
}

# The alternating rounds of the disk-bound workloads (see the top), then each round's figures
# summed up: the median of the rounds under the plain key, and the CPU over all of them.
alternate() {
  local r w side order ok=0 t0=$SECONDS
  ceiling_make || ok=1
  for r in $(seq 1 "$rounds"); do
    sfx="@$r"; fsfx="-r$r"
    log "round $r of $rounds: the disk's ceiling"
    [ "$ok" = 0 ] && ceiling_measure "${!up[@]}"
    if [ $((r % 2)) = 1 ]; then order=(gluster braid); else order=(braid gluster); fi
    for w in "${alt[@]}"; do
      for side in "${order[@]}"; do
        [ -n "${up[$side]:-}" ] && measure "$side" "$w"
      done
    done
  done
  sfx=""; fsfx=""
  ceiling_drop
  for side in gluster braid; do
    [ -f "$work/results/$side.tsv" ] || continue
    python3 - "$work/results" "$side" "${alt[@]}" <<'PY'
import glob, os, statistics, sys
res, side, alt = sys.argv[1], sys.argv[2], sys.argv[3:]
tsv = os.path.join(res, side + ".tsv")
rounds = {}
for line in open(tsv):
    parts = line.rstrip("\n").split("\t")
    if "@" in parts[0]:
        key, r = parts[0].split("@")
        rounds.setdefault(key, []).append((int(r), parts[1], parts[2] if len(parts) > 2 else ""))
with open(tsv, "a") as out:
    for key, vals in rounds.items():
        nums = []
        for _, v, _ in vals:
            try:
                nums.append(float(v))
            except ValueError:
                pass
        listed = ", ".join(v for _, v, _ in sorted(vals))
        if nums:
            m = statistics.median(nums)
            out.write(f"{key}\t{m:.1f}\tmedian of {len(nums)} alternating rounds: {listed}\n")
        else:
            out.write(f"{key}\tfail\t{vals[0][2]}\n")
for w in alt:
    machine = ours = total = 0.0
    for p in glob.glob(os.path.join(res, f"{side}-{w}-r*.cpu")):
        m, o, t = (float(x) for x in open(p).read().split())
        machine, ours, total = machine + m * t, ours + o * t, total + t
    if total:
        open(os.path.join(res, f"{side}-{w}.cpu"), "w").write(f"{machine / total} {ours / total} {total}\n")
PY
  done
  for side in "${!up[@]}"; do spent[$side]=$(( ${spent[$side]:-0} + (SECONDS - t0) / 2 )); done
}

if [ "${#alt[@]}" = 0 ]; then
  for side in "${sides[@]}"; do
    start_side "$side" || continue
    run_side "$side" "${all_workloads[@]}"
    stop_side "$side"
  done
else
  for side in "${sides[@]}"; do
    start_side "$side" && run_side "$side" smallfile tar randread
  done
  [ "${#up[@]}" -gt 0 ] && alternate
  for side in "${sides[@]}"; do
    [ -n "${up[$side]:-}" ] || continue
    run_side "$side" heal
    stop_side "$side"
  done
fi

# ---------------------------------------------------------------- the table
echo
errs=()
for side in "${sides[@]}"; do
  [ -n "${side_error[$side]:-}" ] && errs+=("$([ "$side" = braid ] && echo Braid || echo GlusterFS): ${side_error[$side]}")
done
python3 - "$work/results" "$runtime" "$([ "${#alt[@]}" -gt 0 ] && echo "$rounds" || echo 0)" "${errs[@]}" <<'PY'
import os, sys
res, runtime, rounds, errs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
def load(side):
    p = os.path.join(res, f"{side}.tsv")
    out = {}
    if os.path.exists(p):
        for line in open(p):
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2:
                out[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return out
b, g = load("braid"), load("gluster")
secs = {s: open(os.path.join(res, f"{s}.seconds")).read().strip() for s in ("braid", "gluster")
        if os.path.exists(os.path.join(res, f"{s}.seconds"))}
# key, label, unit, higher is better, goal (Braid/GlusterFS, better-is->1)
rows = [
    ("create_ops", "4 KiB files: create", "ops/s", True, 3.0),
    ("stat_ops", "4 KiB files: stat (cold)", "ops/s", True, 1.5),
    ("read_ops", "4 KiB files: read (cold)", "ops/s", True, 1.5),
    ("unlink_ops", "4 KiB files: unlink", "ops/s", True, 1.5),
    ("tar_x_s", "tar -x 5000 files", "s", False, 3.0),
    ("tar_rm_s", "rm -rf 5000 files", "s", False, 1.5),
    ("seq_mbs", "1 MiB seq write 512 MiB", "MB/s", True, 1.5),
    ("randwrite_iops", "4k randwrite fsync=1", "IOPS", True, 1.5),
    ("randread_iops", "4k randread direct QD1", "IOPS", True, 1.5),
    ("heal_write_s", "writes with a brick down", "s", False, None),
    ("heal_s", "heal: restart -> 0 entries", "s", False, 1.5),
    ("heal_bytes", "heal: bytes to the brick", "MB", False, None),
]
def num(v):
    if v is None:
        return None, ""
    s = v[0]
    bound = ""
    if s.startswith(">"):
        bound, s = ">", s[1:]
    try:
        return float(s), bound
    except ValueError:
        return None, s
def cell(v, unit):
    x, bound = num(v)
    if x is None:
        return "-" if v is None else bound  # "fail" etc.
    if unit == "MB":
        x /= 1e6
    return bound + (f"{x:.2f}" if unit == "s" else f"{x:.1f}" if unit in ("MB/s", "MB") else f"{x:.0f}")
fmt = "{:<28} {:>6} {:>10} {:>10} {:>8} {:>6}  {}"
print("Braid replica 3 (FUSE) vs GlusterFS replica 3 (FUSE), same machine, one after the other;"
      f" fio {runtime}s per time-based run")
if rounds:
    print(f"seq write and randwrite fsync=1: the median of {rounds} alternating rounds, both volumes mounted"
          " (one round per line below the table)")
print("ratio: >1 means Braid is better. For ops/s, MB/s and IOPS it is Braid/GlusterFS; for times (s)"
      " and bytes it is GlusterFS/Braid.")
print(fmt.format("workload", "unit", "Braid", "GlusterFS", "ratio", "goal", ""))
print("-" * 84)
if not b and not g:
    print("(no figures)")
for key, label, unit, higher, goal in rows:
    bv, gv = b.get(key), g.get(key)
    if bv is None and gv is None:
        continue
    (bx, bb), (gx, gb) = num(bv), num(gv)
    ratio, mark = "-", ""
    if bx and gx:
        r = bx / gx if higher else gx / bx
        # a time that hit its bound is a lower bound on the time: the ratio is a bound too
        pre = "<" if (bb == ">" and not higher) else ">" if (gb == ">" and not higher) else ""
        if bb == ">" and gb == ">":
            pre = "?"
        ratio = f"{pre}{r:.2f}"
        if goal and not pre:
            mark = "ok" if r >= goal else "below goal"
        elif goal and pre == "<":
            mark = "below goal" if r < goal else ""
    print(fmt.format(label, unit, cell(bv, unit), cell(gv, unit), ratio, f">={goal:g}" if goal else "", mark))
ceil = [(k, label, unit) for k, label, unit in (("randwrite_iops", "4k randwrite fsync=1", "IOPS"),
                                                 ("seq_mbs", "1 MiB seq write 512 MiB", "MB/s"))
        if "ceil_" + k in b or "ceil_" + k in g]
if ceil:
    print()
    print("Against the disk's ceiling (three fresh brick file systems written directly, nothing in between,"
          + (" measured at the start of each round; medians):" if rounds else " measured right before each side's half):"))
    fmt3 = "{:<28} {:>6} {:>10} {:>10} {:>10} {:>10}"
    print(fmt3.format("workload", "unit", "Braid", "its disk", "GlusterFS", "its disk"))
    for k, label, unit in ceil:
        cells = []
        for d in (b, g):
            x, _ = num(d.get(k))
            c, _ = num(d.get("ceil_" + k))
            cells += [f"{100 * x / c:.0f}%" if x and c else "-", cell(d.get("ceil_" + k), unit)]
        print(fmt3.format(label, unit, *cells))
if rounds:
    print()
    print("Each alternating round (GlusterFS first in odd rounds, Braid first in even ones):")
    fmt4 = "{:<28} {:>5} {:>10} {:>10} {:>8} {:>11} {:>8} {:>8}"
    print(fmt4.format("workload", "round", "Braid", "GlusterFS", "ratio", "disk ceil.", "Braid %", "Gl. %"))
    for k, label, unit in (("seq_mbs", "1 MiB seq write 512 MiB", "MB/s"), ("randwrite_iops", "4k randwrite fsync=1", "IOPS")):
        for r in range(1, rounds + 1):
            bv, gv, cv = b.get(f"{k}@{r}"), g.get(f"{k}@{r}"), (b.get(f"ceil_{k}@{r}") or g.get(f"ceil_{k}@{r}"))
            if bv is None and gv is None:
                continue
            (bx, _), (gx, _), (cx, _) = num(bv), num(gv), num(cv)
            print(fmt4.format(label, r, cell(bv, unit), cell(gv, unit), f"{bx / gx:.2f}" if bx and gx else "-", cell(cv, unit),
                              f"{100 * bx / cx:.0f}%" if bx and cx else "-", f"{100 * gx / cx:.0f}%" if gx and cx else "-"))
print()
for side, name, d in (("gluster", "GlusterFS", g), ("braid", "Braid", b)):
    notes = [(k, v) for k, v in d.items() if (v[1] or v[0] == "fail") and "@" not in k]
    if d:
        print(f"{name} notes" + (f" (its half took {secs[side]} s):" if side in secs else ":"))
        for k, (v, note) in notes:
            print(f"  {k:<15} {v:>12}  {note}")
cpu = {}
for side in ("gluster", "braid"):
    for w in ("smallfile", "tar", "seqwrite", "randwrite-fsync", "randread", "heal"):
        p = os.path.join(res, f"{side}-{w}.cpu")
        if os.path.exists(p):
            machine, ours, t = (float(x) for x in open(p).read().split())
            cpu[(side, w)] = (ours, max(0.0, machine - ours), t)
if cpu:
    print()
    print(f"CPU during each workload, % of one core (this machine has {os.cpu_count()} cores); 'ours' = the servers, the"
          " FUSE client and the tools of this run, 'others' = everything else on the machine:")
    fmt2 = "{:<16} {:>7} {:>7} {:>7} | {:>7} {:>7} {:>7}"
    print(fmt2.format("workload", "Braid s", "ours", "others", "Gl. s", "ours", "others"))
    for w in ("smallfile", "tar", "seqwrite", "randwrite-fsync", "randread", "heal"):
        if ("braid", w) not in cpu and ("gluster", w) not in cpu:
            continue
        cells = [w]
        for side in ("braid", "gluster"):
            c = cpu.get((side, w))
            cells += [f"{c[2]:.0f}", f"{100 * c[0]:.0f}", f"{100 * c[1]:.0f}"] if c else ["-", "-", "-"]
        print(fmt2.format(*cells))
    worst = max(c[1] for c in cpu.values())
    if worst > 0.25:
        print(f"WARNING: other processes used up to {100 * worst:.0f}% of a core during these runs: the figures are"
              " disturbed; compare runs only when 'others' is small, or run again.")
print()
for e in errs:
    print(e)
if "heal_bytes" in b or "heal_bytes" in g:
  print("heal bytes: Braid = lastResync.bytes of the healed brick (what the others sent to it); GlusterFS = TCP payload"
      " received by the restarted glusterfsd (ss bytes_received); heal_du = that brick's growth (du -sb).")
PY

if want_side braid && [ -d "$bdir" ]; then
  echo
  log "warnings and errors in the braidd logs:"
  found=0
  for i in 0 1 2; do
    f="$bdir/s$i/log/braidd.log"
    [ -f "$f" ] || continue
    ratis="$(grep -cE ' (WARN|ERROR) .*GrpcLogAppender' "$f" || true)"
    n="$(grep -E ' (WARN|ERROR) ' "$f" | grep -cv 'GrpcLogAppender' || true)"
    if [ "$ratis" -gt 0 ]; then
      found=1
      echo "  ${hosts[$i]}: $ratis Ratis GrpcLogAppender warnings (expected while the killed server is down)"
    fi
    if [ "$n" -gt 0 ]; then
      found=1
      echo "  ${hosts[$i]}: $n other lines, first ones:"
      awk '/ (WARN|ERROR) / && !/GrpcLogAppender/ && n++ < 5' "$f" | cut -c1-220 | sed 's/^/    /'
    fi
  done
  [ "$found" = 1 ] || echo "  none"
fi
