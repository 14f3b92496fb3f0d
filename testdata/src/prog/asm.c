/* Module-level inline asm that names a global of this file. */
__asm__(".globl bcrename_asm_entry\n"
        ".type bcrename_asm_entry,@function\n"
        "bcrename_asm_entry:\n"
        "  jmp asm_target\n");
__attribute__((noinline)) int asm_target(int x) { return x + 100; }
__attribute__((noinline)) static int asm_local(int x) { return x + 1000; }
int asm_caller(int x) { return asm_local(x) - 1000 + asm_target(0) - 100; }
