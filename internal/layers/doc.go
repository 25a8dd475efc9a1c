// Package layers keeps the imports of pscm one way, as docs/design.md draws
// them: its test reads the design's package map and fails when a package is
// missing from it, when a listed package does not exist, or when any file
// (tests included) imports a package of this module outside its row. It also
// enforces the two rules no row can waive: internal/ never imports a
// program's package, and no program imports another program's.
package layers
