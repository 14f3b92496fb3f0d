#!/usr/bin/env python3
"""Writes a synthetic C program of N modules for benchmarks (and for the
test large_modules_are_planned_from_their_tables_alone in tests/rename.rs).

Every module has static helpers that its exported functions call, and calls
exported functions of other modules, so ThinLTO imports across modules and
promotes the statics: the backends' bitcode is full of `.llvm.<hash>` names,
like a real large program's.

Usage: corpus.py DIR N [FUNCS_PER_MODULE]
"""
import os
import sys


def module(i, n, funcs):
    out = [f"/* generated module {i} of {n} */"]
    out.append(f"static int state_{i};")
    for f in range(funcs):
        out.append(
            f"__attribute__((noinline)) static int helper_{i}_{f}(int x) "
            f"{{ state_{i} += x; return x * {f + 3} + {i}; }}"
        )
    for f in range(funcs):
        callee = (i + f + 1) % n
        out.append(f"int api_{callee}_{f}(int x);")
    for f in range(funcs):
        callee = (i + f + 1) % n
        out.append(
            f"int api_{i}_{f}(int x) {{ return helper_{i}_{f}(x) + (x > {f} ? 0 : api_{callee}_{f}(x + 1)); }}"
        )
    return "\n".join(out) + "\n"


def main():
    d, n = sys.argv[1], int(sys.argv[2])
    funcs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        with open(os.path.join(d, f"m{i}.c"), "w") as f:
            f.write(module(i, n, funcs))
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write("int api_0_0(int x);\nint main(int argc, char **argv) { (void)argv; return api_0_0(argc) & 1; }\n")


if __name__ == "__main__":
    main()
