#!/usr/bin/env bash
# block-bench.sh: how fast is a replica-2 Braid block volume next to an unreplicated nbdkit
# export of a file on the same disk, and how fast does a returning replica catch up?
#
#   stress-tests/block-bench.sh [--runtime SECONDS] [--warmup SECONDS] [--only WORKLOAD[,WORKLOAD...]]
#                               [--keep] [--profile] [--jfr]
#
# Starts three braidd on 127.0.0.51-53 (bricks on .51 and .52, .53 only completes the
# configuration store's majority so that losing a brick server keeps quorum), creates and
# starts the 1 GiB block volume "bench" (replica 2), serves a 1 GiB file with nbdkit on
# 127.0.0.60, fills both once with 1 MiB sequential writes, then runs the same fio jobs (nbd
# engine) against both, one after the other per workload, and prints one table (after a mixed
# 4 KiB warm-up on both, so that the daemons' JIT compiler is mostly done). Then it kills
# -9 the secondary, writes 1% of the volume through the primary, restarts the secondary and
# reports the partial resync. Everything it starts is stopped by PID, and its temp directory
# removed, when it exits (also on failure or Ctrl-C). --profile records the primary and the
# secondary braidd during Braid randwrite-qd16 (per-thread CPU, and perf if installed, else JFR)
# and prints a summary; --jfr adds a JFR recording of each. See stress-tests/README.md.
#
# Workloads (names for --only): randwrite-qd1 randwrite-qd16 randwrite-fsync seqwrite-1m
# randread-qd16 resync (also a b c d e).
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
top="$(cd "$here/.." && pwd)"

runtime=15
ramp=2
warmup=10
keep=0
profile=0
jfr=0
only=""
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "${1:-0}"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --runtime) runtime="${2:?--runtime needs SECONDS}"; shift 2 ;;
    --runtime=*) runtime="${1#*=}"; shift ;;
    --warmup) warmup="${2:?--warmup needs SECONDS}"; shift 2 ;;
    --warmup=*) warmup="${1#*=}"; shift ;;
    --only) only="${2:?--only needs a workload}"; shift 2 ;;
    --only=*) only="${1#*=}"; shift ;;
    --keep) keep=1; shift ;;
    --profile) profile=1; shift ;;
    --jfr) profile=1; jfr=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "block-bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$runtime" =~ ^[0-9]+$ ]] && [ "$runtime" -ge 3 ] || { echo "block-bench: --runtime must be an integer >= 3" >&2; exit 2; }
[[ "$warmup" =~ ^[0-9]+$ ]] || { echo "block-bench: --warmup must be an integer (0: none)" >&2; exit 2; }

# ---- which workloads ----
all_workloads=(randwrite-qd1 randwrite-qd16 randwrite-fsync seqwrite-1m randread-qd16)
declare -A want=()
if [ -z "$only" ]; then
  for w in "${all_workloads[@]}" resync; do want[$w]=1; done
else
  IFS=',' read -r -a picked <<<"$only"
  for w in "${picked[@]}"; do
    case "$w" in
      a) w=randwrite-qd1 ;; b) w=randwrite-qd16 ;; c) w=randwrite-fsync ;; d) w=seqwrite-1m ;; e) w=randread-qd16 ;;
    esac
    case " ${all_workloads[*]} resync " in
      *" $w "*) want[$w]=1 ;;
      *) echo "block-bench: unknown workload '$w' (one of: ${all_workloads[*]} resync)" >&2; exit 2 ;;
    esac
  done
fi
fio_wanted=0
for w in "${all_workloads[@]}"; do [ -n "${want[$w]:-}" ] && fio_wanted=1; done

# fio arguments of each workload: identical for Braid and nbdkit.
declare -A job_args=(
  [randwrite-qd1]="--rw=randwrite --bs=4k --iodepth=1"
  [randwrite-qd16]="--rw=randwrite --bs=4k --iodepth=16"
  [randwrite-fsync]="--rw=randwrite --bs=4k --iodepth=1 --fsync=1"
  [seqwrite-1m]="--rw=write --bs=1M --iodepth=4"
  [randread-qd16]="--rw=randread --bs=4k --iodepth=16"
)

hosts=(127.0.0.51 127.0.0.52 127.0.0.53)
nbdkit_host=127.0.0.60
nbd_port=10809
vol=bench
vol_size=1G
vol_bytes=$((1 << 30))
dirty_ios=$((vol_bytes / 4096 / 100)) # 1% of the volume in 4 KiB blocks (2621)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "block-bench: $*" >&2; exit 1; }

# ---- dependencies and build ----
if [ "$profile" = 1 ] && ! command -v perf >/dev/null; then jfr=1; fi
# (install-deps only when a tool is missing: on Debian 12 it asks apt for the virtual package
# nbdfuse on every call, which never shows as installed)
for tool in fio nbdkit nbdinfo java mvn; do
  command -v "$tool" >/dev/null || { "$top/scripts/install-deps"; break; }
done
for tool in fio nbdkit nbdinfo python3 java jcmd timeout ss; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
jars=("$top/volume-manager/target/volume-manager-0.1.0-SNAPSHOT.jar" "$top/tools/target/tools-0.1.0-SNAPSHOT.jar")
if [ ! -f "${jars[0]}" ] || [ ! -f "${jars[1]}" ] || [ ! -d "$top/volume-manager/target/lib" ] || [ ! -d "$top/tools/target/lib" ]; then
  log "building Braid (mvn package)"
  (cd "$top" && mvn -B -q -ntp -DskipTests package) || die "the build failed"
fi

# ---- addresses must be free: never disturb another run ----
listening="$(ss -ltnH | awk '{print $4}')"
for a in "${hosts[0]}:24100" "${hosts[1]}:24100" "${hosts[2]}:24100" "${hosts[0]}:$nbd_port" "${hosts[1]}:$nbd_port" "$nbdkit_host:$nbd_port"; do
  if grep -qxF "$a" <<<"$listening"; then die "$a is already in use (another block-bench running?)"; fi
done

# ---- state and cleanup ----
work="$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/braid-block-bench.XXXXXX")"
declare -A braidd_pid=()
nbdkit_pid=""
bg_pids=()
perf_maps=() # /tmp/perf-PID.map files written by the daemons' JVMs for --profile
# A pid is ours only while its command line names our temp directory (a pid of a process that
# died may have been reused by another one by now).
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$work/"; }
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  local running
  running="$(jobs -p)" # background jobs of this shell that have not been reaped yet
  for p in "${bg_pids[@]}"; do
    grep -qxF "$p" <<<"$running" && kill -TERM "$p" 2>/dev/null
  done
  if [ -n "$nbdkit_pid" ] && ours "$nbdkit_pid"; then
    kill -TERM "$nbdkit_pid"
    for _ in $(seq 1 50); do kill -0 "$nbdkit_pid" 2>/dev/null || break; sleep 0.1; done
    ours "$nbdkit_pid" && kill -KILL "$nbdkit_pid"
  fi
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
  for m in "${perf_maps[@]}"; do rm -f "$m"; done
  if [ "$keep" = 1 ]; then
    echo "block-bench: kept $work (logs in s*/log/braidd.log, fio output in results/)"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Everything must end in bounded time: a watchdog ends the run (and so runs the cleanup).
limit=$((300 + 2 * warmup + 14 * (runtime + ramp)))
(
  trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "$limit" &
  sp=$!
  wait "$sp"
  echo "block-bench: still running after ${limit}s, giving up" >&2
  kill -TERM $$
) &
bg_pids+=($!)

# ---- a private copy of the launchers and jars, so that a concurrent rebuild cannot pull the
# classes from under running daemons (bin/braidd finds its jars relative to itself) ----
dist="$work/dist"
fingerprint() {
  find "$top/bin/braidd" "$top/bin/braid" "$top/volume-manager/target/lib" "$top/tools/target/lib" "${jars[@]}" \
    -type f -printf '%p %s %T@\n' | sort | md5sum
}
copied=0
for attempt in 1 2 3 4 5 6; do
  before="$(fingerprint)"
  rm -rf "$dist"
  mkdir -p "$dist/bin" "$dist/volume-manager/target" "$dist/tools/target"
  cp "$top/bin/braidd" "$top/bin/braid" "$dist/bin/"
  cp -r "${jars[0]}" "$top/volume-manager/target/lib" "$dist/volume-manager/target/"
  cp -r "${jars[1]}" "$top/tools/target/lib" "$dist/tools/target/"
  newest="$(find "$top/volume-manager/target/lib" "$top/tools/target/lib" "${jars[@]}" -type f -printf '%T@\n' | sort -n | tail -1)"
  if [ "$before" = "$(fingerprint)" ] && [ "$(date +%s)" -gt "$(( ${newest%.*} + 3 ))" ]; then copied=1; break; fi
  log "the jars are being rebuilt; copying again in 5 s (attempt $attempt)"
  sleep 5
done
[ "$copied" = 1 ] || die "the jars kept changing (a build is running in $top); try again later"

braid() { timeout 60 "$dist/bin/braid" --remote-host "${hosts[2]}" --mode=script "$@"; }
braid_json() { timeout 60 "$dist/bin/braid" --remote-host "${hosts[2]}" --mode=script --json "$@"; }

# jq may be missing: a tiny JSON query helper (python3 expression over `d`).
pyq() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

start_braidd() { # index (0-based), log suffix
  local i="$1" out="$work/s$1.$2.out"
  "$dist/bin/braidd" --address "${hosts[$i]}" --data-dir "$work/s$i" >"$out" 2>&1 </dev/null &
  braidd_pid[$i]=$!
  for _ in $(seq 1 300); do
    grep -q "braidd ready" "$out" 2>/dev/null && return 0
    kill -0 "${braidd_pid[$i]}" 2>/dev/null || { tail -n 20 "$out" >&2; die "braidd ${hosts[$i]} exited during start"; }
    sleep 0.2
  done
  die "braidd ${hosts[$i]} not ready after 60 s (see $out)"
}

wait_for() { # seconds, description, command...: polls every 0.5 s
  local secs="$1" what="$2"; shift 2
  local deadline=$((SECONDS + secs))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  die "timed out after ${secs}s waiting for $what"
}

both_up_to_date() {
  braid_json volume status "$vol" | pyq "'ok' if all(b['state']=='UpToDate' and b['online'] for b in d['volumes'][0]['bricks']) and len(d['volumes'][0]['bricks'])==2 else ''" | grep -q ok
}
all_connected() {
  braid_json pool list | pyq "'ok' if len(d['peers'])==3 and all(p['connected'] for p in d['peers']) else ''" | grep -q ok
}

cpu_ticks() { # sum of utime+stime (clock ticks) over the given pids
  local t=0 p f
  for p in "$@"; do
    if [ -r "/proc/$p/stat" ]; then
      f="$(sed 's/^.*) //' "/proc/$p/stat")"
      t=$((t + $(awk '{print $12 + $13}' <<<"$f")))
    fi
  done
  echo "$t"
}
clk_tck="$(getconf CLK_TCK)"

log "work directory $work; load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
log "starting braidd on ${hosts[*]}"
for i in 0 1 2; do mkdir -p "$work/s$i"; start_braidd "$i" start; done
for i in 1 2; do # from the first server; afterwards the CLI asks hosts[2], which holds no brick and never dies
  timeout 60 "$dist/bin/braid" --remote-host "${hosts[0]}" --mode=script peer probe "${hosts[$i]}" >/dev/null \
    || die "peer probe ${hosts[$i]} failed"
done
wait_for 60 "three connected pool members" all_connected

log "creating and starting the replica-2 block volume $vol ($vol_size)"
# (replica 2 prints GlusterFS's split-brain warning on stderr; shown only if the create fails)
braid volume create "$vol" replica 2 type block size "$vol_size" \
  "${hosts[0]}:$work/bricks/b1" "${hosts[1]}:$work/bricks/b2" >"$work/create.out" 2>&1 \
  || { cat "$work/create.out" >&2; die "volume create failed"; }
braid volume start "$vol" >/dev/null
t0=$SECONDS
wait_for 120 "both bricks UpToDate" both_up_to_date
log "both bricks UpToDate after $((SECONDS - t0)) s"

status="$(braid_json volume status "$vol")"
primary_host="$(pyq "[b['hostname'] for b in d['volumes'][0]['bricks'] if b['role']=='primary'][0]" <<<"$status")"
secondary_brick="$(pyq "[b['name'] for b in d['volumes'][0]['bricks'] if b['role']=='secondary'][0]" <<<"$status")"
secondary_host="${secondary_brick%%:*}"
for i in 0 1; do
  [ "${hosts[$i]}" = "$primary_host" ] && pi=$i
  [ "${hosts[$i]}" = "$secondary_host" ] && si=$i
done
[ -n "${pi:-}" ] && [ -n "${si:-}" ] || die "cannot tell primary ($primary_host) and secondary ($secondary_host) apart"
log "primary ${hosts[$pi]} (pid ${braidd_pid[$pi]}), secondary $secondary_brick (pid ${braidd_pid[$si]})"
braid_uri="nbd://${hosts[$pi]}:$nbd_port/$vol"
wait_for 30 "the NBD export $braid_uri" nbdinfo --size "$braid_uri"

mkdir -p "$work/results"

# fio against one target: target name, workload name, extra fio args...
run_fio() {
  local target="$1" name="$2"; shift 2
  local uri
  if [ "$target" = braid ]; then uri="$braid_uri"; else uri="nbd://$nbdkit_host:$nbd_port/"; fi
  local out="$work/results/$target-$name"
  local rc=0
  timeout $((runtime + ramp + 120)) fio --name="$name" --ioengine=nbd --uri="$uri" --size="$vol_size" \
    --output-format=json --output="$out.json" "$@" >"$out.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "block-bench: fio $name against $target failed (exit $rc):" >&2
    tail -n 20 "$out.log" >&2
    return 1
  fi
}

machine_busy_ticks() { # all CPUs' non-idle ticks since boot (user nice system irq softirq steal)
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat
}

# JFR on one braidd for the rest of the current run: index, workload.
start_jfr() {
  local i="$1" w="$2" role="$3"
  (
    sleep "$ramp"
    jcmd "${braidd_pid[$i]}" JFR.start name="block-bench-$role" settings=profile \
      duration="$((runtime - 1))s" filename="$work/results/profile-$w-$role.jfr" >"$work/results/jfr-$role.log" 2>&1
  ) &
  bg_pids+=($!)
  jfr_jobs+=($!)
}

# Per-thread CPU ticks and context switches of the given processes, as JSON (for --profile).
thread_snapshot() { # out-file pid...
  python3 - "$@" <<'PY'
import json, os, sys
out, pids = sys.argv[1], sys.argv[2:]
snap = {}
for pid in pids:
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
            status = open(f"/proc/{pid}/task/{tid}/status").read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        f = stat[stat.rindex(")") + 2:].split()
        ctx = sum(int(l.split()[1]) for l in status.splitlines() if "ctxt_switches:" in l)
        threads[tid] = [comm, int(f[11]), int(f[12]), ctx]
    snap[pid] = threads
json.dump(snap, open(out, "w"))
PY
}

# What the threads of one process did between two snapshots: pid, before, after, title, ios.
thread_report() {
  python3 - "$@" "$clk_tck" "$((runtime + ramp))" <<'PY'
import collections, json, re, sys
pid, before, after, title, ios, hz, secs = sys.argv[1:]
a, b = json.load(open(before))[pid], json.load(open(after))[pid]
hz, secs, ios = int(hz), float(secs), max(1, int(float(ios)))
groups = collections.defaultdict(lambda: [0, 0, 0, 0])
for tid, (comm, ut, st, cx) in b.items():
    u0, s0, c0 = a.get(tid, [comm, 0, 0, 0])[1:]
    g = groups[re.sub(r"[-#\d]+$", "", comm) or comm]
    g[0] += ut - u0; g[1] += st - s0; g[2] += cx - c0; g[3] += 1
tot_u = sum(g[0] for g in groups.values()); tot_s = sum(g[1] for g in groups.values())
tot_c = sum(g[2] for g in groups.values())
print(f"{title}: {100 * (tot_u + tot_s) / hz / secs:.0f}% of a core ({100 * tot_s / max(1, tot_u + tot_s):.0f}% of it in the kernel),"
      f" {tot_c / ios:.1f} context switches and {1e6 * (tot_u + tot_s) / hz / ios:.0f} us of CPU per I/O")
print("  thread group            threads   CPU%  (user  sys)  ctx switches/I/O")
for name, (u, s_, c, n) in sorted(groups.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:8]:
    if u + s_ == 0 and c == 0:
        continue
    print(f"  {name:<22} {n:>8} {100 * (u + s_) / hz / secs:6.1f}  ({100 * u / hz / secs:4.0f} {100 * s_ / hz / secs:4.0f})  {c / ios:8.2f}")
PY
}

# perf (if installed) on the primary and the secondary for the rest of the current run: workload.
start_perf() {
  command -v perf >/dev/null || return 0
  (
    sleep "$ramp"
    exec perf record -F 499 -g -p "${braidd_pid[$pi]},${braidd_pid[$si]}" -o "$work/results/perf-$1.data" \
      -- sleep "$((runtime - 1))"
  ) >"$work/results/perf-record.log" 2>&1 &
  bg_pids+=($!)
  jfr_jobs+=($!)
}

summarize_perf() { # workload
  local data="$work/results/perf-$1.data" p
  [ -s "$data" ] || return 0
  for p in "${braidd_pid[$pi]}" "${braidd_pid[$si]}"; do # symbols for the JIT-compiled code
    perf_maps+=("/tmp/perf-$p.map")
    jcmd "$p" Compiler.perfmap >/dev/null 2>&1 || true
  done
  echo
  echo "perf (499 Hz, both daemons, kernel included) during Braid $1 ($data):"
  if ! perf report -i "$data" --stdio >/dev/null 2>"$data.err"; then
    echo "  perf report failed: $(tail -n 1 "$data.err")"
    return 0
  fi
  echo "  by binary:"
  perf report -i "$data" --no-children --sort dso --stdio -g none 2>/dev/null | awk '!/^#/ && NF && n++ < 6' \
    | sed -E 's/ +$//; s/^ */    /'
  echo "  by thread:"
  perf report -i "$data" --no-children --sort comm --stdio -g none 2>/dev/null | awk '!/^#/ && NF && n++ < 8' \
    | sed -E 's/ +$//; s/^ */    /'
  echo "  top symbols ([k] kernel, [.] JVM/JIT/libc):"
  perf report -i "$data" --no-children --sort sym --stdio -g none 2>/dev/null | awk '!/^#/ && NF && n++ < 25' \
    | cut -c1-150 | sed -E 's/ +$//; s/^ */    /'
}

summarize_jfr() { # file, title
  jfr print --json --events jdk.ExecutionSample,jdk.NativeMethodSample,jdk.GarbageCollection "$1" >"$1.json" || return 0
  python3 - "$1.json" "$2" "$((runtime - 1))" <<'PY'
import collections, json, sys
ev = json.load(open(sys.argv[1]))["recording"]["events"]
title, seconds = sys.argv[2], float(sys.argv[3])
def frames(e):
    st = e["values"].get("stackTrace") or {}
    return [f["method"]["type"]["name"].replace("/", ".") + "." + f["method"]["name"] for f in st.get("frames", [])]
def thread(e):
    t = e["values"].get("sampledThread") or {}
    return (t.get("javaName") or t.get("osName") or "?").rstrip("0123456789-")
exe = [e for e in ev if e["type"] == "jdk.ExecutionSample"]
nat = [e for e in ev if e["type"] == "jdk.NativeMethodSample"]
gcs = [e for e in ev if e["type"] == "jdk.GarbageCollection"]
print(f"{title}: {len(exe)} Java samples in {seconds:.0f} s (~{len(exe) / (seconds * 100):.2f} threads running Java code"
      f" on average; JFR samples every 10 ms), {len(nat)} native samples")
def top(counter, total, n, head):
    print(f"  {head}")
    for k, c in counter.most_common(n):
        print(f"    {100 * c / total:5.1f}%  {k}")
if exe:
    rules = [("FileChannel pwrite/pread", ("sun.nio.ch.FileDispatcherImpl", "sun.nio.ch.FileChannelImpl", "sun.nio.ch.IOUtil")),
             ("socket I/O", ("sun.nio.ch.SocketDispatcher", "sun.nio.ch.SocketChannelImpl", "sun.nio.ch.EPoll")),
             ("protobuf", ("com.google.protobuf",)), ("gRPC", ("io.grpc",)), ("Netty", ("io.netty",)),
             ("Ratis (config store)", ("org.apache.ratis",)), ("RocksDB", ("org.rocksdb",)), ("LZ4", ("net.jpountz",)),
             ("Braid replication", ("io.braid.replication",)), ("Braid NBD", ("io.braid.nbd",)), ("Braid other", ("io.braid",)),
             ("thread hand-off (park/unpark)", ("java.util.concurrent.locks", "jdk.internal.misc.Unsafe.park", "jdk.internal.misc.Unsafe.unpark", "java.util.concurrent.SynchronousQueue")),
             ("CompletableFuture", ("java.util.concurrent.CompletableFuture",)), ("JFR itself", ("jdk.jfr",))]
    buckets = collections.Counter()
    for e in exe:
        label = "other JDK"
        for f in frames(e):  # the innermost frame of a known component names the sample
            hit = next((name for name, pre in rules if f.startswith(pre)), None)
            if hit:
                label = hit
                break
        buckets[label] += 1
    top(buckets, len(exe), 10, "samples by innermost known component:")
    top(collections.Counter(thread(e) for e in exe), len(exe), 6, "samples by thread:")
    top(collections.Counter(frames(e)[0] for e in exe if frames(e)), len(exe), 15, "top frames (self):")
    incl = collections.Counter()
    for e in exe:
        incl.update({f for f in frames(e) if f.startswith("io.braid.")})
    top(incl, len(exe), 10, "Braid methods on the stack (inclusive):")
if nat:
    idle = ("EPoll.wait", "epollWait", "park", "accept", "Object.wait", "sleep", "waitForReferencePendingList")
    busy = collections.Counter(frames(e)[0] for e in nat if frames(e) and not any(s in frames(e)[0] for s in idle))
    if busy:
        top(busy, len(nat), 6, "native samples outside idle waits (share of all native samples):")
if gcs:
    def secs(v):  # JFR JSON durations look like "PT0.0123S"
        v = str(v)
        return float(v[2:-1]) if v.startswith("PT") and v.endswith("S") else 0.0
    pause = sum(secs(g["values"].get("sumOfPauses", "")) for g in gcs)
    print(f"  GC: {len(gcs)} collections, {1000 * pause:.0f} ms of pauses")
PY
}

if [ "$fio_wanted" = 1 ]; then
  truncate -s "$vol_size" "$work/nbdkit.img"
  nbdkit -P "$work/nbdkit.pid" -i "$nbdkit_host" -p "$nbd_port" file "$work/nbdkit.img"
  for _ in $(seq 1 50); do [ -s "$work/nbdkit.pid" ] && break; sleep 0.1; done
  nbdkit_pid="$(cat "$work/nbdkit.pid")"
  wait_for 10 "nbdkit on $nbdkit_host" nbdinfo --size "nbd://$nbdkit_host:$nbd_port/"
  log "nbdkit (pid $nbdkit_pid) serves $work/nbdkit.img on $nbdkit_host:$nbd_port"

  # Fill both devices once, so that every workload overwrites allocated blocks and reads real data.
  for target in braid nbdkit; do
    t0=$(date +%s.%N)
    run_fio "$target" prefill --rw=write --bs=1M --iodepth=4 || die "prefill failed"
    log "prefill of $target: 1 GiB sequential in $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s"
  done
  sync
  if [ "$warmup" -gt 0 ]; then
    for target in braid nbdkit; do
      log "warm-up of $target: ${warmup}s of 4 KiB random reads and writes, a flush every 32 writes"
      run_fio "$target" warmup --rw=randrw --bs=4k --iodepth=16 --fsync=32 --time_based --runtime="$warmup" \
        || die "warm-up failed"
    done
  fi

  for w in "${all_workloads[@]}"; do
    [ -n "${want[$w]:-}" ] || continue
    for target in braid nbdkit; do
      log "$w against $target (${runtime}s + ${ramp}s ramp)"
      if [ "$target" = braid ]; then pids=("${braidd_pid[@]}"); else pids=("$nbdkit_pid"); fi
      jfr_jobs=()
      profiling=0
      if [ "$profile" = 1 ] && [ "$target" = braid ] && [ "$w" = randwrite-qd16 ]; then
        if [ "$jfr" = 1 ]; then
          start_jfr "$pi" "$w" primary
          start_jfr "$si" "$w" secondary
        fi
        start_perf "$w"
        profiling=1
      fi
      if [ "$profiling" = 1 ]; then thread_snapshot "$work/results/threads-before.json" "${braidd_pid[$pi]}" "${braidd_pid[$si]}"; fi
      c0="$(cpu_ticks "${pids[@]}")"; m0="$(machine_busy_ticks)"; t0=$(date +%s.%N)
      # shellcheck disable=SC2086 # job_args are meant to split
      run_fio "$target" "$w" --time_based --runtime="$runtime" --ramp_time="$ramp" ${job_args[$w]} || die "$w failed"
      c1="$(cpu_ticks "${pids[@]}")"; m1="$(machine_busy_ticks)"; t1=$(date +%s.%N)
      if [ "$profiling" = 1 ]; then thread_snapshot "$work/results/threads-after.json" "${braidd_pid[$pi]}" "${braidd_pid[$si]}"; fi
      # servers' CPU and the whole machine's busy CPU, both as a fraction of one core
      python3 -c "print(($c1 - $c0) / $clk_tck / ($t1 - $t0), ($m1 - $m0) / $clk_tck / ($t1 - $t0))" \
        >"$work/results/$target-$w.cpu"
      for j in "${jfr_jobs[@]}"; do wait "$j" || true; done
      if [ "$jfr" = 1 ] && [ "$profiling" = 1 ]; then
        for role in primary secondary; do # the recordings end by themselves (duration); wait until written
          for _ in $(seq 1 40); do [ -s "$work/results/profile-$w-$role.jfr" ] && break; sleep 0.25; done
        done
      fi
    done
  done

  echo
  echo "Braid replica 2 (protocol C, primary ${hosts[$pi]}) vs nbdkit file plugin, same disk; fio ${runtime}s (+${ramp}s ramp) per run, nbd engine"
  python3 - "$work/results" "${all_workloads[@]}" <<'PY'
import json, os, sys
res, workloads = sys.argv[1], sys.argv[2:]
def load(target, w):
    p = os.path.join(res, f"{target}-{w}.json")
    if not os.path.exists(p):
        return None
    j = json.load(open(p))["jobs"][0]
    op = j["read"] if w.startswith("randread") else j["write"]
    lat = op["lat_ns"]["mean"]
    if j.get("sync", {}).get("total_ios", 0):
        lat += j["sync"]["lat_ns"]["mean"]  # one write + its flush
    p99 = op["clat_ns"].get("percentile", {}).get("99.000000", 0)
    srv, machine = (float(x) for x in open(os.path.join(res, f"{target}-{w}.cpu")).read().split())
    fio = (j["usr_cpu"] + j["sys_cpu"]) / 100
    return dict(iops=op["iops"], mbs=op["bw_bytes"] / 1e6, lat=lat / 1e6, p99=p99 / 1e6, err=j["error"],
                srv=srv, fio=fio, other=max(0.0, machine - srv - fio))
rows = [(w, load("braid", w), load("nbdkit", w)) for w in workloads]
rows = [r for r in rows if r[1] and r[2]]
fmt = "{:<16} {:>10} {:>7} {:>7} {:>8} | {:>11} {:>7} {:>7} {:>8} | {:>12}"
print(fmt.format("workload", "Braid IOPS", "MB/s", "lat ms", "p99 ms", "nbdkit IOPS", "MB/s", "lat ms", "p99 ms", "Braid/nbdkit"))
print("-" * 110)
for w, b, n in rows:
    ratio = b["iops"] / n["iops"] if n["iops"] else float("nan")
    cells = [w]
    for r in (b, n):
        cells += [f"{r['iops']:.0f}", f"{r['mbs']:.1f}", f"{r['lat']:.3f}", f"{r['p99']:.2f}"]
    cells.append(f"{ratio:.2f}")
    print(fmt.format(*cells))
    for t, r in (("braid", b), ("nbdkit", n)):
        if r["err"]:
            print(f"  fio reported error {r['err']} for {w} against {t}")
print("MB/s = 10^6 bytes/s; lat = mean completion latency per I/O (randwrite-fsync: write + its flush); p99 = 99th")
print("percentile completion latency; ratio = Braid IOPS / nbdkit IOPS.")
print()
print(f"CPU during each run, % of one core (this machine has {os.cpu_count()} cores; 'others' = everything else on the machine):")
fmt = "{:<16} {:>13} {:>6} {:>7} | {:>13} {:>6} {:>7}"
print(fmt.format("workload", "braidd x3", "fio", "others", "nbdkit", "fio", "others"))
for w, b, n in rows:
    print(fmt.format(w, *(f"{100 * r[k]:.0f}" for r in (b, n) for k in ("srv", "fio", "other"))))
busy = [r["other"] for _, b, n in rows for r in (b, n)]
if busy and max(busy) > 0.25:
    print(f"WARNING: other processes used up to {100 * max(busy):.0f}% of a core during these runs: the figures are disturbed.")
PY
  if [ "$profile" = 1 ] && [ -n "${want[randwrite-qd16]:-}" ]; then
    # fio counts I/Os after the ramp only; scale to the whole run that the snapshots cover
    ios="$(pyq "round(d['jobs'][0]['write']['total_ios'] * ($runtime + $ramp) / $runtime)" <"$work/results/braid-randwrite-qd16.json")"
    echo
    echo "Threads during Braid randwrite-qd16 (about $ios writes, ${runtime}s + ${ramp}s ramp):"
    thread_report "${braidd_pid[$pi]}" "$work/results/threads-before.json" "$work/results/threads-after.json" "  primary ${hosts[$pi]}" "$ios" | sed 's/^/  /'
    thread_report "${braidd_pid[$si]}" "$work/results/threads-before.json" "$work/results/threads-after.json" "  secondary ${hosts[$si]}" "$ios" | sed 's/^/  /'
    summarize_perf randwrite-qd16
    for role in primary secondary; do
      [ "$jfr" = 1 ] || break
      f="$work/results/profile-randwrite-qd16-$role.jfr"
      if [ -s "$f" ]; then
        echo
        summarize_jfr "$f" "JFR profile of the $role braidd during Braid randwrite-qd16 ($f)"
      else
        echo "block-bench: no JFR recording of the $role (see $work/results/jfr-$role.log)" >&2
      fi
    done
  fi
fi

if [ -n "${want[resync]:-}" ]; then
  echo
  log "resync: ping-timeout 2 s, kill -9 the secondary ${hosts[$si]} (pid ${braidd_pid[$si]})"
  braid volume set "$vol" network.ping-timeout 2 >/dev/null
  before_kind="$(braid_json volume status "$vol" detail | pyq "(([b for b in d['volumes'][0]['bricks'] if b['name']=='$secondary_brick'][0].get('lastResync')) or {}).get('kind','none')")"
  ours "${braidd_pid[$si]}" || die "the secondary braidd is no longer running"
  kill -KILL "${braidd_pid[$si]}"
  wait "${braidd_pid[$si]}" 2>/dev/null || true
  unset "braidd_pid[$si]"
  log "writing $dirty_ios random 4 KiB blocks (1% of the volume, random data) through the primary"
  t0=$(date +%s.%N)
  run_fio braid dirty --rw=randwrite --bs=4k --iodepth=16 --number_ios="$dirty_ios" --refill_buffers \
    --randrepeat=0 || die "the dirtying writes failed"
  log "written in $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s (includes noticing the lost secondary)"
  sleep 1
  heal="$(braid_json volume heal "$vol" info)"
  echo "$heal" >"$work/results/heal-info.json"
  dirty="$(pyq "sum(b['outOfSyncBytes'] for b in d['bricks'])" <<<"$heal")"
  log "heal info: $dirty bytes out of sync"
  log "restarting the secondary ${hosts[$si]}"
  t_restart=$(date +%s.%N)
  start_braidd "$si" restart
  resynced() {
    braid_json volume status "$vol" detail >"$work/results/status-detail.json" || return 1
    pyq "'ok' if [b for b in d['volumes'][0]['bricks'] if b['name']=='$secondary_brick' and b['state']=='UpToDate' and b.get('lastResync') and b['lastResync']['kind']=='partial'] else ''" \
      <"$work/results/status-detail.json" | grep -q ok
  }
  wait_for 120 "the secondary UpToDate after a partial resync" resynced
  t_done=$(date +%s.%N)
  verify=""
  if verify_json="$(timeout 120 "$dist/bin/braid" --remote-host "${hosts[2]}" --mode=script --json volume verify "$vol" 2>&1)"; then
    verify="$(pyq "f\"{d['bytesCompared']} bytes compared, {len(d['differing'])} differing ranges\"" <<<"$verify_json")"
  else
    verify="failed: $verify_json"
  fi
  echo
  python3 - "$work/results/status-detail.json" "$secondary_brick" "$dirty" "$t_restart" "$t_done" "$dirty_ios" "$before_kind" "$verify" <<'PY'
import json, sys
st, brick, dirty, t0, t1, ios, before, verify = sys.argv[1:]
dirty = int(dirty)
b = [b for b in json.load(open(st))["volumes"][0]["bricks"] if b["name"] == brick][0]
r = b["lastResync"]
print("Resync of the secondary after kill -9, 1% of the volume rewritten while it was down")
print(f"  written while down     : {int(ios)} x 4 KiB random blocks = {int(ios) * 4096} bytes")
print(f"  dirty (heal info)      : {dirty} bytes")
print(f"  resync kind            : {r['kind']} (before: {before})")
print(f"  bytes sent             : {r['bytes']}")
print(f"  sent / dirty           : {r['bytes'] / dirty:.3f} (goal <= 1.1)" if dirty else "  sent / dirty           : n/a (nothing dirty)")
print(f"  resync seconds         : {r['seconds']:.3f}")
print(f"  resync MB/s            : {dirty / 1e6 / r['seconds']:.1f} (dirty bytes / resync seconds)" if r["seconds"] > 0 else "  resync MB/s            : n/a")
print(f"  restart to UpToDate    : {float(t1) - float(t0):.1f} s (JVM start, pool rejoin, handshake, resync, CLI polling)")
print(f"  volume verify          : {verify}")
PY
fi

echo
log "warnings and errors in the daemons' logs:"
found=0
for i in 0 1 2; do
  f="$work/s$i/log/braidd.log"
  [ -f "$f" ] || continue
  # Ratis's log appender warns for every heartbeat it cannot deliver to the killed secondary
  ratis="$(grep -cE ' (WARN|ERROR) .*GrpcLogAppender' "$f" || true)"
  n="$(grep -E ' (WARN|ERROR) ' "$f" | grep -cv 'GrpcLogAppender' || true)"
  if [ "$ratis" -gt 0 ]; then
    found=1
    echo "  ${hosts[$i]}: $ratis Ratis GrpcLogAppender warnings (expected while the killed secondary is down)"
  fi
  if [ "$n" -gt 0 ]; then
    found=1
    echo "  ${hosts[$i]}: $n other lines, first ones:"
    awk '/ (WARN|ERROR) / && !/GrpcLogAppender/ && n++ < 5' "$f" | cut -c1-220 | sed 's/^/    /'
  fi
done
[ "$found" = 1 ] || echo "  none"
