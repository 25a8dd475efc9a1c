// Command secretscan is the last step of `make test`: it reads the secrets
// the tests registered (testenv.Secret, one per line) and looks for each of
// them in every log the suite kept (testenv.Keep and every server's and
// program's log) and in the files given as arguments (the go test output).
// A hit fails the suite with the file, the line number and the line with the
// secret masked; the secret itself is never printed.
//
//	secretscan -secrets FILE -logs DIR [FILE...]
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pscm/pscm/internal/textclip"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "secretscan:", err)
		os.Exit(1)
	}
}

// minLen matches testenv.MinSecretLen: shorter lines in the secrets file
// are refused rather than matched by chance.
const minLen = 10

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("secretscan", flag.ContinueOnError)
	secretsPath := fs.String("secrets", "", "file of registered secrets, one per line")
	logsDir := fs.String("logs", "", "directory of kept logs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secrets, err := readSecrets(*secretsPath)
	if err != nil {
		return err
	}
	files := fs.Args()
	if *logsDir != "" {
		err := filepath.WalkDir(*logsDir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	sort.Strings(files)
	var hits int
	var lines int64
	for _, f := range files {
		n, h, err := scan(f, secrets, out)
		if err != nil {
			return err
		}
		lines += n
		hits += h
	}
	if hits > 0 {
		return fmt.Errorf("%d log lines show a secret the tests used", hits)
	}
	fmt.Fprintf(out, "secretscan: %d secrets, %d files, %d lines: no secret in any log\n", len(secrets), len(files), lines)
	return nil
}

func readSecrets(path string) ([][]byte, error) {
	if path == "" {
		return nil, errors.New("-secrets: required")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out [][]byte
	for i, l := range strings.Split(string(b), "\n") {
		if l == "" || seen[l] {
			continue
		}
		if len(l) < minLen {
			return nil, fmt.Errorf("%s:%d: a secret shorter than %d characters", path, i+1, minLen)
		}
		seen[l] = true
		out = append(out, []byte(l))
	}
	if len(out) == 0 {
		// The tests that use secrets did not run: the check would pass
		// without checking anything.
		return nil, fmt.Errorf("%s: no secrets registered", path)
	}
	return out, nil
}

// scan reports the lines of file holding a secret, masked.
func scan(file string, secrets [][]byte, out io.Writer) (lines int64, hits int, err error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		lines++
		line := sc.Bytes()
		masked, found := line, false
		for _, s := range secrets {
			if bytes.Contains(masked, s) {
				masked = bytes.ReplaceAll(masked, s, []byte("***"))
				found = true
			}
		}
		if found {
			hits++
			fmt.Fprintf(out, "%s:%d: a secret in the log: %s\n", file, lines, textclip.Clip(string(masked), 300))
		}
	}
	return lines, hits, sc.Err()
}
