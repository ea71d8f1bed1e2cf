package api

import "time"

// SetImportBatchBytes changes the bytes at which an import's batch is cut,
// for a test.
func SetImportBatchBytes(n int) (restore func()) {
	old := importBatchBytes
	importBatchBytes = n
	return func() { importBatchBytes = old }
}

// SetImportIdle shortens how long an import may be silent, for a test.
func SetImportIdle(d time.Duration) (restore func()) {
	old := importIdle
	importIdle = d
	return func() { importIdle = old }
}
