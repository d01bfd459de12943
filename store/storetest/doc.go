// Package storetest is the conformance suite every store.Store must pass.
package storetest
