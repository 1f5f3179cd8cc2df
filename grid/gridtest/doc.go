// Package gridtest is the local lab that dbg's tests and the quickstart
// share: real Debian kernel header packages (downloaded once by
// deploy/quickstart/fetch-debian-headers.sh into a cache), the miniature
// driver source (deploy/minidriver) and, with AddLibs, the real driver
// sources (falcosecurity/libs tarballs from a folder such as
// ../shared/data/libs, see FindLibsDir, served in place and checked against
// their SHA256SUMS), served from a loopback HTTP server, and config dirs
// whose kernelurls and driver source point at that server. No package
// mirror is named anywhere: apt finds the headers with its own
// configuration, and the grid downloads them from 127.0.0.1.
//
// It also reads what the grid builds: the vermagic of a kernel module and
// whether an object is an eBPF probe, with debug/elf (no modinfo needed).
package gridtest
