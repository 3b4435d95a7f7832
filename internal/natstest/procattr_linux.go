package natstest

import "syscall"

// sysProcAttr kills the server with the test process, so a test binary
// that dies never leaves one behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
