// Package vistyle holds the test that keeps one Vietnamese style across the tree:
// every page, script, ticket and voice text, config example and guide spelled the
// way shared/domain/VIETNAMESE.md says. It has no code of its own.
package vistyle
