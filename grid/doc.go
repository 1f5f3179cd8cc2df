// Package grid turns configs into builds: the plan (kernels × driver
// versions × kinds, filtered and sharded), and, from there, fetching inputs,
// running builds, digests and the manifest.
package grid
