// Package publisher puts built drivers where consumers find them: a local
// folder, the S3 bucket behind download.falco.org, GitHub Releases. Each
// place is a Target; Publish decides, from what a target already holds, what
// to upload, skip or refuse; Index rewrites a target's digests from what it
// actually holds.
package publisher
