package testsupport

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// BrowserTimeout bounds everything one test does in the browser.
const BrowserTimeout = 2 * time.Minute

// Browser is a headless Chromium for one test, driven through chromedp,
// that keeps a screenshot of each step as a test artifact.
type Browser struct {
	t   testing.TB
	ctx context.Context
	// Artifacts is the directory of this test's screenshots.
	Artifacts string
	step      int
}

// ChromiumPath finds Debian's Chromium (apt-get install chromium), or
// another one named by ROSTER_CHROMIUM; empty when there is none.
func ChromiumPath() string {
	for _, p := range []string{os.Getenv("ROSTER_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// StartBrowser starts a headless Chromium until the test ends. Without one
// the test is skipped, except under CI=true, where it fails: CI must never
// pass by skipping the browser tests. .ci/run installs Chromium.
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	path := ChromiumPath()
	requireBrowser(t, path)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 768),
		// The machine's network is closed: nothing but the server under
		// test may be reached, so every background connection is off.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	// The first run starts the browser; it must not carry the timeout,
	// which would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	tctx, cancelTimeout := context.WithTimeout(ctx, BrowserTimeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	b := &Browser{t: t, ctx: tctx, Artifacts: ArtifactsDir(t)}
	t.Logf("browser screenshots go to %s", b.Artifacts)
	return b
}

// requireBrowser skips the test without a browser, or fails it under CI.
func requireBrowser(t testing.TB, path string) {
	t.Helper()
	if path != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not installed (CI=true: failing, not skipping); apt-get install -y chromium, or run .ci/run")
	}
	t.Skip("Chromium is not installed: apt-get install -y chromium (or run .ci/run), or set ROSTER_CHROMIUM")
}

// Context is the browser's context, for chromedp actions.
func (b *Browser) Context() context.Context { return b.ctx }

// Do runs actions and fails the test on an error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// Open navigates to url and returns the HTTP status of the page.
func (b *Browser) Open(url string) int {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(url))
	if err != nil {
		b.t.Fatalf("browser: open %s: %v", redactToken(url), err)
	}
	return int(res.Status)
}

// Submit clicks the element (a submit button), waits for the page that
// answers, and returns its HTTP status (after redirects).
func (b *Browser) Submit(sel string) int {
	b.t.Helper()
	res, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: submit %s: %v", sel, err)
	}
	return int(res.Status)
}

// Type replaces the value of an input by typing text into it.
func (b *Browser) Type(sel, text string) {
	b.t.Helper()
	b.Do(chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// Text returns the visible text of the first element matching sel.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

// HTML returns the whole document as the browser sees it.
func (b *Browser) HTML() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		b.t.Fatalf("browser: document: %v", err)
	}
	return s
}

// Location is the URL of the page shown.
func (b *Browser) Location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("browser: location: %v", err)
	}
	return s
}

// DisableJavaScript turns off the pages' scripts in this tab, to prove
// that they work without (chromedp still drives the browser).
func (b *Browser) DisableJavaScript() {
	b.t.Helper()
	b.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
}

// Cookies are the browser's cookies for the page shown.
func (b *Browser) Cookies() []*network.Cookie {
	b.t.Helper()
	cookies, err := chromedp.Run(b.ctx, func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
		return res.Cookies, err
	})
	if err != nil {
		b.t.Fatalf("browser: cookies: %v", err)
	}
	return cookies
}

// Cookie returns the browser's cookie with this name for the page shown,
// or nil.
func (b *Browser) Cookie(name string) *network.Cookie {
	b.t.Helper()
	for _, c := range b.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// DeleteCookie removes the browser's cookie with this name for url.
func (b *Browser) DeleteCookie(name, url string) {
	b.t.Helper()
	b.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: url})
		return err
	}))
}

// Screenshot saves a full-page PNG of what the browser shows, numbered by
// step, in the test's artifacts directory.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	b.step++
	path := filepath.Join(b.Artifacts, fmt.Sprintf("%02d-%s.png", b.step, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("save screenshot: %v", err)
	}
	return path
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// ArtifactsDir makes (empty) and returns the directory of the test's
// artifacts: $ROSTER_TEST_ARTIFACTS/<test>/<backend>, or, without the
// variable, testdata/artifacts/<test>/<backend> in the package under test
// (git-ignored). The backend keeps the SQLite and PostgreSQL runs apart.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ROSTER_TEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join("testdata", "artifacts")
	}
	backend := os.Getenv(backendEnv)
	if backend == "" {
		backend = "sqlite"
	}
	var parts []string
	for _, p := range strings.Split(t.Name(), "/") {
		parts = append(parts, unsafeName.ReplaceAllString(p, "_"))
	}
	dir := filepath.Join(append(append([]string{base}, parts...), backend)...)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// redactToken keeps secrets of links out of test logs.
func redactToken(url string) string {
	for _, p := range []string{"/invite/", "/reset/"} {
		if i := strings.Index(url, p); i >= 0 {
			return url[:i+len(p)] + "…"
		}
	}
	return url
}
