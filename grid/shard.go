package grid

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is a part I of N of a plan (1 <= I <= N). The zero Shard is the
// whole plan.
type Shard struct{ Index, Count int }

// ParseShard parses "I/N".
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	i, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || count < 1 || index < 1 || index > count {
		return Shard{}, fmt.Errorf("shard %q must be I/N with 1 <= I <= N", s)
	}
	return Shard{Index: index, Count: count}, nil
}

// Has tells whether the n-th kernel (0-based, in plan order) belongs to the
// shard. Kernels are dealt round-robin, so shard sizes differ by at most one
// kernel and all builds of a kernel stay in one shard.
func (s Shard) Has(n int) bool {
	return s.Count <= 1 || n%s.Count == s.Index-1
}

func (s Shard) String() string {
	if s.Count == 0 {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
