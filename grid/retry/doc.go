// Package retry is dbg's one retry policy for every HTTP client it drives
// (the fetch cache, the GitHub target, the kernel-crawler download; the S3
// SDK takes its attempts and longest wait from it).
//
// What is retried: network errors and timeouts, 5xx, 408 and 429; anything
// else is final, and so are a cancelled context, a certificate the client
// refuses and a refusal of the download address policy (grid/netpolicy). How long between attempts: the server's Retry-After (delta-seconds
// or an HTTP date) when it sent one, else Base doubled per retry with equal
// jitter (uniform in [d/2, d]); either is capped at Cap.
//
// Policy.Do is the loop for operations that are more than one request (a
// file reopened per attempt, a download into a cache); Policy.Client is a
// plain *http.Client that retries by itself (hashicorp/go-retryablehttp).
// The package imports nothing of dbg but grid/netpolicy, a leaf.
package retry
