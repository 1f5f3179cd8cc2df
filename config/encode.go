package config

import (
	"bytes"

	"gopkg.in/yaml.v3"
)

// Encode writes a kernel config deterministically: keys in a fixed order,
// kernelurls as given (callers sort them), two-space indent.
func Encode(k *Kernel) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(k); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
