/* C++ with -fsanitize=cfi: virtual calls are checked, the LTO unit is
 * split, and each object file holds two modules. */
#include <cstdio>
#include "shapes.h"

namespace {
__attribute__((noinline)) int twice(int x) { return 2 * x; }
}

int main(int argc, char **) {
  Shape *s = make_square(argc + 1);
  Shape *r = make_rect(argc, 3);
  int total = s->area() + r->area() + shared_inline(argc) + twice(argc);
  total += icall_get(argc & 1)(argc) + icall_apply(0, argc);
  std::printf("total %d\n", total);
  delete s;
  delete r;
  return 0;
}
