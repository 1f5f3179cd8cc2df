package config

import (
	"context"
	"fmt"
	"os"
)

// Prune removes, from dir/<arch>/, the configs of kernels of the given
// targets that keep does not hold: kernels the crawler no longer lists.
// Configs of other targets, and files that do not decode, are left alone.
// It returns the removed paths.
func Prune(ctx context.Context, dir string, arch Arch, targets map[string]bool, keep []*Kernel) ([]string, error) {
	kernels, _, err := Load(ctx, dir)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, k := range keep {
		ids[k.ID()] = true
	}
	var removed []string
	for _, k := range kernels {
		if k.Architecture != arch || !targets[k.Target] || ids[k.ID()] {
			continue
		}
		if err := os.Remove(k.Path); err != nil {
			return removed, fmt.Errorf("prune %s: %w", k.Path, err)
		}
		removed = append(removed, k.Path)
	}
	return removed, nil
}
