package api

import "time"

// SetImportIdle shortens how long an import may be silent, for a test.
func SetImportIdle(d time.Duration) (restore func()) {
	old := importIdle
	importIdle = d
	return func() { importIdle = old }
}
