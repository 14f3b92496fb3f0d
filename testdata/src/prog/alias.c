/* Aliases: a public alias of a static function, and a static alias used
 * through an importable wrapper (so the alias itself gets promoted). */
__attribute__((noinline)) static int impl(int x) { return x * 11 + 3; }
int alias_public(int x) __attribute__((alias("impl")));
static int alias_private(int x) __attribute__((alias("impl")));
int alias_use_private(int x) { return alias_private(x) + 1; }
