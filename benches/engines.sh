#!/usr/bin/env bash
# Benchmark: bcrename's native engine against the LLVM engine, `cp -r` of
# the same files (the floor) and `llvm-dis | llvm-as` per module, on a
# generated corpus of ThinLTO backend bitcode.
#
# Usage: [BENCH_DIR=DIR] [PAIRS=N] [CFLAGS=...] benches/engines.sh [MODULES] [FUNCS_PER_MODULE]
#        (default 200 40; PAIRS, default 21: paired copy-and-rename rounds;
#        CFLAGS, default none: more clang flags for the corpus, e.g. -g)
# Needs: clang-19, lld-19, llvm-19 (installed by scripts/test.sh) and
# bc; builds bcrename --release --features llvm.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-200}
funcs=${2:-40}
# BENCH_DIR chooses where the corpus and the outputs live (default: the
# system's temporary directory). On a tmpfs such as /dev/shm, `cp -r` is a
# memory copy; on a disk file system it also pays for creating inodes,
# which varies with the file system's state.
work=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}")
trap 'rm -rf "$work"' EXIT

echo "building bcrename (release, --features llvm)" >&2
(cd "$here" && LLVM_SYS_191_PREFIX=${LLVM_SYS_191_PREFIX:-/usr/lib/llvm-19} cargo build -q --release --features llvm)
bin=$here/target/release/bcrename

echo "generating and compiling $n modules x $funcs functions" >&2
python3 "$here/benches/corpus.py" "$work/src" "$n" "$funcs"
cd "$work/src"
# A shared library keeps every exported function alive, so ThinLTO imports
# across modules and promotes their statics. (Paths in the index must be
# spelled as the backends are invoked: no ./ prefix.)
# (CFLAGS split into words on purpose: several flags may be given.)
# shellcheck disable=SC2086
ls *.c | xargs -P "$(nproc)" -I{} clang-19 -O2 ${CFLAGS:-} -fPIC -flto=thin -c {} -o {}.o
clang-19 -shared -flto=thin -fuse-ld=lld-19 -Wl,--thinlto-index-only *.c.o -o libcorpus.so
mkdir -p "$work/corpus"
# shellcheck disable=SC2086
ls *.c.o | xargs -P "$(nproc)" -I{} clang-19 -O2 ${CFLAGS:-} -fPIC -fno-discard-value-names -x ir {} -fthinlto-index={}.thinlto.bc -emit-llvm -c -o "$work/corpus/{}.bc"
cd "$work"
files=$(ls corpus | wc -l)
bytes=$(du -sb corpus | cut -f1)
promoted=$("$bin" scan corpus | tail -1)

once() { # seconds for one run of a command, into a fresh out/
  # The previous run's files are removed and written back first, so that
  # their writeback does not fall into this run's time.
  rm -rf out; sync; local s e
  s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
  echo "$e - $s" | bc
}
min() { if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc)" = 1 ]; then echo "$2"; else echo "$1"; fi; }
dis_as() { mkdir -p out; for f in corpus/*.bc; do llvm-dis-19 "$f" -o - | llvm-as-19 -o "out/$(basename "$f")"; done; }

# The fast commands are timed in interleaved rounds, best of 5 each, so a
# change in the machine's state (writeback of earlier runs) weighs on all
# of them alike; the slow round trip through text is timed once.
cp_s=""; native_s=""; native1_s=""; llvm_s=""
for _ in 1 2 3 4 5; do
  cp_s=$(min "$cp_s" "$(once cp -r corpus out)")
  native_s=$(min "$native_s" "$(once "$bin" rename --policy source-filename --out-dir out corpus)")
  native1_s=$(min "$native1_s" "$(once "$bin" rename --policy source-filename --jobs 1 --out-dir out corpus)")
  llvm_s=$(min "$llvm_s" "$(once "$bin" rename --engine llvm --policy source-filename --out-dir out corpus)")
done
# Paired rounds: each native rename timed right after a copy, and the
# ratio of the two taken per round. On a machine whose speed drifts from
# one run to the next, the median of those ratios says more about "within
# N times cp -r" than the best runs alone.
pairs=${PAIRS:-21}
ratios=(); copies=(); renames=()
for _ in $(seq "$pairs"); do
  c=$(once cp -r corpus out)
  r=$(once "$bin" rename --policy source-filename --out-dir out corpus)
  ratios+=("$(echo "$r / $c" | bc -l)"); copies+=("$c"); renames+=("$r")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
spread() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "%.2fx to %.2fx", a[1], a[NR] }'; }
ratio=$(median "${ratios[@]}")
paired=$(printf 'median %.2fx (%s); median times: cp -r %.3f s, rename %.3f s' \
  "$ratio" "$(spread "${ratios[@]}")" "$(median "${copies[@]}")" "$(median "${renames[@]}")")
disas_s=$(once dis_as)
for v in cp_s native_s native1_s llvm_s disas_s; do printf -v "$v" '%.3f' "${!v}"; done

rss() { # peak resident set of one native rename, in MiB
  rm -rf out
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' "$bin" rename --policy source-filename --out-dir out corpus 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}'
  else
    echo "n/a (install GNU time)"
  fi
}
largest=$(ls -S corpus); largest=${largest%%$'\n'*}
rss_mib=$(rss)

echo "corpus: $files files, $bytes bytes (largest $(stat -c %s "corpus/$largest") bytes; CFLAGS: ${CFLAGS:-none}); scan: $promoted"
echo "peak memory of a native rename: $rss_mib MiB"
# The file system the files are on (the last mount over it is the one in
# effect; stat calls ext4 ext2/ext3).
fs=$(findmnt -n -o FSTYPE --target "$work" 2>/dev/null | tail -1 || true)
[ -n "$fs" ] || fs=$(stat -f -c %T "$work")
echo "machine: $(nproc) cores; files on $fs"
printf '%-36s %8s %8s\n' "what" "seconds" "x cp -r"
for row in "cp -r:$cp_s" "bcrename native (all cores):$native_s" "bcrename native (--jobs 1):$native1_s" "bcrename --engine llvm (all cores):$llvm_s" "llvm-dis | llvm-as per module:$disas_s"; do
  name=${row%%:*}; s=${row##*:}
  printf '%-36s %8s %8.1f\n' "$name" "$s" "$(echo "$s / $cp_s" | bc -l)"
done
echo "native / cp -r in $pairs paired rounds: $paired"
# The project's speed target: a rename of the whole set within 3x of
# copying it, judged by the paired rounds' median.
verdict="not met"; [ "$(echo "$ratio <= 3" | bc -l)" = 1 ] && verdict=met
echo "speed target (native within 3x of cp -r, paired median): $verdict"
