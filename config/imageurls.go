package config

import "fmt"

// MaxKernelImageURLs is the most kernel image URLs a kernel config may list.
const MaxKernelImageURLs = 4

// validateImageURLs checks kernelimageurls (optional): at most
// MaxKernelImageURLs, each allowed as a header URL is (checkURL: the
// allowlisted characters, the host policy), none twice. The boot check
// downloads them through the same fetcher and address policy as the
// headers.
func (k *Kernel) validateImageURLs(add func(field, msg string), o LoadOptions) {
	const field = "kernelimageurls"
	if k.reported[field] || len(k.KernelImageURLs) == 0 {
		return
	}
	if len(k.KernelImageURLs) > MaxKernelImageURLs {
		add(field, fmt.Sprintf("lists %d kernel image URLs, more than the %d allowed", len(k.KernelImageURLs), MaxKernelImageURLs))
		return
	}
	seen := map[string]bool{}
	for i, u := range k.KernelImageURLs {
		if msg := o.checkURL(u); msg != "" {
			add(itemField(field, i), msg)
		} else if seen[u] {
			add(itemField(field, i), fmt.Sprintf("%q is listed twice", u))
		}
		seen[u] = true
	}
}
