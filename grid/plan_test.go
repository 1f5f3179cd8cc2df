package grid

import (
	"strings"
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
// for kernels too old for them: kernels in config-path order, then driver
// versions newest first, then kinds. The entries are written out by hand.
func TestPlanIsKernelsTimesWindowTimesKinds(t *testing.T) {
	kernels := threeKernels()
	plan, err := Plan(kernels, twoVersions(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const (
		al2 = "k/aarch64/amazonlinux2_4.14.1-1.amzn2.aarch64_1.yaml"
		deb = "k/x86_64/debian_6.1.2-1-amd64_1.yaml"
		ubu = "k/x86_64/ubuntu-generic_5.15.0-3-generic_3.yaml"
	)
	want := []planRow{
		// 4.14 on arm64 is too old for the probe (4.17)
		{"2.0.0+driver", "aarch64", "amazonlinux2", "4.14.1-1.amzn2.aarch64", "1", config.Module,
			"falco_amazonlinux2_4.14.1-1.amzn2.aarch64_1.ko", "driver/2.0.0+driver/aarch64/falco_amazonlinux2_4.14.1-1.amzn2.aarch64_1.ko", al2},
		{"1.0.0+driver", "aarch64", "amazonlinux2", "4.14.1-1.amzn2.aarch64", "1", config.Module,
			"falco_amazonlinux2_4.14.1-1.amzn2.aarch64_1.ko", "driver/1.0.0+driver/aarch64/falco_amazonlinux2_4.14.1-1.amzn2.aarch64_1.ko", al2},
		{"2.0.0+driver", "x86_64", "debian", "6.1.2-1-amd64", "1", config.Module,
			"falco_debian_6.1.2-1-amd64_1.ko", "driver/2.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko", deb},
		{"1.0.0+driver", "x86_64", "debian", "6.1.2-1-amd64", "1", config.Module,
			"falco_debian_6.1.2-1-amd64_1.ko", "driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko", deb},
		{"1.0.0+driver", "x86_64", "debian", "6.1.2-1-amd64", "1", config.Probe,
			"falco_debian_6.1.2-1-amd64_1.o", "driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.o", deb},
		{"2.0.0+driver", "x86_64", "ubuntu-generic", "5.15.0-3-generic", "3", config.Module,
			"falco_ubuntu-generic_5.15.0-3-generic_3.ko", "driver/2.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-3-generic_3.ko", ubu},
		{"1.0.0+driver", "x86_64", "ubuntu-generic", "5.15.0-3-generic", "3", config.Module,
			"falco_ubuntu-generic_5.15.0-3-generic_3.ko", "driver/1.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-3-generic_3.ko", ubu},
		{"1.0.0+driver", "x86_64", "ubuntu-generic", "5.15.0-3-generic", "3", config.Probe,
			"falco_ubuntu-generic_5.15.0-3-generic_3.o", "driver/1.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-3-generic_3.o", ubu},
	}
	if len(plan) != len(want) || len(want) < 2*len(kernels) {
		t.Fatalf("plan has %d entries, want %d (for %d kernels)", len(plan), len(want), len(kernels))
	}
	for i, e := range plan {
		if got := rowOf(e); got != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got, want[i])
		}
		if e.Kernel == nil || e.Kernel.Path != e.Config {
			t.Errorf("entry %d: not the kernel of %s", i, e.Config)
		}
	}
	checkPlanInvariants(t, plan)
}

// Over the repository's configs: no key is planned twice, no probe goes to
// a kernel too old for it, and every kernel gets at least the window's two
// modules.
func TestPlanOfTheRepository(t *testing.T) {
	kernels, dv := loadRepo(t)
	plan, err := Plan(kernels, dv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) < 2*len(kernels) {
		t.Fatalf("plan has %d entries for %d kernels", len(plan), len(kernels))
	}
	checkPlanInvariants(t, plan)
}

func checkPlanInvariants(t *testing.T, plan []Entry) {
	t.Helper()
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

// planRow is what an Entry says, without its pointers.
type planRow struct {
	DriverVersion, Arch, Target, KernelRelease, KernelVersion string
	Kind                                                      config.Kind
	File, Key, Config                                         string
}

func rowOf(e Entry) planRow {
	return planRow{e.DriverVersion, e.Arch, e.Target, e.KernelRelease, e.KernelVersion, e.Kind, e.File, e.Key, e.Config}
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

// planKeys lists the plan's keys, in plan order.
func planKeys(plan []Entry) []string {
	var out []string
	for _, e := range plan {
		out = append(out, e.Key)
	}
	return out
}

// threeKernels are three kernels in config-path order; the amazonlinux2
// arm64 one (4.14) is too old for the probe.
func threeKernels() []*config.Kernel {
	return []*config.Kernel{
		{Path: "k/aarch64/amazonlinux2_4.14.1-1.amzn2.aarch64_1.yaml", Target: "amazonlinux2", KernelRelease: "4.14.1-1.amzn2.aarch64", KernelVersion: "1", Architecture: config.ARM64},
		{Path: "k/x86_64/debian_6.1.2-1-amd64_1.yaml", Target: "debian", KernelRelease: "6.1.2-1-amd64", KernelVersion: "1", Architecture: config.AMD64},
		{Path: "k/x86_64/ubuntu-generic_5.15.0-3-generic_3.yaml", Target: "ubuntu-generic", KernelRelease: "5.15.0-3-generic", KernelVersion: "3", Architecture: config.AMD64},
	}
}

func twoVersions(t *testing.T) *config.DriverVersions {
	t.Helper()
	dv, probs := config.DecodeDriverVersions("dv.yaml", []byte(`versions:
  - {version: 2.0.0+driver, kinds: [module]}
  - {version: 1.0.0+driver, kinds: [module, probe]}
  - {version: 0.9.0+driver, kinds: [module, probe]}
`))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	return dv
}

// With --changed-since, Only keeps the changed configs, and AllKernels adds
// every kernel for the versions whose source changed.
func TestPlanAllKernelsBesideOnly(t *testing.T) {
	kernels, dv := threeKernels(), twoVersions(t)
	only := map[string]bool{"k/x86_64/debian_6.1.2-1-amd64_1.yaml": true}
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"only", Options{Only: only}, []string{
			"driver/2.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.o",
		}},
		{"only and 1.0.0 for all", Options{Only: only, AllKernels: map[string]bool{"1.0.0+driver": true}}, []string{
			"driver/1.0.0+driver/aarch64/falco_amazonlinux2_4.14.1-1.amzn2.aarch64_1.ko",
			"driver/2.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.o",
			"driver/1.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-3-generic_3.ko",
			"driver/1.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-3-generic_3.o",
		}},
		{"nothing changed but 2.0.0", Options{Only: map[string]bool{}, AllKernels: map[string]bool{"2.0.0+driver": true}}, []string{
			"driver/2.0.0+driver/aarch64/falco_amazonlinux2_4.14.1-1.amzn2.aarch64_1.ko",
			"driver/2.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/2.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-3-generic_3.ko",
		}},
		{"a version outside the window is not built", Options{Only: only, AllKernels: map[string]bool{"0.9.0+driver": true}}, []string{
			"driver/2.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.o",
		}},
		{"unless --driver-version selects it", Options{Only: only, AllKernels: map[string]bool{"0.9.0+driver": true}, Filter: Filter{DriverVersion: Pattern{"0.9.0+driver", "2.0.0+driver"}}}, []string{
			"driver/0.9.0+driver/aarch64/falco_amazonlinux2_4.14.1-1.amzn2.aarch64_1.ko",
			"driver/2.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/0.9.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/0.9.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.o",
			"driver/0.9.0+driver/x86_64/falco_ubuntu-generic_5.15.0-3-generic_3.ko",
			"driver/0.9.0+driver/x86_64/falco_ubuntu-generic_5.15.0-3-generic_3.o",
		}},
		{"kernel filters still apply", Options{Only: only, AllKernels: map[string]bool{"1.0.0+driver": true}, Filter: Filter{Arch: Pattern{"x86_64"}}}, []string{
			"driver/2.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.o",
			"driver/1.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-3-generic_3.ko",
			"driver/1.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-3-generic_3.o",
		}},
		{"without Only, AllKernels adds nothing", Options{AllKernels: map[string]bool{"1.0.0+driver": true}, Filter: Filter{Target: Pattern{"debian"}}}, []string{
			"driver/2.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.ko",
			"driver/1.0.0+driver/x86_64/falco_debian_6.1.2-1-amd64_1.o",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Plan(kernels, dv, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := planKeys(plan); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// Shards of an Only+AllKernels plan deal the selected kernels round-robin:
// kernel n (0-based, among those with builds) goes to shard n mod N + 1.
func TestShardsWithAllKernels(t *testing.T) {
	kernels, dv := threeKernels(), twoVersions(t)
	opts := Options{
		Only:       map[string]bool{"k/x86_64/debian_6.1.2-1-amd64_1.yaml": true},
		AllKernels: map[string]bool{"1.0.0+driver": true},
	}
	want := map[int][]string{ // shard of 2 -> configs
		1: {"k/aarch64/amazonlinux2_4.14.1-1.amzn2.aarch64_1.yaml", "k/x86_64/ubuntu-generic_5.15.0-3-generic_3.yaml"},
		2: {"k/x86_64/debian_6.1.2-1-amd64_1.yaml"},
	}
	total := 0
	for i := 1; i <= 2; i++ {
		opts.Shard = Shard{i, 2}
		part, err := Plan(kernels, dv, opts)
		if err != nil {
			t.Fatal(err)
		}
		total += len(part)
		var got []string
		for _, e := range part {
			if len(got) == 0 || got[len(got)-1] != e.Config {
				got = append(got, e.Config)
			}
		}
		if strings.Join(got, " ") != strings.Join(want[i], " ") {
			t.Errorf("shard %d/2: %v, want %v", i, got, want[i])
		}
	}
	if total != 6 {
		t.Errorf("shards hold %d entries, the plan 6", total)
	}
}

// What the plan cannot build comes back apart from the plan, from the same
// selection and shard: the probe of a kernel too old for it, and not the
// module of an Oracle UEK kernel (nobody asks for one).
func TestNotBuildableOf(t *testing.T) {
	old := &config.Kernel{Path: "x86_64/centos_a.yaml", KernelRelease: "3.10.0-1160.el7.x86_64", KernelVersion: "1", Target: "centos", Architecture: config.AMD64}
	uek := &config.Kernel{Path: "x86_64/ol_b.yaml", KernelRelease: "5.15.0-200.131.27.el9uek.x86_64", KernelVersion: "1", Target: "ol", Architecture: config.AMD64}
	old2 := &config.Kernel{Path: "x86_64/centos_c.yaml", KernelRelease: "3.10.0-1127.el7.x86_64", KernelVersion: "1", Target: "centos", Architecture: config.AMD64}
	dv := &config.DriverVersions{Window: 2, Versions: []config.DriverVersion{
		{Version: "9.1.0+driver", Kinds: []config.Kind{config.Module, config.Probe}},
		{Version: "10.0.0+driver", Kinds: []config.Kind{config.Module}},
	}}
	kernels := []*config.Kernel{old, uek, old2}
	plan, err := Plan(kernels, dv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	nb, err := NotBuildableOf(kernels, dv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range nb {
		if r.Status != NotBuildable || !strings.Contains(r.Reason, "too old") {
			t.Errorf("%s: %s %q", r.Key, r.Status, r.Reason)
		}
		keys = append(keys, r.Key)
	}
	want := []string{
		"driver/9.1.0+driver/x86_64/falco_centos_3.10.0-1160.el7.x86_64_1.o",
		"driver/9.1.0+driver/x86_64/falco_centos_3.10.0-1127.el7.x86_64_1.o",
	}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("not buildable %v, want %v", keys, want)
	}
	for _, e := range plan {
		if e.Kind == config.Probe && e.Kernel != uek {
			t.Errorf("the plan has a probe for a kernel too old for it: %s", e.Key)
		}
	}
	shard, err := NotBuildableOf(kernels, dv, Options{Shard: Shard{Index: 2, Count: 2}})
	if err != nil || len(shard) != 0 {
		t.Errorf("shard 2/2 (the UEK kernel) has %v %v", shard, err)
	}
}
