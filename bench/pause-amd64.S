/* pause written by hand in x86_64 assembly: the behaviour of src/main.rs, call for call and
 * byte for byte on stdout and stderr, linked by the same script (linker/pause.ld) and stripped
 * the same way. Not shipped: `just bench` builds it as a peer, to show how many bytes the
 * compiler costs us and how small an amd64 pause with this behaviour can be at all. */
	.intel_syntax noprefix

/* Data first: in Intel syntax a symbol not yet defined is read as a memory operand, so the
 * lengths must be known before `push warning_len` and the like. */
	.section .rodata
action:	.quad on_signal, 0x04000001, restore_rt, 0   /* SA_RESTORER | SA_NOCLDSTOP */
signals: .byte 2, 15, 17
version: .ascii "pause 0.1.0\n"
	.set version_len, . - version
warning: .ascii "Warning: pause should be the first process\n"
	.set warning_len, . - warning
error:	.ascii "Error: infinite loop terminated\n"
	.set error_len, . - error
interrupt: .ascii "Shutting down, got signal: Interrupt\n"
	.set interrupt_len, . - interrupt
terminated: .ascii "Shutting down, got signal: Terminated\n"

	.text
/* The signal-return trampoline (SA_RESTORER): rt_sigreturn. */
restore_rt:
	push 15
	pop rax
	syscall

	.globl _start
_start:
	pop rcx                 /* argc */
	pop rsi                 /* argv[0], skipped (NULL when argc is 0) */
	jrcxz .Lstart
.Lnext_arg:                     /* any argv[i] == "-v", case-insensitive: the version */
	dec ecx
	jz .Lstart
	pop rsi
	cmp byte ptr [rsi], '-'
	jne .Lnext_arg
	mov al, [rsi + 1]
	or al, 0x20
	cmp al, 'v'
	jne .Lnext_arg
	cmp byte ptr [rsi + 2], 0
	jne .Lnext_arg
	push 1                  /* write(1, version) */
	pop rax
	mov edi, eax
	mov esi, offset version
	push version_len
	pop rdx
	syscall
	xor edi, edi
	jmp .Lexit

.Lstart:
	push 39                 /* getpid() == 1, or the warning */
	pop rax
	syscall
	dec eax
	jz .Lpid1
	push 2
	pop rdi
	mov esi, offset warning
	push warning_len
	pop rdx
	push 1
	pop rax
	syscall
.Lpid1:
	mov esi, offset action  /* rt_sigaction(SIGINT, SIGTERM, SIGCHLD): exit 1, 2, 3 */
	xor edx, edx
	push 8
	pop r10
	xor ebx, ebx
.Lnext_signal:
	movzx edi, byte ptr [signals + rbx]
	inc ebx
	push 13
	pop rax
	syscall
	test rax, rax
	js .Lfailed
	cmp bl, 3
	jne .Lnext_signal

.Lsleep:                        /* pause() until it fails other than with EINTR */
	push 34
	pop rax
	syscall
	cmp eax, -4
	je .Lsleep
	push 2
	pop rdi
	mov esi, offset error
	push error_len
	pop rdx
	push 1
	pop rax
	syscall
	push 42
	pop rbx
.Lfailed:
	mov edi, ebx
.Lexit:
	mov eax, 231            /* exit_group */
	syscall

/* The one handler: SIGCHLD reaps every zombie; SIGINT and SIGTERM say so and exit 0. */
on_signal:
	cmp edi, 17
	jne .Lshutdown
.Lreap:
	push 61                 /* wait4(-1, NULL, WNOHANG, NULL) while it returns a pid */
	pop rax
	push -1
	pop rdi
	xor esi, esi
	push 1
	pop rdx
	xor r10d, r10d
	syscall
	test eax, eax
	jg .Lreap
	ret
.Lshutdown:
	mov esi, offset interrupt
	push interrupt_len
	pop rdx
	cmp edi, 2
	je 1f
	mov esi, offset terminated
	inc edx
1:	push 2
	pop rdi
	push 1
	pop rax
	syscall
	xor edi, edi
	jmp .Lexit

	.section .note.GNU-stack, "", @progbits
