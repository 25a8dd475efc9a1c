package layers

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/pscm/pscm"

// programs are the top-level folders that each hold one program.
var programs = map[string]bool{"agent": true, "collector": true, "dashboard": true, "ctl": true, "sim": true}

// root is the repository's top folder, two levels above this package.
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", r, err)
	}
	return r
}

// row is one line of the package map.
type row struct {
	allowed []string // package paths or "prefix/*"
	line    int
}

// readMap parses the "## Package map" table of docs/design.md.
func readMap(t *testing.T, file string) map[string]row {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]row{}
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = line == "## Package map"
			continue
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Fatalf("%s:%d: want 3 cells (package, owns, may import): %q", file, n, line)
		}
		pkg := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if _, dup := rows[pkg]; dup {
			t.Fatalf("%s:%d: %s listed twice", file, n, pkg)
		}
		r := row{line: n}
		if may := strings.TrimSpace(cells[2]); may != "—" {
			for _, a := range strings.Split(may, ",") {
				r.allowed = append(r.allowed, strings.Trim(strings.TrimSpace(a), "`"))
			}
		}
		rows[pkg] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no package map found", file)
	}
	return rows
}

// packages maps each folder holding Go files (relative, slash-separated) to
// the module's packages its files import, with one importing file each.
func packages(t *testing.T, r string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// Not packages of this module: hidden folders (.git, .tools),
			// testdata, build and demo output.
			if p != r && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin" || name == "artifacts" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		rel, err := filepath.Rel(r, filepath.Dir(p))
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		if out[dir] == nil {
			out[dir] = map[string]string{}
		}
		for _, is := range f.Imports {
			ip, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return err
			}
			if ip == module || strings.HasPrefix(ip, module+"/") {
				out[dir][strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")] = filepath.ToSlash(filepath.Join(dir, name))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// top is the first segment of a package path.
func top(p string) string { s, _, _ := strings.Cut(p, "/"); return s }

// layerViolation says why package from may not import imp whatever the map
// says, or "" when the layers allow it.
func layerViolation(from, imp string) string {
	switch {
	case top(from) == "internal" && programs[top(imp)]:
		return "internal/ never imports a program's package"
	case programs[top(from)] && programs[top(imp)] && top(from) != top(imp):
		return "one program never imports another's package (run its binary with testenv.BuildProgram)"
	case top(imp) != "internal" && !programs[top(imp)]:
		return "neither internal/ nor a program's package"
	}
	return ""
}

// allows reports whether an allowed entry admits the import ip.
func allows(entry, ip string) bool {
	if prefix, ok := strings.CutSuffix(entry, "/*"); ok {
		return ip == prefix || strings.HasPrefix(ip, prefix+"/")
	}
	return entry == ip
}

func TestImportsFollowTheMap(t *testing.T) {
	r := root(t)
	rows := readMap(t, filepath.Join(r, "docs", "design.md"))
	pkgs := packages(t, r)

	var names []string
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		if p == "." {
			continue // no Go files at the top
		}
		if _, ok := rows[p]; !ok {
			t.Errorf("docs/design.md's package map has no row for %s: add one (what it owns, what it may import)", p)
		}
	}
	for p, rw := range rows {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("docs/design.md:%d lists %s, which is not a package of this tree", rw.line, p)
		}
	}

	for _, p := range names {
		imports := pkgs[p]
		var ips []string
		for ip := range imports {
			ips = append(ips, ip)
		}
		sort.Strings(ips)
		for _, ip := range ips {
			file := imports[ip]
			if ip == p {
				continue // an external test package importing its own package
			}
			if why := layerViolation(p, ip); why != "" {
				t.Errorf("%s imports %s: %s", file, ip, why)
				continue
			}
			rw, ok := rows[p]
			if !ok {
				continue // reported above
			}
			ok = false
			for _, a := range rw.allowed {
				if allows(a, ip) {
					ok = true
					break
				}
			}
			if !ok {
				t.Errorf("%s imports %s, outside its row in docs/design.md:%d (may import %s)", file, ip, rw.line, strings.Join(rw.allowed, ", "))
			}
		}
	}
}

// TestCheckerCatches proves the rules can fail: the imports this issue
// found must be refused, and legal ones admitted.
func TestCheckerCatches(t *testing.T) {
	for _, c := range []struct{ from, imp string }{
		{"internal/report", "dashboard/board"},
		{"ctl/config", "collector/store"},
		{"sim/rtspsim", "agent/camera/scene"},
		{"agent", "configs"},
	} {
		if layerViolation(c.from, c.imp) == "" {
			t.Errorf("%s -> %s was not caught", c.from, c.imp)
		}
	}
	for _, c := range []struct{ from, imp string }{
		{"ctl", "internal/kpi"},
		{"agent", "agent/spool"},
		{"internal/report", "internal/kpi"},
	} {
		if why := layerViolation(c.from, c.imp); why != "" {
			t.Errorf("%s -> %s refused: %s", c.from, c.imp, why)
		}
	}
	if !allows("internal/*", "internal/kpi") || allows("internal/*", "internalx/kpi") || allows("internal/kpi", "internal/kpidb") {
		t.Error("allows: wrong prefix matching")
	}
}
