/* Same file name and same static name as a/helper.c. */
__attribute__((noinline)) static int scale(int x) { return x * 5; }
int helper_b(int x) { return scale(x) + 2; }
