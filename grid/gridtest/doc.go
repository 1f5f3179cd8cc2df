// Package gridtest is the local lab that dbg's tests and the quickstart
// share: real Debian kernel header packages (downloaded once by
// deploy/quickstart/fetch-debian-headers.sh into a cache) and the miniature
// driver source (deploy/minidriver), served from a loopback HTTP server, and
// a config dir whose kernelurls and driver source point at that server. No
// package mirror is named anywhere: apt finds the headers with its own
// configuration, and the grid downloads them from 127.0.0.1.
//
// It also reads what the grid builds: the vermagic of a kernel module and
// whether an object is an eBPF probe, with debug/elf (no modinfo needed).
package gridtest
