/* Same file name and same static name as b/helper.c. */
__attribute__((noinline)) static int scale(int x) { return x * 3; }
int helper_a(int x) { return scale(x) + 1; }
