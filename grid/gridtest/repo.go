package gridtest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// module is the module path that identifies dbg's repository root.
const module = "github.com/falcosecurity/dbg"

// RepoRoot walks up from the working directory to dbg's go.mod and returns
// its folder: the lab's scripts live there.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if isRepoRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod of " + module + " above the working directory")
		}
		dir = parent
	}
}

// isRepoRoot tells whether dir holds the go.mod of dbg's module.
func isRepoRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) == 2 && fields[0] == "module" {
			return fields[1] == module
		}
	}
	return false
}

// CacheDir is dbg's cache folder: $DBG_CACHE_DIR, else $XDG_CACHE_HOME/dbg,
// else ~/.cache/dbg (the same folder deploy/builder/build-image.sh uses).
func CacheDir() (string, error) {
	if d := os.Getenv("DBG_CACHE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find cache folder: %w", err)
	}
	return filepath.Join(d, "dbg"), nil
}
