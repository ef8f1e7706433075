// Package installtest holds the tests of what the provincial IT team installs: the
// Windows binary under wine (with the ProcessPrng shim in packaging/windows), the NSIS
// installer and uninstaller under wine, and the Debian package with dpkg.
//
// It has no code of its own besides this comment; the tests build the agent the way
// the Makefile does and drive the real tools (wine, makensis, dpkg). A test whose tool
// is missing skips with a message naming the Debian package.
package installtest
