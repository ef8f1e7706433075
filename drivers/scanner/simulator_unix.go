//go:build !windows

package scanner

import "syscall"

const syscallNoCTTY = syscall.O_NOCTTY
