//go:build tools

// Package tools pins the Atlas CLI this project builds from the Go module proxy.
package tools

import _ "ariga.io/atlas/cmd/atlas"
