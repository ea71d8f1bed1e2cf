package logx

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestAttrsWritesTheRecordWithoutSource(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	Attrs(context.Background(), l, slog.LevelInfo, "user created", slog.String("user_id", "u1"), slog.Int("n", 2))
	got := buf.String()
	for _, want := range []string{"level=INFO", `msg="user created"`, "user_id=u1", "n=2", "time="} {
		if !strings.Contains(got, want) {
			t.Errorf("log line %q lacks %q", got, want)
		}
	}
}

func TestAttrsKeepsTheLoggersAttrsAndLevel(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})).With("component", "api")
	Attrs(context.Background(), l, slog.LevelInfo, "below the level")
	if buf.Len() != 0 {
		t.Fatalf("a record below the handler's level was written: %q", buf.String())
	}
	Attrs(context.Background(), l, slog.LevelError, "failed")
	if got := buf.String(); !strings.Contains(got, "component=api") || !strings.Contains(got, "level=ERROR") {
		t.Fatalf("log line %q lacks the logger's attrs or the level", got)
	}
}

// BenchmarkAttrs against slog's own LogAttrs: the difference is the
// caller lookup.
func BenchmarkAttrs(b *testing.B) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	ctx := context.Background()
	attrs := []slog.Attr{slog.String("method", "POST"), slog.String("route", "POST /v1/users"), slog.Int("status", 201)}
	b.Run("logx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			Attrs(ctx, l, slog.LevelInfo, "request", attrs...)
		}
	})
	b.Run("slog", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			l.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
		}
	})
}
