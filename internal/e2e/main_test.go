package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// build is the authpool command, built once for the package's tests.
var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// buildTimeout bounds `go build` (its packages are usually in the build
// cache by the time this test runs).
const buildTimeout = 5 * time.Minute

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// binary returns the path of the authpool command, built (with the race
// detector when this test has it) on the first call.
func binary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "authpool-e2e-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "authpool")
		args := []string{"build", "-o", build.bin}
		if raceBuild {
			args = append(args, "-race")
		}
		args = append(args, "github.com/authpool/authpool/cmd/authpool")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		goCmd, err := exec.LookPath("go")
		if err != nil {
			build.err = fmt.Errorf("the go command is needed to build authpool: %w", err)
			return
		}
		out, err := exec.CommandContext(ctx, goCmd, args...).CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go %v: %w\n%s", args, err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}
