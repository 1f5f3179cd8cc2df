package grid

import "sort"

// Count is a number of plan entries for one value of one dimension.
type Count struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Stats counts plan entries along each dimension.
type Stats struct {
	Total         int     `json:"total"`
	Kernels       int     `json:"kernels"`
	DriverVersion []Count `json:"driver_version"`
	Arch          []Count `json:"arch"`
	Target        []Count `json:"target"`
	Kind          []Count `json:"kind"`
}

// Summarize counts entries by driver version, arch, target and kind.
func Summarize(plan []Entry) Stats {
	dims := map[string]map[string]int{"dv": {}, "arch": {}, "target": {}, "kind": {}}
	kernels := map[string]bool{}
	for _, e := range plan {
		dims["dv"][e.DriverVersion]++
		dims["arch"][e.Arch]++
		dims["target"][e.Target]++
		dims["kind"][string(e.Kind)]++
		kernels[e.Config] = true
	}
	return Stats{
		Total:         len(plan),
		Kernels:       len(kernels),
		DriverVersion: counts(dims["dv"]),
		Arch:          counts(dims["arch"]),
		Target:        counts(dims["target"]),
		Kind:          counts(dims["kind"]),
	}
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for v, n := range m {
		out = append(out, Count{v, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}
