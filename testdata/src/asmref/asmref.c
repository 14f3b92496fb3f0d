/* Module asm that names a promoted symbol by its full name, as hand-written
 * asm (or a live patch) may: renaming that symbol would leave the asm stale. */
__asm__(".globl asmref_alias\n"
        ".set asmref_alias, counter.llvm.1234567890123\n");
extern int asmref_value(void);
int asmref_value(void) { return 42; }
