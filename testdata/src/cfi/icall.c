/* C with -fsanitize=cfi-icall: address-taken statics get jump-table
 * entries, named "<promoted name>.cfi" in the module that defines them. */
typedef int (*cb_fn)(int);
__attribute__((noinline)) static int cb_inc(int x) { return x + 1; }
__attribute__((noinline)) static int cb_neg(int x) { return -x; }
cb_fn icall_get(int which) { return which ? cb_neg : cb_inc; }
int icall_apply(int which, int x) { return icall_get(which)(x); }
