//go:build unix && !linux

package testenv

import "syscall"

// sysProcAttr puts the server in its own process group, so a Ctrl-C aimed at
// `go test` does not reach it before the harness has stopped it in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
