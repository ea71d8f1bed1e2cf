package testsupport

import (
	"fmt"
	"testing"
)

// outcome records how a test helper ended a test, without ending ours.
type outcome struct {
	testing.TB
	failed, skipped string
}

type stopped struct{}

func (o *outcome) Helper() {}
func (o *outcome) Fatal(args ...any) {
	o.failed = fmt.Sprint(args...)
	panic(stopped{})
}
func (o *outcome) Skip(args ...any) {
	o.skipped = fmt.Sprint(args...)
	panic(stopped{})
}

func (o *outcome) run(f func(testing.TB)) {
	defer func() {
		if v := recover(); v != nil && v != (stopped{}) {
			panic(v)
		}
	}()
	f(o)
}

// Without a browser, a browser test is skipped, but fails under CI=true.
func TestMissingBrowser(t *testing.T) {
	for _, c := range []struct {
		ci          string
		fail, skips bool
	}{{"true", true, false}, {"", false, true}, {"false", false, true}} {
		t.Setenv("CI", c.ci)
		o := &outcome{TB: t}
		o.run(func(tb testing.TB) { requireBrowser(tb, "") })
		if (o.failed != "") != c.fail || (o.skipped != "") != c.skips {
			t.Errorf("CI=%q: failed %q, skipped %q", c.ci, o.failed, o.skipped)
		}
	}
	o := &outcome{TB: t}
	o.run(func(tb testing.TB) { requireBrowser(tb, "/usr/bin/chromium") })
	if o.failed != "" || o.skipped != "" {
		t.Errorf("with a browser: failed %q, skipped %q", o.failed, o.skipped)
	}
}
