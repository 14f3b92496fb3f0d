/* Module asm that names a promoted symbol by its full name, as hand-written
 * asm (or a live patch) may: renaming that symbol would leave the asm stale.
 * Inline asm in a function names a plain global the same way. */
__asm__(".globl asmref_alias\n"
        ".set asmref_alias, counter.llvm.1234567890123\n");
extern int asmref_value(void);
int asmref_value(void) { return 42; }
void asmref_caller(void) { __asm__ volatile("call asmref_value" ::: "memory"); }
