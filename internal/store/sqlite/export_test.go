package sqlite

import "time"

// SetCheckpointing changes how often checkpoints run and how large the WAL
// may grow before it is reset, for one test; the returned func restores them.
func SetCheckpointing(every time.Duration, restartFrames int) (restore func()) {
	oldEvery, oldFrames := checkpointEvery, walRestartFrames
	checkpointEvery, walRestartFrames = every, restartFrames
	return func() { checkpointEvery, walRestartFrames = oldEvery, oldFrames }
}
