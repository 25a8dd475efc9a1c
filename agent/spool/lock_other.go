//go:build !unix

package spool

import "os"

// lockDir does nothing where flock(2) does not exist; the agent runs on
// Linux, this only keeps the package building elsewhere.
func lockDir(string) (*os.File, error) { return nil, nil }

func unlockDir(*os.File) error { return nil }

func writable(string) error { return nil }
