// Package config is dbg's model of what to build: the per-kernel configs under
// kernels/<arch>/, their strict decoding and validation, the driver versions
// and their build window, and the names (file names, object keys) that
// consumers such as falcoctl compute. Everything that turns a config value
// into a name lives here, in naming.go.
package config
