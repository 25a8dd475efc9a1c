//go:build unix

package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive lock on dir for this process: two writers on
// one spool would interleave records. The kernel drops the lock when the
// process dies, however it dies, so a crash never leaves the spool locked.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is open in another process or another Spool", ErrInUse, dir)
		}
		return nil, fmt.Errorf("spool: locking %s: %w", dir, err)
	}
	return f, nil
}

// unlockDir releases the lock; closing the file drops it.
func unlockDir(f *os.File) error {
	if err := f.Close(); err != nil {
		return fmt.Errorf("spool: releasing the directory lock: %w", err)
	}
	return nil
}

// writable reports whether this process may create files in dir: access(2)
// with W_OK|X_OK, which also says EROFS for a read-only file system.
func writable(dir string) error {
	const wOK, xOK = 2, 1
	if err := syscall.Access(dir, wOK|xOK); err != nil {
		return fmt.Errorf("not writable: %w", err)
	}
	return nil
}
