/* The floor of the exec-to-exit timing: a static x86_64 ELF that makes one system call,
 * exit_group(0). Whatever a peer's time exceeds this by is its own startup and exit.
 * Built by `just bench` with gcc -nostdlib -static. */
void _start(void) {
	__asm__ volatile("syscall" : : "a"(231), "D"(0));
	__builtin_unreachable();
}
