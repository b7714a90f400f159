# ProcessPrng for wine 8.0, which has no bcryptprimitives.dll: Go's windows
# runtime needs it to start. BOOL ProcessPrng(PBYTE data, SIZE_T len) fills
# data from the system RNG and always returns TRUE; here it calls
# BCryptGenRandom(NULL, data, len, BCRYPT_USE_SYSTEM_PREFERRED_RNG).
# Windows x64 calling convention: arguments in rcx, rdx, r8, r9; 32 bytes of
# shadow space and a 16-byte aligned stack at the call.
# hack/tools.sh dist links it, with bcrypt.def and bcryptprimitives.def, into
# bcryptprimitives.dll with mingw's binutils, for Debian's wine 8.0.
	.text
	.globl ProcessPrng
ProcessPrng:
	subq $40, %rsp
	movq %rdx, %r8
	movq %rcx, %rdx
	xorl %ecx, %ecx
	movl $2, %r9d
	call *__imp_BCryptGenRandom(%rip)
	movl $1, %eax
	addq $40, %rsp
	ret

# The DLL's entry point: nothing to set up.
	.globl DllMain
DllMain:
	movl $1, %eax
	ret
