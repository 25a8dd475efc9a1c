//go:build linux

package testenv

import "syscall"

// sysProcAttr puts the server in its own process group, so a Ctrl-C aimed at
// `go test` does not reach it before the harness has stopped it in order,
// and asks the kernel to kill it if the test binary dies without cleaning up
// (a `go test -timeout` panic runs no t.Cleanup), so no orphaned broker or
// database is left holding a port on a shared machine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
