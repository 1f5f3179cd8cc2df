package publisher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/falcosecurity/dbg/config"
)

var _ StatusStore = (*Dir)(nil)

// PutStatus writes a status file into the prefix's folder, atomically.
func (d *Dir) PutStatus(_ context.Context, p Prefix, name string, data []byte) error {
	if err := checkStatusName(name); err != nil {
		return err
	}
	return config.WriteFile(d.path(p.Key(name)), data)
}

// GetStatus reads a status file of the prefix; missing is (nil, nil).
func (d *Dir) GetStatus(_ context.Context, p Prefix, name string) ([]byte, error) {
	if err := checkStatusName(name); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(d.path(p.Key(name)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// StatusFiles lists the prefix's status files.
func (d *Dir) StatusFiles(_ context.Context, p Prefix) ([]string, error) {
	entries, err := os.ReadDir(d.path(p.Key("")))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", d, p, err)
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() && checkStatusName(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// DeleteStatus removes a status file of the prefix.
func (d *Dir) DeleteStatus(_ context.Context, p Prefix, name string) error {
	if err := checkStatusName(name); err != nil {
		return err
	}
	if err := os.Remove(d.path(p.Key(name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", p.Key(name), err)
	}
	return nil
}

// checkStatusName refuses names that are not status files: a StatusStore
// never touches artifacts or other files.
func checkStatusName(name string) error {
	if name != StatusFile && !IsPartName(name) {
		return fmt.Errorf("%q is not a status file name", name)
	}
	return nil
}
