package grid

import (
	"testing"

	"github.com/falcosecurity/dbg/config"
)

func loadRepo(t testing.TB) ([]*config.Kernel, *config.DriverVersions) {
	t.Helper()
	kernels, probs, err := config.Load(t.Context(), "../kernels")
	if err != nil || len(probs) > 0 {
		t.Fatalf("load kernels: %v %v", err, probs)
	}
	dv, err := config.LoadDriverVersions("../kernels/driverversions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return kernels, dv
}

// The plan is exactly kernels × window × each version's kinds, minus probes
// for kernels too old for them.
func TestPlanIsKernelsTimesWindowTimesKinds(t *testing.T) {
	kernels, dv := loadRepo(t)
	plan, err := Plan(kernels, dv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, k := range kernels {
		for _, v := range dv.Newest() {
			for _, kind := range v.Kinds {
				if kind == config.Module || k.SupportsProbe() {
					want++
				}
			}
		}
	}
	if len(plan) != want || want < 2*len(kernels) {
		t.Fatalf("plan has %d entries, want %d (for %d kernels)", len(plan), want, len(kernels))
	}
	seen := map[string]bool{}
	for _, e := range plan {
		if seen[e.Key] {
			t.Errorf("key %s planned twice", e.Key)
		}
		seen[e.Key] = true
		if e.Kind == config.Probe && !e.Kernel.SupportsProbe() {
			t.Errorf("probe planned for %s", e.KernelRelease)
		}
	}
}

func TestShardsPartitionThePlan(t *testing.T) {
	kernels, dv := loadRepo(t)
	whole, err := Plan(kernels, dv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 7; n++ {
		owner := map[string]int{}       // key -> shard
		kernelShard := map[string]int{} // config -> shard
		minK, maxK := len(kernels), 0
		for i := 1; i <= n; i++ {
			part, err := Plan(kernels, dv, Options{Shard: Shard{i, n}})
			if err != nil {
				t.Fatal(err)
			}
			ks := map[string]bool{}
			for _, e := range part {
				if prev, ok := owner[e.Key]; ok {
					t.Fatalf("n=%d: %s in shards %d and %d", n, e.Key, prev, i)
				}
				owner[e.Key] = i
				if s, ok := kernelShard[e.Config]; ok && s != i {
					t.Fatalf("n=%d: kernel %s split over shards %d and %d", n, e.Config, s, i)
				}
				kernelShard[e.Config] = i
				ks[e.Config] = true
			}
			minK, maxK = min(minK, len(ks)), max(maxK, len(ks))
		}
		if len(owner) != len(whole) {
			t.Errorf("n=%d: shards hold %d entries, the plan %d", n, len(owner), len(whole))
		}
		if maxK-minK > 1 {
			t.Errorf("n=%d: uneven shards: %d to %d kernels", n, minK, maxK)
		}
	}
}

func TestPatterns(t *testing.T) {
	p, err := ParsePattern("ubuntu-*, debian")
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"ubuntu-aws": true, "debian": true, "debian-x": false, "centos": false} {
		if p.Match(s) != want {
			t.Errorf("%q match %s = %v", p, s, !want)
		}
	}
	for _, bad := range []string{"[a", "a,,b"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, bad := range []string{"0/2", "3/2", "1/0", "a/b", "1", "-1/2"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("shard %q accepted", bad)
		}
	}
	if s, err := ParseShard("2/5"); err != nil || s != (Shard{2, 5}) {
		t.Errorf("2/5 = %v %v", s, err)
	}
}
