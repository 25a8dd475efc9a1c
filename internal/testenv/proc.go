package testenv

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// ProcCPUSeconds is a process's user+system CPU time from /proc/pid/stat,
// for benchmarks that report what a server or a program under test used.
func ProcCPUSeconds(t testing.TB, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start after ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	var ut, st float64
	if _, err := fmt.Sscan(f[11], &ut); err != nil {
		t.Fatalf("utime in /proc/%d/stat: %v", pid, err)
	}
	if _, err := fmt.Sscan(f[12], &st); err != nil {
		t.Fatalf("stime in /proc/%d/stat: %v", pid, err)
	}
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// ProcStatusKB reads a "Key: N kB" line of /proc/pid/status, e.g. "VmRSS:"
// or "VmHWM:" (peak RSS).
func ProcStatusKB(t testing.TB, pid int, key string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSpace(v), &kb); err != nil {
				t.Fatalf("%s in /proc/%d/status: %v", key, pid, err)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}
