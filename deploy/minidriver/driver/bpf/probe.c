// SPDX-License-Identifier: GPL-2.0
/*
 * minidriver probe: a tiny eBPF object standing in for the Falco legacy probe
 * in tests. One raw tracepoint program that does nothing, plus the "license",
 * "version", "probe_version" and "kernel_version" sections loaders look for. Self-contained on purpose: no
 * kernel or libbpf headers.
 */
#define SEC(name) __attribute__((section(name), used))

struct raw_tracepoint_args {
	unsigned long long args[0];
};

SEC("raw_tracepoint/sys_enter")
int minidriver_sys_enter(struct raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int minidriver_sys_exit(struct raw_tracepoint_args *ctx)
{
	return 0;
}

char minidriver_license[] SEC("license") = "GPL";
unsigned int minidriver_kernel_version SEC("version") = KERNEL_VERSION_CODE;
char minidriver_probe_name[] SEC("probe_name") = PROBE_NAME;
char minidriver_probe_version[] SEC("probe_version") = PROBE_VERSION;
/* The kernel's `uname -r`, as libs' probe records it (libscap compares it
 * with the running kernel). */
char minidriver_kernel_release[] SEC("kernel_version") = KERNEL_RELEASE;
