// Package logx writes log records on the hot paths (one per request, one
// per created user) without looking up the caller: slog.Logger calls
// runtime.Callers for every record it builds, about 1% of an
// invite-create's CPU, for a source location roster's handlers never print
// (none sets AddSource). Records written here have no source.
package logx

import (
	"context"
	"log/slog"
	"time"
)

// Attrs logs msg with attrs at level, as l.LogAttrs does, minus the caller.
func Attrs(ctx context.Context, l *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	if !l.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	// A handler's error has nowhere better to go; slog.Logger drops it too.
	_ = l.Handler().Handle(ctx, r)
}
