#!/usr/bin/env bash
# Regenerates the committed bitcode under testdata/clang-<V>/ from the C and
# C++ sources under testdata/src/, with clang and lld 14, 16 and 19, through
# the real ThinLTO pipelines:
#
#   prelink/       clang -flto=thin -c            (summary, HASH, symbol table)
#   inprocess/     lld --save-temps stages 1.promote, 3.import, 5.precodegen
#   distributed/   ld.lld --thinlto-index-only    (X.o.thinlto.bc, next to
#                  copies of the prelink objects) and the backends' optimised
#                  bitcode X.bc (clang -fthinlto-index=... -emit-llvm), with
#                  value names kept so that inlined labels carry promoted
#                  names into function-local symbol tables
#   srcname/       like inprocess, linked with LLVM's own
#                  -use-source-filename-for-promoted-locals (16 and 19 only):
#                  the reference for --policy source-filename
#   darwin/        a Mach-O target object: bitcode inside the wrapper header
#   asmref/        module asm that names a promoted symbol
#   partition/     two modules built with -fsymbol-partition=part_a and
#                  part_b, joined by llvm-link: globals of two partitions
#
# Programs: prog (C, plain ThinLTO) and cfi (C++ and C with -fsanitize=cfi,
# which splits each LTO unit into two modules in one file). Every program is
# linked and run; its output is kept as expected.txt.
#
# Usage: testdata/build.sh [VERSION...]    (default: 14 16 19)
# Needs: clang-V and lld-V (Debian: apt-get install clang-V lld-V).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(14 16 19)

# The same flags for every version; relative source paths keep
# source_filename independent of where the repository is checked out.
common=(-O2 -flto=thin)
declare -A prog_sources=(
  [prog]="main.c util.c a/helper.c b/helper.c alias.c asm.c"
  [cfi]="main.cpp shapes.cpp icall.c"
)
declare -A prog_flags=(
  [prog]="-g"
  [cfi]="-fsanitize=cfi -fvisibility=hidden -fno-sanitize-trap=all -fsanitize-trap=cfi"
)

build_one() {
  local v=$1 prog=$2
  local cc=clang-$v cxx=clang++-$v out=$here/clang-$v/$prog work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  cp -r "$here/src/$prog/." "$work/"
  # shellcheck disable=SC2206
  local srcs=(${prog_sources[$prog]}) flags=(${prog_flags[$prog]}) objs=()
  (
    cd "$work"
    for s in "${srcs[@]}"; do
      local o=${s%.*}.o
      "$cc" "${common[@]}" -fno-ident "${flags[@]}" -c "$s" -o "$o"
      objs+=("$o")
    done

    # Keep a pristine copy of the pre-link objects for every stage directory.
    mkdir -p pre && for o in "${objs[@]}"; do mkdir -p "pre/$(dirname "$o")"; cp "$o" "pre/$o"; done

    # In-process ThinLTO.
    "$cxx" "${common[@]}" "${flags[@]}" -fuse-ld=lld -Wl,--save-temps "${objs[@]}" -o prog.inprocess
    ./prog.inprocess > expected.txt

    # LLVM's own source-file-name suffixes (LLVM 16+).
    if [ "$v" -ge 16 ]; then
      mkdir -p sn && (cd pre && tar cf - .) | (cd sn && tar xf -)
      (cd sn && "$cxx" "${common[@]}" "${flags[@]}" -fuse-ld=lld -Wl,--save-temps \
          -Wl,-mllvm,-use-source-filename-for-promoted-locals "${objs[@]}" -o prog.srcname \
        && ./prog.srcname > expected.txt && cmp expected.txt ../expected.txt)
    fi

    # Distributed ThinLTO.
    mkdir -p dist && (cd pre && tar cf - .) | (cd dist && tar xf -)
    (
      cd dist
      "$cxx" "${common[@]}" "${flags[@]}" -fuse-ld=lld -Wl,--thinlto-index-only "${objs[@]}" -o prog.dist
      for o in "${objs[@]}"; do
        "$cc" -O2 -fno-discard-value-names -x ir "$o" -fthinlto-index="$o.thinlto.bc" -emit-llvm -c -o "${o%.o}.bc"
        "$cc" -O2 -fno-discard-value-names -x ir "$o" -fthinlto-index="$o.thinlto.bc" -c -o "${o%.o}.native.o"
      done
      # With CFI the thin link also needs the regular-LTO partition (the
      # merged type-id module), which --thinlto-index-only does not emit:
      # only the plain program is linked from its distributed backends.
      if [ "$prog" = prog ]; then
        native=(); for o in "${objs[@]}"; do native+=("${o%.o}.native.o"); done
        "$cxx" -fuse-ld=lld "${native[@]}" -o prog.dist
        ./prog.dist | cmp - ../expected.txt
      fi
    )
  )

  rm -rf "$out" && mkdir -p "$out"/{prelink,inprocess,distributed}
  cp "$work/expected.txt" "$out/"
  for o in $(cd "$work/pre" && find . -name '*.o' | sort); do
    o=${o#./}
    mkdir -p "$out/prelink/$(dirname "$o")" "$out/inprocess/$(dirname "$o")" "$out/distributed/$(dirname "$o")"
    cp "$work/pre/$o" "$out/prelink/$o"
    for stage in 1.promote 3.import 5.precodegen; do
      cp "$work/$o.$stage.bc" "$out/inprocess/$o.$stage.bc"
    done
    cp "$work/dist/$o" "$out/distributed/$o"
    cp "$work/dist/$o.thinlto.bc" "$out/distributed/$o.thinlto.bc"
    cp "$work/dist/${o%.o}.bc" "$out/distributed/${o%.o}.bc"
    if [ -d "$work/sn" ]; then
      mkdir -p "$out/srcname/$(dirname "$o")"
      cp "$work/sn/$o.5.precodegen.bc" "$out/srcname/$o.5.precodegen.bc"
    fi
  done
}

# Module asm naming a promoted symbol (not a program; bitcode only).
build_asmref() {
  local v=$1 out=$here/clang-$1/asmref
  mkdir -p "$out"
  (cd "$here/src/asmref" && "clang-$v" -O2 -fno-ident -c -emit-llvm asmref.c -o "$out/asmref.bc")
}

# Globals of two symbol partitions in one module (bitcode only).
build_partition() {
  local v=$1 out=$here/clang-$1/partition work
  work=$(mktemp -d)
  mkdir -p "$out"
  (
    cd "$here/src/prog"
    "clang-$v" "${common[@]}" -fno-ident -fsymbol-partition=part_a -c main.c -o "$work/main.o"
    "clang-$v" "${common[@]}" -fno-ident -fsymbol-partition=part_b -c util.c -o "$work/util.o"
    "llvm-link-$v" "$work/main.o" "$work/util.o" -o "$out/merged.bc"
  )
  rm -rf "$work"
}

build_darwin() {
  local v=$1 out=$here/clang-$1/darwin
  mkdir -p "$out"
  (cd "$here/src/prog" && "clang-$v" "${common[@]}" -fno-ident -target x86_64-apple-macosx11.0 -c a/helper.c -o "$out/helper.o")
}

for v in "${versions[@]}"; do
  command -v "clang-$v" >/dev/null || { echo "clang-$v not found (apt-get install clang-$v lld-$v)" >&2; exit 2; }
  for prog in prog cfi; do
    echo "building clang-$v/$prog" >&2
    build_one "$v" "$prog"
  done
  build_darwin "$v"
  build_asmref "$v"
  build_partition "$v"
done
echo "done: $(find "$here"/clang-* -type f | wc -l) files" >&2
