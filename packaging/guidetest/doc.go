// Package guidetest runs the Vietnamese installation guide (HUONG-DAN-CAI-DAT.md) as
// a technician would: every command block in it, as written, in order, on a sandbox
// that looks like a fresh Debian server and counter PC (the packages built from this
// tree, the real maintainer scripts, /etc, /usr and /var overlaid in a private mount
// namespace, loopback in a private network namespace). A command the sandbox cannot
// run (Windows, systemd, an editor, a PostgreSQL server) is marked in the guide's
// source with an HTML comment, invisible to readers:
//
//	<!-- guidetest: skip WHY: "COMMAND PREFIX" "COMMAND PREFIX" -->
//	<!-- guidetest: skip WHY: * -->
//
// and the test holds the list of those commands to an explicit one. It has no code of
// its own besides this comment.
package guidetest
