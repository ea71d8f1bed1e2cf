package sqlite

import "time"

// SetCheckpointing changes how often checkpoints run, how large the WAL may
// grow before it is reset and how long a reset waits for readers, for one
// test; the returned func restores them.
func SetCheckpointing(every time.Duration, restartFrames, waitMillis int) (restore func()) {
	oldEvery, oldFrames, oldWait := checkpointEvery, walRestartFrames, restartWaitMillis
	checkpointEvery, walRestartFrames, restartWaitMillis = every, restartFrames, waitMillis
	return func() { checkpointEvery, walRestartFrames, restartWaitMillis = oldEvery, oldFrames, oldWait }
}
