package transcript

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// This file finds the transcript files under the roots and names the
// session and project each belongs to, as ccusage does.

// txFile is a transcript file.
type txFile struct {
	root    int
	rel     string // path inside the root's FS
	full    string // the root's path joined with rel: ccusage's order
	session int32  // index in txRun.sessions
}

// txSession is a session: a project directory and a session id.
type txSession struct {
	id, project string
}

// list finds the transcript files, in ccusage's order: by full path, byte
// by byte.
func (run *txRun) list() error {
	sessions := make(map[txSession]int32)
	for ri := range run.roots {
		r := &run.roots[ri]
		if r.FS == nil {
			r.FS = os.DirFS(r.Path)
		}
		err := fs.WalkDir(r.FS, "projects", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == "projects" {
					return err
				}
				return nil // ccusage skips what it cannot list
			}
			name := d.Name()
			if d.IsDir() || !strings.HasSuffix(name, ".jsonl") || len(name) == len(".jsonl") {
				return nil
			}
			if !d.Type().IsRegular() {
				fi, err := fs.Stat(r.FS, p)
				if err != nil || !fi.Mode().IsRegular() {
					return nil
				}
			}
			id, project := txSessionOf(strings.Split(strings.TrimPrefix(p, "projects/"), "/"))
			k := txSession{id, project}
			si, ok := sessions[k]
			if !ok {
				si = int32(len(run.sessions))
				sessions[k] = si
				run.sessions = append(run.sessions, k)
			}
			run.files = append(run.files, txFile{root: ri, rel: p, full: strings.TrimSuffix(r.Path, "/") + "/" + p, session: si})
			return nil
		})
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("claude: read transcripts in %s: %w", r.Path, err)
		}
	}
	slices.SortStableFunc(run.files, func(a, b txFile) int { return strings.Compare(a.full, b.full) })
	return nil
}

// txSessionOf names a transcript's session and project from its path under
// projects/, as ccusage does (its extract_session_parts): <project>/<id>.jsonl
// is session id; a subagent's <project>/<id>/subagents/<agent>.jsonl belongs
// to session id; any other file is named by its directory.
func txSessionOf(rel []string) (id, project string) {
	n := len(rel)
	if n == 2 && len(rel[1]) > len(".jsonl") {
		return strings.TrimSuffix(rel[1], ".jsonl"), rel[0]
	}
	if n >= 4 && rel[n-2] == "subagents" {
		if project = strings.Join(rel[:n-3], "/"); project == "" {
			project = "Unknown Project"
		}
		return rel[n-3], project
	}
	id = rel[max(n-2, 0)]
	if n > 2 {
		return id, strings.Join(rel[:n-2], "/")
	}
	return id, "Unknown Project"
}
