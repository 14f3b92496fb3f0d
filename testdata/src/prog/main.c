/* Entry point: calls into every other file, so ThinLTO imports small
 * functions from them and has to promote the statics those reference. */
#include <stdio.h>

int util_compute(int x);
int util_counter_value(void);
int util_branchy(int x);
int util_mix(int x, int mode);
int util_mix_all(int x);
int helper_a(int x);
int helper_b(int x);
int alias_public(int x);
int alias_use_private(int x);
int asm_caller(int x);
typedef int (*op_fn)(int);
op_fn util_get_op(void);

int main(int argc, char **argv) {
  (void)argv;
  int r = util_compute(argc);
  r += helper_a(argc) + helper_b(argc);
  r += util_get_op()(argc);
  r += util_branchy(argc) + util_branchy(argc + 7);
  r += alias_public(argc) + alias_use_private(argc);
  r += asm_caller(argc);
  r += util_mix(argc, 0) + util_mix(argc, 1) + util_mix_all(argc);
  printf("result %d counter %d\n", r, util_counter_value());
  return 0;
}
