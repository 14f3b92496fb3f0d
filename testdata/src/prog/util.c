/* Statics used across modules once small callers are imported. */
static int counter;                           /* mutable, read and written */
static const int table[4] = {1, 2, 3, 4};     /* read-only */

__attribute__((noinline)) static int square(int x) {
  counter++;
  return x * x + table[x & 3];
}

/* In an explicit section: LLVM does not promote or import across this. */
__attribute__((noinline, section(".text.bcrename_special"))) static int special(int x) {
  return x ^ 0x5a;
}

__attribute__((noinline)) static int op_add(int x) { return x + 7; }

/* Several returns: when inlined, the inliner labels the join block
 * "<callee>.exit", which copies a promoted name into a local name. */
static int classify(int x) {
  if (x > 5) { counter += 2; return x - 5; }
  if (x < 0) return -x;
  counter += 1;
  return x * 2;
}

int util_compute(int x) { return square(x) + special(x); }
int util_counter_value(void) { return counter; }
int util_branchy(int x) { return classify(x) + classify(x + 1) + square(x); }

typedef int (*op_fn)(int);
op_fn util_get_op(void) { return op_add; }

/* Too big to inline where the mode is unknown (two callers here), small
 * enough to import: in an importer that passes a constant mode the backend
 * inlines the imported copy, and the inliner's labels ("mix.llvm.<n>.exit")
 * carry the promoted name into function-local names. */
static int mix(int x, int mode) {
  switch (mode) {
  case 0:
    if (x > 100) return x / 3;
    return x * 7 + 1;
  case 1:
    counter += x;
    return ((x << 3) ^ (x >> 2) ^ 0x1234) * (x | 3) / (x + 9);
  case 2:
    return (x * 31 + 17) % 1009 + (x & 0xff) * 3 - (x | 0x10) + (x ^ 0x77) * (x % 13);
  case 3:
    return (x * 37 + 19) % 1013 + (x & 0xf0) * 5 - (x | 0x20) + (x ^ 0x55) / (x % 11 + 1);
  default:
    counter -= x;
    return ((x * 13) ^ (x >> 4)) + ((x * 7) & 0x3f) + ((x + 5) % 97) - (x & 1) + x / (x % 7 + 1);
  }
}
int util_mix(int x, int mode) { return mix(x, mode); }
int util_mix_all(int x) { return mix(x, x & 3) + mix(x, 4); }
